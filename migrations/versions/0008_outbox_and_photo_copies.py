"""outbox and photo copies

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 06:20:51
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Messages a platform refused for now (WeCom 45009/45033, Telegram RetryAfter, an outage),
    # sent later by a job; photos uploaded again on the other channel or after WeCom's media
    # id expired, and the photos' bytes.
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_before', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('failed_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_chat', ['channel', 'chat_id'], unique=False)
        batch_op.create_index('ix_outbox_due', ['failed_at', 'not_before'], unique=False)

    op.create_table('attachment_content',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('fetched_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachment_content', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_content_attachment_id'), ['attachment_id'], unique=False)

    op.create_table('attachment_copy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('file_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('stored_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachment_copy', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_copy_attachment', ['attachment_id', 'channel'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attachment_copy', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_copy_attachment')

    op.drop_table('attachment_copy')
    with op.batch_alter_table('attachment_content', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_content_attachment_id'))

    op.drop_table('attachment_content')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index('ix_outbox_chat')

    op.drop_table('outbox')
