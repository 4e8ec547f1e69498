"""trainings and intake

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # W11: training and meeting notices, their invitees and the attendance register. The DMS
    # intake and the imports write existing tables (work_order, customer, vehicle).
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('organiser_id', sa.Integer(), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('roll_call_sent_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attendance_saved_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attendance_saved_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attendance_saved_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['organiser_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_organiser_id'), ['organiser_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_starts_at'), ['starts_at'], unique=False)

    op.create_table('notice_invitee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('answered_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notice_id', 'staff_id', name='uq_notice_invitee_notice_staff')
    )
    with op.batch_alter_table('notice_invitee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_invitee_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_invitee_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice_invitee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_invitee_staff_id'))
        batch_op.drop_index(batch_op.f('ix_notice_invitee_notice_id'))

    op.drop_table('notice_invitee')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_starts_at'))
        batch_op.drop_index(batch_op.f('ix_notice_organiser_id'))

    op.drop_table('notice')
