"""Who a chat account is, remembered for a few seconds: the access gate
(``handlers.staff.access``) runs before every update and asks the database nothing when the
person was seen recently.

An entry is keyed by (channel, user key) and holds a detached snapshot of the active staff
member as the gate left it (the account reachable again, the last channel written on) and
when it expires on the monotonic clock (``STAFF_CACHE_SECONDS``; 0 turns the cache off). The
gate trusts an entry only when the person writes on the channel the snapshot names as their
last one; otherwise it reads and writes as it would without the cache.

Kept true:

- in this process at once: every session of ``models.db.Database`` reports the ``Staff`` and
  ``ChatAccount`` rows it flushes (new, changed, deleted) and the ORM ``update()``/``delete()``
  statements on them, and every cache of the process drops what they touch, at the flush and
  again at the commit. Roles, active, locale, duty, last channel, bindings and the unreachable
  mark (``models.staff.lose_contact``) are all changed through such sessions, by the handlers,
  the jobs and the CLI alike, so none has to remember to tell the cache;
- across processes (the CLI deactivating someone while the bot runs, another worker): by the
  expiry alone, so such a change reaches the gate within ``STAFF_CACHE_SECONDS``. So does an
  unreachable mark another process sets: a person who writes within that time after it keeps
  the mark until their first message after the entry expired.

A read that a change overtook is not remembered: the gate takes a ``Read`` before it asks
the database and ``put`` ignores it when something was dropped in between (other than by the
gate's own write, which the entry then shows).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from models.db import WatchedSession
from models.staff import ChatAccount, Staff

# Beyond this many entries the expired ones are swept (people who stopped writing).
MAX_ENTRIES = 10_000

Key = tuple[str, str]

_OWN_READ = "staff_cache_read"  # session.info: the gate's Read, not overtaken by its own write
_PENDING = "staff_cache_pending"  # session.info: what the flushed changes touched, till commit
_EVERYONE = "everyone"  # an ORM update()/delete() on staff or chat_account: drop everything


def account_key(channel: str, user_key: str) -> Key:
    """WeCom userids are case-insensitive (as ``models.staff._same_key`` compares them)."""
    return (channel, user_key.lower() if channel == "wecom" else user_key)


def copy_of(staff: Staff) -> Staff:
    """A detached copy, as a session that closed would have left it: each update gets its own,
    so nothing a handler does to ``context.staff`` reaches the cache or another update."""
    copy = Staff.model_validate(staff.model_dump())
    make_transient_to_detached(copy)
    return copy


@dataclass(frozen=True, slots=True)
class Entry:
    # A detached snapshot, never handed out itself (``fresh_staff``); only ever of an account
    # the gate found reachable (it clears the mark) — marking it unreachable drops the entry.
    staff: Staff
    expires: float  # on the monotonic clock

    @property
    def last_channel(self) -> str | None:
        return self.staff.last_channel

    def fresh_staff(self) -> Staff:
        return copy_of(self.staff)


class Read:
    """One lookup in progress; ``stale`` once a change it may have missed was dropped."""

    __slots__ = ("__weakref__", "stale")

    def __init__(self) -> None:
        self.stale = False


class StaffCache:
    def __init__(self, seconds: float, monotonic: Callable[[], float]) -> None:
        self.seconds = seconds
        self._monotonic = monotonic
        self._entries: dict[Key, Entry] = {}
        self._reads: weakref.WeakSet[Read] = weakref.WeakSet()
        _caches.add(self)

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, channel: str, user_key: str) -> Entry | None:
        if not self._entries:
            return None
        key = account_key(channel, user_key)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._monotonic():
            del self._entries[key]
            return None
        return entry

    def reading(self) -> Read:
        """Before asking the database: a change dropped from here on makes the answer stale."""
        read = Read()
        if self.enabled:
            self._reads.add(read)
        return read

    def put(self, read: Read, channel: str, user_key: str, staff: Staff) -> None:
        """Remember an active staff member as read (unless a change overtook the read), their
        account reachable."""
        self._reads.discard(read)
        if not self.enabled or read.stale or not staff.active:
            return
        now = self._monotonic()
        if len(self._entries) >= MAX_ENTRIES:
            self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[account_key(channel, user_key)] = Entry(copy_of(staff),
                                                              now + self.seconds)

    def forget(self, staff_ids: Iterable[int] = (), keys: Iterable[Key] = (), *,
               everyone: bool = False, own: Read | None = None) -> None:
        """Drop what a change touched; reads in progress (but ``own``) become stale."""
        for read in list(self._reads):
            if read is not own:
                read.stale = True
                self._reads.discard(read)
        if not self._entries:
            return
        if everyone:
            self._entries.clear()
            return
        ids = set(staff_ids)
        drop = {account_key(*key) for key in keys}
        for key, entry in list(self._entries.items()):
            if key in drop or entry.staff.id in ids:
                del self._entries[key]

    def clear(self) -> None:
        self.forget(everyone=True)


# Every cache of this process, so that a change made through any session reaches all of them
# (the Telegram and WeCom applications, two workers in one test).
_caches: weakref.WeakSet[StaffCache] = weakref.WeakSet()


def _forget(touched: dict[str, Any], own: Read | None) -> None:
    for cache in list(_caches):
        cache.forget(touched["ids"], touched["keys"], everyone=touched["everyone"], own=own)


def _touched(session: Session) -> dict[str, Any]:
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {"ids": set(), "keys": set(), "everyone": False}
    return pending


@event.listens_for(WatchedSession, "after_flush")
def _flushed(session: Session, _flush_context: Any) -> None:
    touched: dict[str, Any] | None = None
    for instance in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(instance, Staff | ChatAccount):
            continue
        touched = touched or _touched(session)
        loaded = instance.__dict__  # never a lazy load here: an expired attribute is unknown
        if isinstance(instance, Staff):
            ids = [loaded.get("id")]
        else:
            ids = [loaded.get("staff_id"), *_history(instance, "staff_id")]  # moved: both
            if "channel" in loaded and "user_key" in loaded:
                touched["keys"].add((loaded["channel"], loaded["user_key"]))
            else:
                touched["everyone"] = True
        if None in ids:
            touched["everyone"] = True
        touched["ids"].update(i for i in ids if i is not None)
    if touched is not None:
        _forget(touched, session.info.get(_OWN_READ))


def _history(instance: Any, name: str) -> list[Any]:
    added, _unchanged, deleted = inspect(instance).attrs[name].history
    return [*(added or ()), *(deleted or ())]


@event.listens_for(WatchedSession, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    if any(mapper.class_ in (Staff, ChatAccount) for mapper in state.all_mappers):
        touched = _touched(state.session)
        touched["everyone"] = True
        _forget(touched, None)


@event.listens_for(WatchedSession, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is visible to others until the outer commit
    touched = session.info.pop(_PENDING, None)
    if touched is not None:  # again: a read between the flush and the commit saw the old rows
        _forget(touched, session.info.get(_OWN_READ))


@event.listens_for(WatchedSession, "after_soft_rollback")
def _rolled_back(session: Session, previous: Any) -> None:
    if previous.parent is None:
        session.info.pop(_PENDING, None)


def own_read(session: Any, read: Read) -> None:
    """Tell the events that ``read`` is this session's own lookup (the gate's), which its own
    write does not make stale. ``session`` is an ``AsyncSession`` or a ``Session``."""
    sync = getattr(session, "sync_session", session)
    sync.info[_OWN_READ] = read
