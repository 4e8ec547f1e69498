"""The shop's records and rules: SQLModel tables and plain functions, no chat framework.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic and the
tests rely on that).
"""

from models import (  # noqa: F401  (imported for their tables)
    absence,
    attachment,
    audit,
    call_log,
    campaign,
    card,
    checklist,
    claims,
    complaint,
    conversation_store,
    customer,
    customer_link,
    duty,
    equipment,
    extra_item,
    fault_report,
    followup,
    job_clock,
    letter,
    lifting,
    order_note,
    outbox,
    parts,
    plate_check,
    plate_reading,
    qc,
    staff,
    training,
    visit_flow,
    wecom,
    work_order,
)
