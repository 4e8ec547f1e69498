"""The shop's records and rules: SQLModel tables and plain functions, no chat framework.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic and the
tests rely on that).
"""

from models import (  # noqa: F401  (imported for their tables)
    attachment,
    audit,
    card,
    conversation_store,
    extra_item,
    fault_report,
    order_note,
    plate_check,
    staff,
    work_order,
)
