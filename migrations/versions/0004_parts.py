"""parts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:35:00

W6: parts requisitions (issued old-for-new) and compensation entries for old parts lost or
damaged on purpose. Two new tables; no existing table changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('part_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('part_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('part_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('old_part_expected', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stock_by', sa.Integer(), nullable=True),
    sa.Column('stock_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expected_on', sa.Date(), nullable=True),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.Column('issued_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('issued_channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('old_part', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('old_part_by', sa.Integer(), nullable=True),
    sa.Column('old_part_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('declined_by', sa.Integer(), nullable=True),
    sa.Column('declined_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('returned_by', sa.Integer(), nullable=True),
    sa.Column('returned_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['declined_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['issued_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['order_item.id'], ),
    sa.ForeignKeyConstraint(['old_part_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['work_order.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['returned_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['stock_by'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('part_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_part_request_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_part_request_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_part_request_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_part_request_old_part'), ['old_part'], unique=False)
        batch_op.create_index(batch_op.f('ix_part_request_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_part_request_requested_by'), ['requested_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_part_request_status'), ['status'], unique=False)

    op.create_table('part_compensation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('part', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('settlement', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['part_request.id'], ),
    sa.ForeignKeyConstraint(['technician_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('part_compensation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_part_compensation_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_part_compensation_technician_id'), ['technician_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('part_compensation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_part_compensation_technician_id'))
        batch_op.drop_index(batch_op.f('ix_part_compensation_created_at'))

    op.drop_table('part_compensation')
    with op.batch_alter_table('part_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_part_request_status'))
        batch_op.drop_index(batch_op.f('ix_part_request_requested_by'))
        batch_op.drop_index(batch_op.f('ix_part_request_order_id'))
        batch_op.drop_index(batch_op.f('ix_part_request_old_part'))
        batch_op.drop_index(batch_op.f('ix_part_request_item_id'))
        batch_op.drop_index(batch_op.f('ix_part_request_issued_at'))
        batch_op.drop_index(batch_op.f('ix_part_request_created_at'))

    op.drop_table('part_request')
