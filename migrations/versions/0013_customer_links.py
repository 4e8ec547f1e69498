"""customer links: the customer's own consent to extra items (issue 16)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'customer_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('form_key', sa.String(length=32), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('closed_at', models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('opened_at', models.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['staff.id']),
        sa.ForeignKeyConstraint(['order_id'], ['work_order.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index(op.f('ix_customer_link_order_id'), 'customer_link', ['order_id'])
    op.create_table(
        'customer_link_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('reason', sa.String(length=2000), nullable=False),
        sa.Column('parts_fen', sa.Integer(), nullable=True),
        sa.Column('labour_fen', sa.Integer(), nullable=True),
        sa.Column('photo_ids', sa.JSON(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('decline_reason', sa.String(length=16), nullable=True),
        sa.Column('signed_name', sa.String(length=60), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('user_agent', sa.String(length=300), nullable=True),
        sa.Column('decided_at', models.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['link_id'], ['customer_link.id']),
        sa.ForeignKeyConstraint(['request_id'], ['extra_item_request.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('link_id', 'request_id'),
    )
    op.create_index(op.f('ix_customer_link_item_link_id'), 'customer_link_item', ['link_id'])
    op.create_index(op.f('ix_customer_link_item_request_id'), 'customer_link_item',
                    ['request_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_customer_link_item_request_id'), table_name='customer_link_item')
    op.drop_index(op.f('ix_customer_link_item_link_id'), table_name='customer_link_item')
    op.drop_table('customer_link_item')
    op.drop_index(op.f('ix_customer_link_order_id'), table_name='customer_link')
    op.drop_table('customer_link')
