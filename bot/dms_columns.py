"""The columns of the files ``workshop-bot import`` reads: each field with the header the
DMS's Chinese export gives it and the other names it may have.

Kept apart from ``bot.importer`` (pydantic, the models) and free of imports, so that
``workshop-bot import --help`` can list them at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str  # the field, also an accepted header
    zh: str  # the DMS's Chinese header: the one ``import --template`` writes
    aliases: tuple[str, ...] = ()  # other accepted headers
    required: bool = False
    hint: str = ""  # what a cell holds, when it is not plain text

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.name, self.zh, *self.aliases)


DAY = "a day: 2026/6/1, 2026-6-1, 2026年6月1日 or a date cell"

ORDER_COLUMNS = (
    Column("order_number", "工单号", ("number", "委托书号"), True),
    Column("plate", "车牌号", ("车牌",), True),
    Column("customer_name", "客户姓名", ("customer", "客户", "姓名"), True),
    Column("phone", "联系电话", ("电话", "手机"), True),
    Column("vehicle_model", "车型", ("model",), True),
    Column("complaint", "故障描述", ("客户描述",), True),
    Column("items", "维修项目", ("项目",), True, "items separated by ; or on separate lines"),
    Column("advisor_code", "服务顾问工号", ("advisor", "服务顾问"), True, "a staff code"),
    Column("technician_code", "技师工号", ("technician", "技师"), True, "a staff code"),
)
CUSTOMER_COLUMNS = (
    Column("name", "客户姓名", ("customer_name", "姓名"), True),
    Column("phone", "联系电话", ("phones", "电话", "手机"), hint="one or more, separated by ;"),
    Column("address", "地址"),
    Column("plate", "车牌号", ("车牌",)),
    Column("vehicle_model", "车型", ("model",)),
    Column("vehicle_type", "车种"),
    Column("cycle_months", "保养周期(月)", ("保养周期",), hint="months"),
    Column("cycle_km", "保养里程", hint="km"),
    Column("last_service_on", "上次保养日期", hint=DAY),
    Column("next_maintenance_on", "下次保养日期", hint=DAY),
    Column("services_wanted", "需求服务"),
    Column("clerk_code", "跟踪业务员工号", ("clerk", "跟踪业务员"), hint="a staff code"),
)
COLUMNS = {"orders": ORDER_COLUMNS, "customers": CUSTOMER_COLUMNS}


def describe(kind: str) -> str:
    """The columns of a ``kind`` file, one a line, for ``--help``."""
    lines = [f"{kind} file columns (* required; a header may be any of the names):"]
    for column in COLUMNS[kind]:
        names = " / ".join(column.headers)
        mark = "*" if column.required else " "
        hint = f"  ({column.hint})" if column.hint else ""
        lines.append(f"  {mark} {names}{hint}")
    if kind == "customers":
        lines.append("  each row needs a phone or a plate")
    return "\n".join(lines)
