"""Recovery artifacts: what zanith kept when it removed something, as rows of ``_zanith_migration_artifacts``.

Five kinds. Two keep data in place under a reserved name (a soft-dropped column or table), one keeps a
copy of values before a type change (a backup table), two keep only a definition (a dropped index or
constraint). Every row says where the thing is now (``physical_name``), how to put it back
(``recovery_sql``), when it may be purged (``expires_at``) and a checksum of what was kept.

Checksums are computed in SQL and are order-independent sums of per-row hashes, so they stream over a
table of any size without sorting or building a large string: ``md5(count || ':' || sum(hash(row)))``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ..schema.graph import split_qualified
from . import ARTIFACTS, located

SOFT_DROPPED_COLUMN = "soft_dropped_column"
SOFT_DROPPED_TABLE = "soft_dropped_table"
COLUMN_BACKUP = "column_backup"
DROPPED_INDEX = "dropped_index"
DROPPED_CONSTRAINT = "dropped_constraint"

KINDS: dict[str, str] = {
    SOFT_DROPPED_COLUMN: "a column renamed aside with its data, instead of dropped",
    SOFT_DROPPED_TABLE: "a table renamed aside with its data, instead of dropped",
    COLUMN_BACKUP: "a copy of a column's values (keyed by primary key) taken before its type changed",
    DROPPED_INDEX: "the definition of a dropped index",
    DROPPED_CONSTRAINT: "the definition of a dropped constraint",
}

#: Kinds whose artifact holds data in a relation of its own or a column, i.e. something to purge.
DATA_KINDS = frozenset({SOFT_DROPPED_COLUMN, SOFT_DROPPED_TABLE, COLUMN_BACKUP})


@dataclass(frozen=True)
class Artifact:
    id: int
    migration_id: str
    step_index: int | None
    kind: str
    source: str
    """What it was: ``public.users.email``, ``public.orders``, ``public.users_email_idx``."""
    physical_name: str | None
    """Where it is now: ``public.users._zanith_1a2b_email``; None for definition-only kinds."""
    checksum: str
    row_count: int | None
    recovery_sql: str
    created_at: datetime
    expires_at: datetime | None
    status: str
    status_changed_at: datetime | None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(self.expires_at.tzinfo)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "source": self.source,
            "physical_name": self.physical_name,
            "checksum": self.checksum,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "status": self.status,
        }


def table_ident(qualified_name: str) -> sql.Identifier:
    return sql.Identifier(*split_qualified(qualified_name))


def split_column(path: str) -> tuple[str, str]:
    """``schema.table.column`` → (``schema.table``, ``column``); the column part may hold dots."""
    schema, table, column = path.split(".", 2)
    return f"{schema}.{table}", column


def data_checksum(conn: psycopg.Connection, table: str, columns: tuple[str, ...] | None = None) -> tuple[str, int]:
    """(checksum, row count) of ``table``'s rows, or of just ``columns`` of it, computed in SQL."""
    row: sql.Composable
    if columns is None:
        row = sql.SQL("t::text")
    else:
        row = sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier("t", c) for c in columns))
    query = sql.SQL(
        "SELECT count(*), coalesce(sum(hashtextextended({row}, 0)::numeric), 0)::text FROM {table} AS t"
    ).format(row=row, table=table_ident(table))
    found = conn.execute(query).fetchone()
    assert found is not None
    count, total = int(found[0]), str(found[1])
    return hashlib.md5(f"{count}:{total}".encode()).hexdigest(), count


def text_checksum(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _table(schema: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(ARTIFACTS))


def record(
    conn: psycopg.Connection,
    ledger_schema: str,
    *,
    migration_id: str,
    step_index: int | None,
    kind: str,
    source: str,
    physical_name: str | None,
    checksum: str,
    row_count: int | None,
    recovery_sql: str,
    retention_days: int,
) -> int:
    """Insert an artifact row (in the caller's transaction) and return its id."""
    found = conn.execute(
        sql.SQL(
            "INSERT INTO {} (migration_id, step_index, kind, source, physical_name, checksum, row_count,"
            " recovery_sql, expires_at, status)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(days => %s), 'kept') RETURNING id"
        ).format(_table(ledger_schema)),
        (migration_id, step_index, kind, source, physical_name, checksum, row_count, recovery_sql, retention_days),
    ).fetchone()
    assert found is not None
    return int(found[0])


def list_artifacts(conn: psycopg.Connection, ledger_schema: str) -> tuple[Artifact, ...]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL("SELECT * FROM {} ORDER BY id").format(_table(located(conn, ledger_schema))))
        return tuple(Artifact(**row) for row in cur.fetchall())


def get_artifact(conn: psycopg.Connection, ledger_schema: str, artifact_id: int) -> Artifact | None:
    with conn.cursor(row_factory=dict_row) as cur:
        query = sql.SQL("SELECT * FROM {} WHERE id = %s").format(_table(located(conn, ledger_schema)))
        cur.execute(query, (artifact_id,))
        row = cur.fetchone()
    return Artifact(**row) if row else None


def set_status(conn: psycopg.Connection, ledger_schema: str, artifact_id: int, status: str) -> None:
    conn.execute(
        sql.SQL("UPDATE {} SET status = %s, status_changed_at = now() WHERE id = %s").format(_table(ledger_schema)),
        (status, artifact_id),
    )


def extend(conn: psycopg.Connection, ledger_schema: str, artifact_id: int, days: int) -> None:
    conn.execute(
        sql.SQL(
            "UPDATE {} SET expires_at = greatest(coalesce(expires_at, now()), now()) + make_interval(days => %s)"
            " WHERE id = %s"
        ).format(_table(ledger_schema)),
        (days, artifact_id),
    )
