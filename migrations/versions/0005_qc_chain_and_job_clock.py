"""qc chain and job clock

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The job clock's current state and the standard time live on the item itself.
    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standard_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('clock_started_at', models.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clock_seconds', sa.Integer(), nullable=True))

    op.create_table('job_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('started_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stop_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['order_item.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['work_order.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_clock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_clock_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_clock_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_clock_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_clock_stopped_at'), ['stopped_at'], unique=False)

    op.create_table('item_self_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('tested', sa.Boolean(), nullable=False),
    sa.Column('cleaned', sa.Boolean(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['order_item.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['work_order.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id')
    )
    with op.batch_alter_table('item_self_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_self_check_order_id'), ['order_id'], unique=False)

    op.create_table('qc_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('rework_item_id', sa.Integer(), nullable=True),
    sa.Column('rework_technician_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['work_order.id'], ),
    sa.ForeignKeyConstraint(['rework_item_id'], ['order_item.id'], ),
    sa.ForeignKeyConstraint(['rework_technician_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('qc_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_check_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qc_check_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qc_check_rework_item_id'), ['rework_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qc_check_rework_technician_id'), ['rework_technician_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qc_check_status'), ['status'], unique=False)

    op.create_table('order_handoff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('from_staff_id', sa.Integer(), nullable=False),
    sa.Column('to_staff_id', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('by_staff_id', sa.Integer(), nullable=True),
    sa.Column('at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['from_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['work_order.id'], ),
    sa.ForeignKeyConstraint(['to_staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('order_handoff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_handoff_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_handoff_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_handoff_to_staff_id'), ['to_staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('order_handoff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_handoff_to_staff_id'))
        batch_op.drop_index(batch_op.f('ix_order_handoff_order_id'))
        batch_op.drop_index(batch_op.f('ix_order_handoff_at'))

    op.drop_table('order_handoff')
    with op.batch_alter_table('qc_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_check_status'))
        batch_op.drop_index(batch_op.f('ix_qc_check_rework_technician_id'))
        batch_op.drop_index(batch_op.f('ix_qc_check_rework_item_id'))
        batch_op.drop_index(batch_op.f('ix_qc_check_order_id'))
        batch_op.drop_index(batch_op.f('ix_qc_check_decided_at'))

    op.drop_table('qc_check')
    with op.batch_alter_table('item_self_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_self_check_order_id'))

    op.drop_table('item_self_check')
    with op.batch_alter_table('job_clock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_clock_stopped_at'))
        batch_op.drop_index(batch_op.f('ix_job_clock_staff_id'))
        batch_op.drop_index(batch_op.f('ix_job_clock_order_id'))
        batch_op.drop_index(batch_op.f('ix_job_clock_item_id'))

    op.drop_table('job_clock')
    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.drop_column('clock_seconds')
        batch_op.drop_column('clock_started_at')
        batch_op.drop_column('standard_minutes')
