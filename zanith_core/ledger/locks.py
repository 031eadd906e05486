"""The apply lock: one PostgreSQL advisory lock per ledger, so two deploys never interleave.

A session-level advisory lock is held for the whole apply on the runner's connection; PostgreSQL
releases it when that session ends, so a killed ``zanith apply`` never leaves it behind. Restores and
purges (``zanith recover``) take the same lock, so they never race a deploy.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ..errors import LockBusy

POLL_SECONDS = 0.1


def lock_key(ledger_schema: str) -> int:
    """A stable signed 64-bit key derived from the ledger schema (advisory locks are per database)."""
    digest = hashlib.sha256(f"zanith apply lock:{ledger_schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def apply_lock(conn: psycopg.Connection, ledger_schema: str, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the apply lock on ``conn`` (autocommit) for the block; wait up to ``wait`` seconds for it."""
    key = lock_key(ledger_schema)
    deadline = time.monotonic() + max(wait, 0.0)
    while not _try_lock(conn, key):
        remaining = deadline - time.monotonic()
        if not remaining > 0:  # a NaN wait gives up at once rather than poll for ever
            raise LockBusy(_busy_message(conn, key))
        time.sleep(min(POLL_SECONDS, remaining))
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def _try_lock(conn: psycopg.Connection, key: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row and row[0])


def lock_holder(conn: psycopg.Connection, ledger_schema: str) -> tuple[int, str] | None:
    """The pid holding the apply lock in this database and when its session started, if any."""
    return _holder(conn, lock_key(ledger_schema))


def _holder(conn: psycopg.Connection, key: int) -> tuple[int, str] | None:
    # A bigint advisory key shows in pg_locks as classid (high 32 bits), objid (low 32), objsubid 1.
    row = conn.execute(
        "SELECT a.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return None
    since = row[1].isoformat(sep=" ", timespec="seconds") if row[1] is not None else "an unknown time"
    return int(row[0]), since


def _busy_message(conn: psycopg.Connection, key: int) -> str:
    holder = _holder(conn, key)
    who = f"pid {holder[0]}, since {holder[1]}" if holder else "it has just finished; retry"
    return f"another apply is running ({who}); wait with --wait SECONDS or check `zanith status`"
