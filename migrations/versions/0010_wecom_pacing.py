"""wecom pacing and durable callbacks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # WeCom's per-member limits, counted by every worker and across restarts.
    op.create_table('wecom_send',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('userid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sent_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name='pk_wecom_send')
    )
    op.create_index('ix_wecom_send_member', 'wecom_send', ['userid', 'sent_at'], unique=False)
    op.create_index('ix_wecom_send_sent_at', 'wecom_send', ['sent_at'], unique=False)
    # A callback is recorded before WeCom gets its 200 and handled from the record; those
    # taken in before this revision were handled already.
    op.add_column('wecom_inbound', sa.Column('fields', sa.JSON(), nullable=True))
    op.add_column('wecom_inbound',
                  sa.Column('handled_at', models.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('wecom_inbound',
                  sa.Column('claimed_until', models.db.UTCDateTime(timezone=True),
                            nullable=True))
    op.execute("UPDATE wecom_inbound SET handled_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table('wecom_inbound') as batch:
        batch.drop_column('claimed_until')
        batch.drop_column('handled_at')
        batch.drop_column('fields')
    op.drop_index('ix_wecom_send_sent_at', table_name='wecom_send')
    op.drop_index('ix_wecom_send_member', table_name='wecom_send')
    op.drop_table('wecom_send')
