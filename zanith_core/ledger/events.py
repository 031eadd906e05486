"""Ledger events: every act on the ledger that is not a step of an apply, one row each.

``zanith apply`` records itself in the step and migration rows. Whatever else changes the ledger's
story — ``zanith resolve`` reversing a failed migration's steps, marking it applied, forgetting one
whose file was deleted — writes a row of ``_zanith_ledger_events`` in the same transaction as the
change, with who did it (``current_user``) and when. Nothing in the ledger is deleted; an event is how
a row's meaning changes, so the ledger can always say what happened and who decided it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import EVENTS, ledger_version, located

FORGOTTEN = "forgotten"
"""The action of ``zanith resolve --forget``: the migration's file was deleted on purpose."""


@dataclass(frozen=True)
class LedgerEvent:
    """One row of ``_zanith_ledger_events``."""

    id: int
    migration_id: str
    action: str
    step_index: int | None
    detail: dict[str, Any]
    recorded_by: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "migration_id": self.migration_id,
            "action": self.action,
            "step_index": self.step_index,
            "detail": self.detail,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def record_event(
    conn: psycopg.Connection,
    schema: str,
    migration_id: str,
    action: str,
    *,
    step_index: int | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Write one event (call it inside the transaction that makes the change it records); its id."""
    insert = "INSERT INTO {} (migration_id, action, step_index, detail) VALUES (%s, %s, %s, %s) RETURNING id"
    row = conn.execute(
        sql.SQL(insert).format(sql.Identifier(schema, EVENTS)),
        (migration_id, action, step_index, Jsonb(detail or {})),
    ).fetchone()
    assert row is not None
    return int(row[0])


def events(conn: psycopg.Connection, schema: str, migration_id: str | None = None) -> tuple[LedgerEvent, ...]:
    """Events of one migration, or of all, oldest first; empty when the ledger predates them."""
    schema = located(conn, schema)
    if ledger_version(conn, schema) < 2:
        return ()
    where = sql.SQL("WHERE migration_id = %s" if migration_id is not None else "")
    query = sql.SQL(
        "SELECT id, migration_id, action, step_index, detail, recorded_by, recorded_at FROM {} {} ORDER BY id"
    ).format(sql.Identifier(schema, EVENTS), where)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, (migration_id,) if migration_id is not None else ()).fetchall()
    return tuple(LedgerEvent(**r) for r in rows)


def forgotten(conn: psycopg.Connection, schema: str) -> frozenset[str]:
    """Migrations ``zanith resolve --forget`` let go of: the project is not expected to hold their files."""
    return frozenset(e.migration_id for e in events(conn, schema) if e.action == FORGOTTEN)
