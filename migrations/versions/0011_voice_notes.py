"""voice notes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A voice note given where a step takes text is kept like a photo: kind "voice", its length.
    with op.batch_alter_table('attachment') as batch:
        batch.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16),
                                   server_default='photo', nullable=False))
        batch.add_column(sa.Column('duration', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.drop_column('duration')
        batch.drop_column('kind')
