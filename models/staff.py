"""Staff, their roles, the chat accounts they are bound on and one-time invite codes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import BigInteger, Column, UniqueConstraint, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime


class Role(StrEnum):
    technician = "technician"
    team_leader = "team_leader"
    inspector = "inspector"
    advisor = "advisor"
    parts_clerk = "parts_clerk"
    tracking_clerk = "tracking_clerk"
    supervisor = "supervisor"
    admin = "admin"


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    # Roles as ",technician,advisor," so one LIKE finds every holder of a role on any database.
    roles: str = Field(default=",", max_length=255)
    active: bool = Field(default=True)
    on_duty: bool = Field(default=True)
    locale: str | None = Field(default=None, max_length=8)
    code: str | None = Field(default=None, max_length=32, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The channel this person wrote on last (NOTIFY_CHANNELS=preferred sends only there).
    last_channel: str | None = Field(default=None, max_length=16)

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles.split(",") if r)

    def has(self, *roles: Role) -> bool:
        return any(f",{r.value}," in self.roles for r in roles)


def encode_roles(roles: set[Role] | frozenset[Role] | list[Role]) -> str:
    ordered = [r.value for r in Role if r in set(roles)]
    return "," + ",".join(ordered) + "," if ordered else ","


class ChatAccount(SQLModel, table=True):
    """A staff member's account on one channel (Telegram user id, WeCom userid)."""

    __tablename__ = "chat_account"
    __table_args__ = (UniqueConstraint("channel", "user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    channel: str = Field(max_length=16)
    user_key: str = Field(max_length=64)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    bound_at: datetime = Field(sa_type=UTCDateTime)


class InviteCode(SQLModel, table=True):
    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class InviteError(StrEnum):
    unknown = "unknown"
    used = "used"
    expired = "expired"
    inactive = "inactive"


class StaffError(Exception):
    """A staff command that cannot be carried out; the message says why."""


def new_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(10))


async def add_staff(
    session: AsyncSession,
    *,
    name: str,
    roles: set[Role],
    now: datetime,
    invite_ttl: timedelta,
    locale: str | None = None,
    code: str | None = None,
) -> tuple[Staff, InviteCode]:
    name = name.strip()
    if not name:
        raise StaffError("name is empty")
    if not roles:
        raise StaffError("at least one role is needed")
    if code and (await session.exec(select(Staff).where(Staff.code == code))).first():
        raise StaffError(f"staff code {code!r} is taken")
    staff = Staff(name=name, roles=encode_roles(roles), locale=locale, code=code, created_at=now)
    session.add(staff)
    await session.flush()
    invite = await new_invite(session, staff, now=now, ttl=invite_ttl)
    audit.record(
        session, now=now, actor=None, action="staff.add", entity="staff", entity_id=staff.id,
        after=staff.roles,
    )
    return staff, invite


async def new_invite(
    session: AsyncSession, staff: Staff, *, now: datetime, ttl: timedelta
) -> InviteCode:
    assert staff.id is not None
    invite = InviteCode(code=new_code(), staff_id=staff.id, expires_at=now + ttl)
    session.add(invite)
    await session.flush()
    return invite


async def redeem_invite(
    session: AsyncSession,
    *,
    code: str,
    channel: str,
    user_key: str,
    chat_id: int,
    locale: str | None,
    now: datetime,
) -> Staff | InviteError:
    """Bind a chat account with a one-time code; the conditional update makes it single-use."""
    invite = (
        await session.exec(select(InviteCode).where(InviteCode.code == code.strip().upper()))
    ).first()
    if invite is None:
        return InviteError.unknown
    if invite.used_at is not None:
        return InviteError.used
    if invite.expires_at <= now:
        return InviteError.expired
    staff = await session.get(Staff, invite.staff_id)
    if staff is None or not staff.active:
        return InviteError.inactive
    claimed = await session.exec(  # type: ignore[call-overload]
        update(InviteCode)
        .where(col(InviteCode.id) == invite.id, col(InviteCode.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        return InviteError.used
    existing = (
        await session.exec(
            select(ChatAccount).where(
                ChatAccount.channel == channel, ChatAccount.user_key == user_key
            )
        )
    ).first()
    if existing is not None:
        existing.staff_id = staff.id  # type: ignore[assignment]
        existing.chat_id = chat_id
        existing.bound_at = now
    else:
        session.add(
            ChatAccount(
                staff_id=staff.id,  # type: ignore[arg-type]
                channel=channel,
                user_key=user_key,
                chat_id=chat_id,
                bound_at=now,
            )
        )
    if staff.locale is None and locale:
        staff.locale = locale
    audit.record(
        session, now=now, actor=Actor(staff.id, channel), action="staff.bind", entity="staff",
        entity_id=staff.id, user_key=user_key,
    )
    await session.flush()
    return staff


async def bind_account(
    session: AsyncSession, staff: Staff, *, channel: str, user_key: str, chat_id: int,
    now: datetime,
) -> ChatAccount:
    """Bind directly (the CLI's ``--wecom-userid``); replaces an earlier binding of that key."""
    existing = (
        await session.exec(
            select(ChatAccount).where(
                ChatAccount.channel == channel, ChatAccount.user_key == user_key
            )
        )
    ).first()
    if existing is None:
        existing = ChatAccount(
            staff_id=staff.id,  # type: ignore[arg-type]
            channel=channel, user_key=user_key, chat_id=chat_id, bound_at=now,
        )
        session.add(existing)
    else:
        existing.staff_id = staff.id  # type: ignore[assignment]
        existing.chat_id = chat_id
        existing.bound_at = now
    await session.flush()
    return existing


async def staff_for_account(
    session: AsyncSession, channel: str, user_key: str
) -> Staff | None:
    row = (
        await session.exec(
            select(Staff)
            .join(ChatAccount, col(ChatAccount.staff_id) == col(Staff.id))
            .where(ChatAccount.channel == channel, ChatAccount.user_key == user_key)
        )
    ).first()
    return row


async def accounts_of(session: AsyncSession, staff_id: int) -> list[ChatAccount]:
    return list(
        (await session.exec(select(ChatAccount).where(ChatAccount.staff_id == staff_id))).all()
    )


def role_clause(role: Role):  # type: ignore[no-untyped-def]
    return col(Staff.roles).contains(f",{role.value},")


async def active_with_role(
    session: AsyncSession, role: Role, *, on_duty_only: bool = False
) -> list[Staff]:
    query = select(Staff).where(Staff.active == True, role_clause(role))  # noqa: E712
    if on_duty_only:
        query = query.where(Staff.on_duty == True)  # noqa: E712
    return list((await session.exec(query.order_by(Staff.name, Staff.id))).all())


async def find_staff(session: AsyncSession, ref: str) -> Staff:
    """Find by id, staff code or exact name (the CLI's way of naming someone)."""
    ref = ref.strip()
    staff: Staff | None = None
    if ref.isdigit():
        staff = await session.get(Staff, int(ref))
    if staff is None:
        staff = (await session.exec(select(Staff).where(Staff.code == ref))).first()
    if staff is None:
        matches = list((await session.exec(select(Staff).where(Staff.name == ref))).all())
        if len(matches) > 1:
            raise StaffError(f"{len(matches)} staff are called {ref!r}; use the id")
        staff = matches[0] if matches else None
    if staff is None:
        raise StaffError(f"no staff member {ref!r}")
    return staff


async def set_roles(
    session: AsyncSession, staff: Staff, roles: set[Role], *, now: datetime,
    actor: Actor | None = None,
) -> None:
    if not roles:
        raise StaffError("at least one role is needed")
    before = staff.roles
    staff.roles = encode_roles(roles)
    audit.record(
        session, now=now, actor=actor, action="staff.set_roles", entity="staff",
        entity_id=staff.id, before=before, after=staff.roles,
    )


async def deactivate(
    session: AsyncSession, staff: Staff, *, now: datetime, actor: Actor | None = None
) -> None:
    staff.active = False
    audit.record(
        session, now=now, actor=actor, action="staff.deactivate", entity="staff",
        entity_id=staff.id, before="active", after="inactive",
    )


async def set_on_duty(
    session: AsyncSession, staff: Staff, on_duty: bool, *, now: datetime, actor: Actor
) -> None:
    before = "on" if staff.on_duty else "off"
    staff.on_duty = on_duty
    audit.record(
        session, now=now, actor=actor, action="staff.duty", entity="staff", entity_id=staff.id,
        before=before, after="on" if on_duty else "off",
    )
