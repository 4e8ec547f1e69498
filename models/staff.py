"""Staff, their roles (A1: the business department's tracking clerks and supervisors), the chat
accounts they are bound on and one-time invite codes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ColumnElement, UniqueConstraint, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused


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


# The after-sales staff (A1): the tracking clerks and their supervisors make the follow-up
# calls, keep the customer archive, follow complaints up and register the letters.
AFTER_SALES = (Role.tracking_clerk, Role.supervisor)


def require_after_sales(staff: Staff) -> None:
    """One check for every after-sales action, with one answer for everyone else."""
    if not staff.active or not staff.has(*AFTER_SALES):
        raise Refused("after_sales_only")


def require_supervisor(staff: Staff) -> None:
    if not staff.has(Role.supervisor):
        raise Refused("not_supervisor")


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
    # Set when the platform answered Forbidden (the person blocked the bot, or left the WeCom
    # app's visible range); nothing is sent here until they write to the bot again.
    unreachable_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
    actor: Actor | None = None,
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
        session, now=now, actor=actor, action="staff.add", entity="staff", entity_id=staff.id,
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
    claimed = await session.exec(
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
        existing.staff_id = id_of(staff)
        existing.chat_id = chat_id
        existing.bound_at = now
    else:
        session.add(
            ChatAccount(
                staff_id=id_of(staff),
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
            select(ChatAccount).where(ChatAccount.channel == channel,
                                      _same_key(channel, user_key))
        )
    ).first()
    if existing is None:
        existing = ChatAccount(
            staff_id=id_of(staff),
            channel=channel, user_key=user_key, chat_id=chat_id, bound_at=now,
        )
        session.add(existing)
    else:
        existing.staff_id = id_of(staff)
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
            .where(ChatAccount.channel == channel, _same_key(channel, user_key))
        )
    ).first()
    return row


async def seen_on(session: AsyncSession, channel: str, user_key: str) -> Staff | None:
    """``staff_for_account`` for a person who just wrote: an account the platform had refused
    is reachable again (one write, only then). The caller commits. (The access gate remembers
    the answer for a few seconds, ``models.staff_cache``: every change to these rows reaches
    it.)"""
    row = (
        await session.exec(
            select(Staff, ChatAccount)
            .join(ChatAccount, col(ChatAccount.staff_id) == col(Staff.id))
            .where(ChatAccount.channel == channel, _same_key(channel, user_key))
        )
    ).first()
    if row is None:
        return None
    staff, account = row
    if account.unreachable_since is not None:
        account.unreachable_since = None
        session.add(account)
    return staff


async def lose_contact(session: AsyncSession, channel: str, chat_id: int, *, now: datetime
                       ) -> tuple[Staff, ChatAccount] | None:
    """The platform refused this chat for good (Forbidden): mark its account unreachable.
    The staff member and the account when this is news, None when it was known (or unbound),
    so whoever must be told is told once. The caller commits (which also drops the account
    from the access gate's cache, ``models.staff_cache``: the next message clears the mark)."""
    account = (await session.exec(
        select(ChatAccount).where(ChatAccount.channel == channel,
                                  ChatAccount.chat_id == chat_id))).first()
    if account is None or account.unreachable_since is not None:
        return None
    account.unreachable_since = now
    session.add(account)
    staff = await session.get(Staff, account.staff_id)
    return (staff, account) if staff is not None else None


def reachable(accounts: list[ChatAccount]) -> list[ChatAccount]:
    return [a for a in accounts if a.unreachable_since is None]


async def reachable_anywhere(session: AsyncSession, staff_id: int) -> bool:
    """Whether anything sent to this person can arrive (an account not refused)."""
    return bool(reachable(await accounts_of(session, staff_id)))


def _same_key(channel: str, user_key: str) -> ColumnElement[bool]:
    """WeCom userids are case-insensitive (WeCom treats ``ZhangSan`` and ``zhangsan`` as one
    member); Telegram's numeric ids are compared as they are."""
    if channel == "wecom":
        return func.lower(col(ChatAccount.user_key)) == user_key.lower()
    return col(ChatAccount.user_key) == user_key


async def accounts_of(session: AsyncSession, staff_id: int) -> list[ChatAccount]:
    return list(
        (await session.exec(select(ChatAccount).where(ChatAccount.staff_id == staff_id))).all()
    )


def role_clause(role: Role) -> ColumnElement[bool]:
    return col(Staff.roles).contains(f",{role.value},")


async def active_with_role(
    session: AsyncSession, role: Role, *, on_duty_only: bool = False
) -> list[Staff]:
    query = select(Staff).where(Staff.active == True, role_clause(role))  # noqa: E712
    if on_duty_only:
        query = query.where(Staff.on_duty == True)  # noqa: E712
    return list((await session.exec(query.order_by(Staff.name, col(Staff.id)))).all())


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


# --- administration in chat (/staff) ---------------------------------------------------------
# The CLI's rules above, plus what keeps the shop from locking itself out: only admins act,
# nobody deactivates themselves, and the last active admin keeps the admin role.
MAX_NAME = 64
MAX_CODE = 32


def require_admin(staff: Staff) -> None:
    if not staff.active or not staff.has(Role.admin):
        raise Refused("staff_not_admin")


async def get_staff(session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise Refused("staff_missing")
    return staff


async def staff_page(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[Staff], int]:
    """One page of everyone, active people first, then by name; and how many there are."""
    everyone = list((await session.exec(
        select(Staff).order_by(col(Staff.active).desc(), col(Staff.name), col(Staff.id))
    )).all())
    return everyone[offset : offset + limit], len(everyone)


async def channels_of(session: AsyncSession, staff_ids: list[int]) -> dict[int, list[str]]:
    """The channels each person is bound on, sorted."""
    if not staff_ids:
        return {}
    accounts = (await session.exec(
        select(ChatAccount).where(col(ChatAccount.staff_id).in_(staff_ids))
    )).all()
    found: dict[int, set[str]] = {}
    for account in accounts:
        found.setdefault(account.staff_id, set()).add(account.channel)
    return {staff_id: sorted(channels) for staff_id, channels in found.items()}


async def _is_last_admin(session: AsyncSession, staff: Staff) -> bool:
    if not staff.active or not staff.has(Role.admin):
        return False
    admins = await active_with_role(session, Role.admin)
    return [a.id for a in admins] == [staff.id]


def _roles_audit(roles: str) -> str:
    """The roles as the audit's short before/after column takes them (the full list goes
    into the detail)."""
    return roles if len(roles) <= 32 else roles[:31] + "…"


async def check_new_code(session: AsyncSession, code: str) -> str:
    code = code.strip()
    if not code or len(code.split()) != 1:
        raise Refused("staff_code_invalid")
    if (await session.exec(select(Staff).where(Staff.code == code))).first():
        raise Refused("staff_code_taken", staff_code=code)
    return code


async def change_roles(
    session: AsyncSession, *, staff_id: int, roles: set[Role], admin: Staff, now: datetime,
    actor: Actor,
) -> Staff:
    """An admin replaces someone's roles; the last active admin keeps the admin role."""
    require_admin(admin)
    staff = await get_staff(session, staff_id)
    if not roles:
        raise Refused("staff_no_roles")
    if Role.admin not in roles and await _is_last_admin(session, staff):
        raise Refused("staff_last_admin", name=staff.name)
    before = staff.roles
    staff.roles = encode_roles(roles)
    if staff.roles != before:
        audit.record(
            session, now=now, actor=actor, action="staff.set_roles", entity="staff",
            entity_id=staff.id, before=_roles_audit(before), after=_roles_audit(staff.roles),
            roles_before=before, roles_after=staff.roles,
        )
    return staff


async def issue_invite(
    session: AsyncSession, *, staff_id: int, admin: Staff, now: datetime, ttl: timedelta,
    actor: Actor,
) -> tuple[Staff, InviteCode]:
    """A new code for an active person; their earlier unused codes stop working (as the
    CLI's ``staff invite``)."""
    require_admin(admin)
    staff = await get_staff(session, staff_id)
    if not staff.active:
        raise Refused("staff_inactive", name=staff.name)
    await session.exec(
        update(InviteCode)
        .where(col(InviteCode.staff_id) == staff.id, col(InviteCode.used_at).is_(None),
               col(InviteCode.expires_at) > now)
        .values(expires_at=now)
    )
    invite = await new_invite(session, staff, now=now, ttl=ttl)
    audit.record(
        session, now=now, actor=actor, action="staff.invite", entity="staff",
        entity_id=staff.id, invite_id=invite.id,
    )
    return staff, invite


async def check_deactivate(
    session: AsyncSession, *, staff_id: int, admin: Staff
) -> Staff:
    """Whether an admin may deactivate this person: not themselves, not the last admin."""
    require_admin(admin)
    staff = await get_staff(session, staff_id)
    if not staff.active:
        raise Refused("staff_already_inactive", name=staff.name)
    if staff.id == admin.id:
        raise Refused("staff_self_deactivate")
    if await _is_last_admin(session, staff):
        raise Refused("staff_last_admin", name=staff.name)
    return staff


async def deactivate_staff(
    session: AsyncSession, *, staff_id: int, admin: Staff, now: datetime, actor: Actor
) -> Staff:
    staff = await check_deactivate(session, staff_id=staff_id, admin=admin)
    await deactivate(session, staff, now=now, actor=actor)
    return staff


async def reactivate(
    session: AsyncSession, staff: Staff, *, now: datetime, actor: Actor | None = None
) -> None:
    staff.active = True
    audit.record(
        session, now=now, actor=actor, action="staff.reactivate", entity="staff",
        entity_id=staff.id, before="inactive", after="active",
    )


async def reactivate_staff(
    session: AsyncSession, *, staff_id: int, admin: Staff, now: datetime, actor: Actor
) -> Staff:
    require_admin(admin)
    staff = await get_staff(session, staff_id)
    if staff.active:
        raise Refused("staff_already_active", name=staff.name)
    await reactivate(session, staff, now=now, actor=actor)
    return staff
