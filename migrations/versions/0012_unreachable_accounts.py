"""unreachable chat accounts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Forbidden (the person blocked the bot, left WeCom's visible range): nothing is sent to
    # that account until they write again; the supervisors are told once.
    with op.batch_alter_table('chat_account') as batch:
        batch.add_column(sa.Column('unreachable_since', models.db.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chat_account') as batch:
        batch.drop_column('unreachable_since')
