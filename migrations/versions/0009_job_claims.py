"""job claims

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Several workers on one database: a job claims a due row (with a lease) before it sends.
    op.create_table('job_claim',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('claimed_until', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'ref_id', name='pk_job_claim')
    )


def downgrade() -> None:
    op.drop_table('job_claim')
