"""Shared pieces of the backfill and expand/contract tests: ledger, audit trigger, running a backfill op."""

from __future__ import annotations

from typing import Any

import psycopg

from zanith_core.apply.backfill import run_backfill
from zanith_core.apply.executors import StepContext
from zanith_core.ledger import ensure_ledger
from zanith_core.ops import Backfill

AUDIT = """
CREATE TABLE backfill_audit (table_name text, key text, marker text, txid bigint);
CREATE FUNCTION audit_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('zanith.backfill', true), '') <> '' THEN
        INSERT INTO backfill_audit VALUES (TG_TABLE_NAME, NEW.id::text, current_setting('zanith.backfill'),
                                           txid_current());
    END IF;
    RETURN NEW;
END $$;
"""


def install_audit(conn: psycopg.Connection, table: str) -> None:
    """Record every row a backfill writes to ``table`` (keyed by its ``id`` column), once per write."""
    if conn.execute("SELECT to_regclass('backfill_audit')").fetchone() == (None,):
        conn.execute(AUDIT)
    conn.execute(f"CREATE TRIGGER audit_{table} AFTER UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION audit_backfill()")


def audited_keys(conn: psycopg.Connection, table: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT key FROM backfill_audit WHERE table_name = %s", (table,)).fetchall()]


def ledger(conn: psycopg.Connection) -> None:
    ensure_ledger(conn, StepContext.ledger_schema)


def backfill(conn: psycopg.Connection, op: Backfill, *, migration_id: str = "m1", step: int = 1, **ctx: Any) -> Any:
    """Run ``op`` as step ``step`` of ``migration_id`` the way the runner does (autocommit connection)."""
    batch_size = ctx.pop("batch_size", None)
    return run_backfill(conn, op, StepContext(migration_id, step, **ctx), batch_size=batch_size)


def checkpoint_row(conn: psycopg.Connection, migration_id: str = "m1", step: int = 1) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT cursor, processed_rows, status FROM zanith._zanith_migration_checkpoints"
        " WHERE migration_id = %s AND step_index = %s",
        (migration_id, step),
    ).fetchone()
