"""Walks that many tests start from, done through chat as the staff would do them."""

from __future__ import annotations

from sqlmodel import col, select

from models.work_order import WorkOrder
from tests.shop import Person, Shop


async def open_order(
    shop: Shop, advisor: Person, tech: Person,
    items: tuple[str, ...] = ("Change oil", "Replace filter"), plate: str = "京A12345",
) -> int:
    """The advisor opens an order for ``tech`` through /neworder; returns its id."""
    await advisor.send("/neworder")
    await advisor.send(plate)
    await advisor.send("王先生")
    await advisor.send("13812345678")
    await advisor.send("Toyota Camry")
    await advisor.send("Noise when braking")
    await advisor.send("\n".join(items))
    await advisor.tap(tech.name)
    async with shop.db.session() as session:
        order = (
            await session.exec(select(WorkOrder).order_by(col(WorkOrder.id).desc()))
        ).first()
    assert order is not None, "no order was opened"
    return order.id  # type: ignore[return-value]


async def order_in_progress(
    shop: Shop, advisor: Person, tech: Person,
    items: tuple[str, ...] = ("Change oil", "Replace filter"),
) -> int:
    """An order opened by ``advisor`` whose plate ``tech`` has confirmed."""
    order_id = await open_order(shop, advisor, tech, items)
    await tech.tap(data=f"ord:{order_id}:plate")
    await tech.send("京A12345")
    await complete_checklist(tech, order_id)
    return order_id


async def complete_checklist(
    tech: Person, order_id: int, job_types: tuple[str, ...] = ("outside",)
) -> list[str]:
    """N1–N7: choose the job types, tick every box they require, start work; returns the
    replies to “Start work”."""
    from models.checklist import JobType, required_boxes

    for job_type in job_types:
        await tech.tap(data=f"ckl:{order_id}:t:{job_type}:1")
    await tech.tap(data=f"ckl:{order_id}:next")
    for box in required_boxes({JobType(t) for t in job_types}):
        await tech.tap(data=f"ckl:{order_id}:b:{box.value}:1")
    return await tech.tap(data=f"ckl:{order_id}:go")


async def self_check(tech: Person, order_id: int) -> None:
    """W7's first step in chat: every item's boxes ticked, then handed over for QC."""
    await tech.tap(data=f"ord:{order_id}:check")
    await tech.tap(data=f"ord:{order_id}:tickall")
    await tech.tap(data=f"ord:{order_id}:checked")


async def pending_check(shop: Shop, order_id: int) -> int:
    """The id of the order's QC check waiting for a decision."""
    from models.qc import QcCheck, QcStatus

    async with shop.db.session() as session:
        check = (await session.exec(
            select(QcCheck).where(QcCheck.order_id == order_id,
                                  QcCheck.status == QcStatus.pending)
        )).one()
    return check.id  # type: ignore[return-value]


async def order_ready_for_delivery(
    shop: Shop, advisor: Person, tech: Person, leader: Person, inspector: Person,
    items: tuple[str, ...] = ("Change oil", "Replace filter"),
) -> int:
    """An order whose items are done, self-checked, passed by ``leader`` and by ``inspector``
    (W7): the advisor may deliver it."""
    order_id = await order_in_progress(shop, advisor, tech, items)
    for position in range(1, len(items) + 1):
        await tech.tap(f"Done: {position}.")
    await self_check(tech, order_id)
    await leader.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    await inspector.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    return order_id


async def customer_visit(
    shop: Shop, clerk_staff_id: int, *, name: str = "王先生", phone: str = "13812345678",
    plate: str = "京A12345", topic: str = "Asked about the 40,000 km service",
) -> tuple[int, int]:
    """Set-up for follow-up tests: a consultation logged for ``clerk_staff_id``'s customer.

    Returns (customer id, first-call follow-up id). The /consult and /deliver chats have
    tests of their own; this is the quick way to a customer with a first call due.
    """
    from models.audit import Actor
    from models.staff import Staff
    from models.visit_flow import log_consultation

    settings = shop.settings
    async with shop.db.session() as session:
        clerk = await session.get(Staff, clerk_staff_id)
        assert clerk is not None
        opened, first = await log_consultation(
            session, clerk=clerk, customer_name=name, phone=phone, plate=plate, topic=topic,
            now=shop.now(), actor=Actor(clerk_staff_id, "telegram"),
            calendar=settings.calendar, first_call_window=settings.first_call_window,
        )
        await session.commit()
    assert first is not None
    return opened.customer.id, first.id  # type: ignore[return-value]
