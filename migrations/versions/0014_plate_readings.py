"""plate readings: the plate photos read by OCR and what the technician did (issue 17)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'plate_reading',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('verdict', sa.String(length=16), nullable=False),
        sa.Column('read', sa.String(length=16), nullable=True),
        sa.Column('problem', sa.String(length=16), nullable=True),
        sa.Column('milliseconds', sa.Integer(), nullable=False),
        sa.Column('at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=True),
        sa.Column('final', sa.String(length=16), nullable=True),
        sa.Column('check_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['check_id'], ['plate_check.id']),
        sa.ForeignKeyConstraint(['order_id'], ['work_order.id']),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_plate_reading_order_id'), 'plate_reading', ['order_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_plate_reading_order_id'), table_name='plate_reading')
    op.drop_table('plate_reading')
