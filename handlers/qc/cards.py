"""What other people and the jobs see of the QC chain (W7): the cards and the facts they load."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.messenger import Rendered
from handlers.chat.ui import button, keyboard, local_time
from handlers.floor.cards import clock_note, item_line
from models.db import id_of
from models.qc import (
    QcCheck,
    QcStage,
    QcStatus,
    Taken,
    checks_of,
    rework_counts,
    taken,
)
from models.staff import Staff
from models.work_order import (
    OrderItem,
    WorkOrder,
    get_order,
    items_of,
)

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
QC_PREFIX = "qc"  # a QC check decided: qc:<check id>:pass|rework


def stage_title(_: Translator, stage: str) -> str:
    return _("Team leader check") if stage == QcStage.leader else _("Final inspection")


def qc_decision_name(_: Translator, decision: str) -> str:
    names: dict[str, str] = {QcStatus.passed: _("passed"),
                             QcStatus.rework: _("sent back for rework")}
    return names.get(decision, decision)


@dataclass(frozen=True)
class CheckFacts:
    """What a check's card shows, loaded once, rendered in each reader's language."""

    check: QcCheck
    order: WorkOrder
    items: list[OrderItem]
    technician: Staff | None
    decided: Taken | None
    leader_pass: Taken | None  # on the inspector's card: who passed it before
    reworks: int
    rework_item: OrderItem | None


async def check_facts(session: AsyncSession, check: QcCheck) -> CheckFacts:
    order = await get_order(session, check.order_id)
    items = await items_of(session, id_of(order))
    technician = await session.get(Staff, order.technician_id)
    decided = await taken(session, check) if check.status != QcStatus.pending else None
    leader_pass = None
    if check.stage == QcStage.inspector:
        passes = [c for c in await checks_of(session, id_of(order))
                  if c.stage == QcStage.leader and c.status == QcStatus.passed
                  and id_of(c) < id_of(check)]
        if passes:
            leader_pass = await taken(session, passes[-1])
    reworks = (await rework_counts(session, id_of(order))).total
    rework_item = (await session.get(OrderItem, check.rework_item_id)
                   if check.rework_item_id is not None else None)
    return CheckFacts(check, order, items, technician, decided, leader_pass, reworks,
                     rework_item)


def qc_card(_: Translator, facts: CheckFacts) -> Rendered:
    check, order = facts.check, facts.order
    lines = [
        _("🔍 {stage}: {number} · {plate}").format(stage=stage_title(_, check.stage),
                                                   number=order.number, plate=order.plate),
        _("Vehicle: {model}").format(model=order.vehicle_model),
        _("Technician: {name}").format(name=facts.technician.name if facts.technician else "—"),
        _("Self-checked at {at}").format(at=local_time(_, order.self_checked_at)),
    ]
    if facts.leader_pass is not None:
        lines.append(_("Passed by the team leader {name} at {at}").format(
            name=facts.leader_pass.name, at=_.time(facts.leader_pass.at)))
    lines += ["", _("Items:")]
    lines += [" ".join(filter(None, (item_line(_, item), clock_note(_, item))))
              for item in facts.items]
    if facts.reworks:
        lines.append(_.ngettext("🔁 Sent back for rework {count} time so far.",
                                "🔁 Sent back for rework {count} times so far.",
                                facts.reworks).format(count=facts.reworks))
    decided = facts.decided
    if decided is not None:
        lines.append("")
        if decided.status is QcStatus.passed:
            lines.append(_("✅ Passed by {name} at {at}.").format(name=decided.name,
                                                                  at=_.time(decided.at)))
        else:
            lines.append(_("🔁 Sent back for rework by {name} at {at}: “{item}” — {reason}")
                         .format(name=decided.name, at=_.time(decided.at),
                                 item=facts.rework_item.description if facts.rework_item
                                 else "?", reason=check.reason or ""))
        return "\n".join(lines), None
    return "\n".join(lines), keyboard([button(_("✅ Pass"), f"{QC_PREFIX}:{check.id}:pass"),
                                       button(_("🔁 Rework"), f"{QC_PREFIX}:{check.id}:rework")])


