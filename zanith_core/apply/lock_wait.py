"""How a step waits for its table locks without stalling other sessions' traffic.

A lock request that cannot be granted queues, and every later request on the table queues behind it:
an ``ALTER TABLE`` waiting five seconds behind a long transaction stalls every ``SELECT`` on the table
for five seconds, even though it would hold its lock for a millisecond. So the runner never queues
behind a transaction it can see is long:

- before each try of a step whose lock blocks writes (SHARE or stronger), :class:`LockWait` polls
  ``pg_locks`` — reading it queues nothing — for sessions holding a conflicting lock on the step's
  tables, and sleeps while one of them has been in its transaction for ``patience`` seconds or more
  (the runner passes ``lock_timeout``: a younger holder will probably be gone before a try times out);
- only then does the step try, with a short ``lock_timeout`` (:func:`milliseconds` makes sure it is
  never 0, which PostgreSQL reads as *no limit*).

A transaction's age comes from ``pg_stat_activity.xact_start`` when the role may read it, else from how
long this wait has seen the same transaction (``pg_locks.virtualtransaction``) hold its lock.
Autovacuum is not waited for, since it cancels itself when it blocks a lock request; an
anti-wraparound autovacuum does not, and is waited for like any other holder. The same description of
a session (:class:`Blocker`) says what a concurrent index build waits for (:func:`blockers_of`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import psycopg

from ..ops.base import Lock, Operation
from ..risk import locked_tables
from ..schema.graph import split_qualified
from .observe import MODES

MAX_TIMEOUT_MS = 2_147_483_647
"""The largest timeout PostgreSQL accepts (``INT_MAX`` milliseconds, about 24 days)."""
POLL_SECONDS = 0.2
REPORT_SECONDS = 10.0
"""While the same sessions block, the wait is reported again this often (with their new durations)."""
QUERY_CHARS = 60

_ALL_MODES = frozenset(MODES)
_BLOCKS_WRITES = frozenset(
    {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
)
CONFLICTS: dict[Lock, frozenset[str]] = {
    Lock.SHARE: _BLOCKS_WRITES,
    Lock.SHARE_ROW_EXCLUSIVE: _BLOCKS_WRITES | {"ShareLock"},
    Lock.ACCESS_EXCLUSIVE: _ALL_MODES,
}
"""The held modes (as ``pg_locks.mode`` spells them) each traffic-blocking request conflicts with; weaker
requests block no ordinary reads or writes and are not waited for (PostgreSQL's conflict table)."""


def milliseconds(seconds: float, *, least: int = 1) -> int:
    """``seconds`` as a PostgreSQL timeout in whole milliseconds, never below ``least``.

    PostgreSQL reads a timeout of 0 as *no limit* and rounds a sub-millisecond one down to 0, so a lock
    timeout converted here is at least 1 ms: a zero, negative, tiny or NaN setting waits 1 ms, never for
    ever. ``least=0`` keeps 0 where it means *no limit* on purpose (``statement_timeout = 0``); any
    positive value is still at least 1 ms.
    """
    millis = seconds * 1000
    if not millis > 0:  # zero, negative, NaN
        return least
    if millis >= MAX_TIMEOUT_MS:
        return MAX_TIMEOUT_MS
    return max(least, 1, round(millis))


@dataclass(frozen=True)
class TableLock:
    """A table lock a step requests: the qualified table and the mode."""

    table: str
    mode: Lock


@dataclass(frozen=True)
class Blocker:
    """A session (or a prepared transaction, ``pid`` None) another one waits for."""

    pid: int | None
    state: str | None
    """``pg_stat_activity.state`` (``idle in transaction``, ``active``...); None when the role may not see it."""
    seconds: float | None
    """How long its transaction has been open; None when unknown."""
    query: str | None
    """Its current or last statement."""

    def describe(self) -> str:
        """``pid 123 (idle in transaction for 12s: UPDATE accounts SET ...)``."""
        if self.pid is None:
            return "a prepared transaction (see pg_prepared_xacts)"
        state = self.state or "state hidden from this role"
        since = f" for {self.seconds:.0f}s" if self.seconds is not None and math.isfinite(self.seconds) else ""
        text = " ".join((self.query or "").split())
        text = text if len(text) <= QUERY_CHARS else text[: QUERY_CHARS - 3] + "..."
        return f"pid {self.pid} ({state}{since}: {text})" if text else f"pid {self.pid} ({state}{since})"


def describe(blockers: Sequence[Blocker]) -> str:
    return ", ".join(b.describe() for b in blockers)


_RAW_SQL_LOCKS = (
    (frozenset({"lock_blocks_reads", "lock_brief"}), Lock.ACCESS_EXCLUSIVE),
    (frozenset({"lock_blocks_writes", "locks_referenced_table"}), Lock.SHARE_ROW_EXCLUSIVE),
)


def step_locks(op: Operation, reasons: Iterable[str] = ()) -> tuple[TableLock, ...]:
    """The table locks ``op`` requests that block traffic (none when its lock blocks no writes).

    The op's own table at the op's :attr:`~zanith_core.ops.base.Operation.lock`; the other tables it
    locks (a referenced table, a partition's parent) at its
    :attr:`~zanith_core.ops.base.Operation.other_lock`. Hand-written SQL declares no lock, so its risk
    ``reasons`` decide: a strong or read-blocking lock is taken as ACCESS EXCLUSIVE, a write-blocking one
    as SHARE ROW EXCLUSIVE, on every table.
    """
    if op.kind == "raw_sql":
        codes = set(reasons)
        mode = next((m for found, m in _RAW_SQL_LOCKS if found & codes), None)
        return tuple(TableLock(t, mode) for t in locked_tables(op)) if mode else ()
    tables = locked_tables(op)
    if op.lock not in CONFLICTS or not tables:
        return ()
    return (TableLock(tables[0], op.lock), *(TableLock(t, op.other_lock) for t in tables[1:]))


_HOLDERS = """
SELECT t.i::int, l.mode, l.pid, l.virtualtransaction, a.state,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8, a.query, a.backend_type
FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t(nspname, relname, i)
JOIN pg_namespace n ON n.nspname = t.nspname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.relname
JOIN pg_locks l ON l.locktype = 'relation' AND l.relation = c.oid AND l.granted
 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.pid IS DISTINCT FROM pg_backend_pid()
"""


class LockWait:
    """Waits, without queuing, for the sessions that would make a step's lock request queue.

    One per step: it remembers since when it has seen each holding transaction across the step's tries.
    """

    def __init__(self, conn: psycopg.Connection, locks: Sequence[TableLock], *, patience: float) -> None:
        self.conn = conn
        self.locks = tuple(locks)
        self.patience = patience
        self.first_seen: dict[str, float] = {}

    def holders(self) -> tuple[Blocker, ...]:
        """Sessions holding a lock that conflicts with one of the step's, the longest-running first."""
        if not self.locks:
            return ()
        names = [split_qualified(lock.table) for lock in self.locks]
        rows = self.conn.execute(_HOLDERS, ([s for s, _ in names], [t for _, t in names])).fetchall()
        now = time.monotonic()
        found: dict[str, Blocker] = {}
        for index, mode, pid, vxid, state, seconds, query, backend in rows:
            if mode not in CONFLICTS[self.locks[index - 1].mode] or _yields(backend, query):
                continue
            seen = now - self.first_seen.setdefault(vxid, now)
            found[vxid] = Blocker(pid, state, math.inf if pid is None else max(seconds or 0.0, seen), query)
        return tuple(sorted(found.values(), key=lambda b: -(b.seconds or 0.0)))

    def wait(self, deadline: float, report: Callable[[tuple[Blocker, ...]], None]) -> tuple[Blocker, ...]:
        """Sleep while a conflicting holder is older than ``patience``; the ones left at ``deadline``.

        Returns ``()`` when the step may try now. ``report`` hears who is waited for when that changes,
        and every :data:`REPORT_SECONDS` while it does not.
        """
        reported: tuple[int | None, ...] | None = None
        reported_at = 0.0
        while True:
            old = tuple(b for b in self.holders() if (b.seconds or 0.0) >= self.patience)
            now = time.monotonic()
            if not old or not now < deadline:
                return old
            pids = tuple(b.pid for b in old)
            if pids != reported or now - reported_at >= REPORT_SECONDS:
                report(old)
                reported, reported_at = pids, now
            time.sleep(max(0.0, min(POLL_SECONDS, deadline - now)))


def _yields(backend: str | None, query: str | None) -> bool:
    """Autovacuum cancels itself when it blocks a lock request, unless it runs to prevent wraparound."""
    return backend == "autovacuum worker" and "wraparound" not in (query or "")


_BLOCKING = """
SELECT b.pid, a.state, extract(epoch FROM clock_timestamp() - a.xact_start)::float8, a.query
FROM unnest(pg_blocking_pids(%s)) AS b(pid) LEFT JOIN pg_stat_activity a ON a.pid = b.pid
ORDER BY a.xact_start NULLS LAST
"""


def blockers_of(conn: psycopg.Connection, pid: int) -> tuple[Blocker, ...]:
    """The sessions the backend ``pid`` is waiting for right now (none when it is not waiting)."""
    return tuple(Blocker(*row) for row in conn.execute(_BLOCKING, (pid,)).fetchall())
