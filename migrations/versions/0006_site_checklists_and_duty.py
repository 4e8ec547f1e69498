"""site checklists and duty

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # N1–N7: the gate on the work order, the checklist, its ticks, the lifting watcher.
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checklist_done_at', models.db.UTCDateTime(timezone=True), nullable=True))
    # Work already under way when the rule arrives is not stopped halfway.
    op.execute("UPDATE work_order SET checklist_done_at = started_at "
               "WHERE status NOT IN ('open', 'locked') AND started_at IS NOT NULL")

    op.create_table('site_checklist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('job_types', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('types_chosen_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['completed_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['work_order.id'], ),
    sa.ForeignKeyConstraint(['technician_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('site_checklist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_checklist_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_checklist_technician_id'), ['technician_id'], unique=False)

    op.create_table('checklist_tick',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checklist_id', sa.Integer(), nullable=False),
    sa.Column('box', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ticked_by', sa.Integer(), nullable=False),
    sa.Column('ticked_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checklist_id'], ['site_checklist.id'], ),
    sa.ForeignKeyConstraint(['ticked_by'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checklist_id', 'box', name='uq_checklist_tick_box')
    )
    with op.batch_alter_table('checklist_tick', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_tick_checklist_id'), ['checklist_id'], unique=False)

    op.create_table('lift_watch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('watcher_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('requested_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('alerted_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['work_order.id'], ),
    sa.ForeignKeyConstraint(['technician_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['watcher_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lift_watch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lift_watch_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lift_watch_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lift_watch_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_lift_watch_watcher_id'), ['watcher_id'], unique=False)

    # W8–W10: duty areas and their reminders.
    op.create_table('duty_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['responsible_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('duty_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_area_responsible_id'), ['responsible_id'], unique=False)

    op.create_table('duty_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('due_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.Integer(), nullable=True),
    sa.Column('missed_notified_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['duty_area.id'], ),
    sa.ForeignKeyConstraint(['done_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('duty_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_reminder_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_reminder_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_reminder_sent_at'), ['sent_at'], unique=False)

    # W8: the equipment damage register.
    op.create_table('damage_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('misuse', sa.Boolean(), nullable=False),
    sa.Column('reported_by', sa.Integer(), nullable=False),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('amount_fen', sa.Integer(), nullable=True),
    sa.Column('payer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['payer_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['reported_by'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('damage_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_damage_report_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_damage_report_reported_by'), ['reported_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_damage_report_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('damage_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_damage_report_status'))
        batch_op.drop_index(batch_op.f('ix_damage_report_reported_by'))
        batch_op.drop_index(batch_op.f('ix_damage_report_created_at'))

    op.drop_table('damage_report')
    with op.batch_alter_table('duty_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_reminder_sent_at'))
        batch_op.drop_index(batch_op.f('ix_duty_reminder_day'))
        batch_op.drop_index(batch_op.f('ix_duty_reminder_area_id'))

    op.drop_table('duty_reminder')
    with op.batch_alter_table('duty_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_area_responsible_id'))

    op.drop_table('duty_area')
    with op.batch_alter_table('lift_watch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lift_watch_watcher_id'))
        batch_op.drop_index(batch_op.f('ix_lift_watch_status'))
        batch_op.drop_index(batch_op.f('ix_lift_watch_requested_at'))
        batch_op.drop_index(batch_op.f('ix_lift_watch_order_id'))

    op.drop_table('lift_watch')
    with op.batch_alter_table('checklist_tick', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_tick_checklist_id'))

    op.drop_table('checklist_tick')
    with op.batch_alter_table('site_checklist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_checklist_technician_id'))
        batch_op.drop_index(batch_op.f('ix_site_checklist_completed_at'))

    op.drop_table('site_checklist')
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_column('checklist_done_at')
