"""fault reports proposed as extra items (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # W4 → W5: the extra item the advisor made of a fault report, who and when.
    with op.batch_alter_table('fault_report') as batch:
        batch.add_column(sa.Column('proposed_request_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('proposed_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('proposed_at', models.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.create_foreign_key('fk_fault_report_proposed_request_id_extra_item_request',
                                 'extra_item_request', ['proposed_request_id'], ['id'])
        batch.create_foreign_key('fk_fault_report_proposed_by_staff', 'staff',
                                 ['proposed_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('fault_report') as batch:
        batch.drop_constraint('fk_fault_report_proposed_by_staff', type_='foreignkey')
        batch.drop_constraint('fk_fault_report_proposed_request_id_extra_item_request',
                              type_='foreignkey')
        batch.drop_column('proposed_at')
        batch.drop_column('proposed_by')
        batch.drop_column('proposed_request_id')
