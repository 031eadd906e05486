"""Recovery: check what a migration kept, put it back, or purge it when a person says so.

What a migration removes is kept when its step runs (:mod:`zanith_core.apply.capture` writes the artifact
row in the step's own transaction); the verbs here (``restore``, ``verify``, ``extend``, ``purge``,
``export``) work on those rows. Restores and purges take the same advisory lock as ``zanith apply`` so
they never race a deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from ..config import EXTEND_DAYS, MAX_DAYS
from ..errors import InvalidValue, ZanithError
from ..ledger import VERSION as LEDGER_VERSION
from ..ledger import artifacts as art
from ..ledger import ensure_ledger, ledger_version
from ..ledger.artifacts import Artifact
from ..ledger.locks import apply_lock
from ..schema.graph import split_qualified


class ArtifactNotFound(ZanithError):
    """No artifact with that id."""


class RestoreRefused(ZanithError):
    """The artifact cannot be restored as things stand; nothing was changed."""

    exit_code = 3


@dataclass(frozen=True)
class Check:
    """The outcome of re-verifying one artifact."""

    artifact: Artifact
    state: str
    """``intact``, ``tampered`` or ``missing``."""
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"id": self.artifact.id, "kind": self.artifact.kind, "source": self.artifact.source,
                "state": self.state, "detail": self.detail}


# -- lookups ---------------------------------------------------------------------------------------


def open_ledger(conn: psycopg.Connection, ledger_schema: str, *, wait: float = 0.0) -> None:
    """Make sure the ledger exists; creating it (first use only) happens under the apply lock."""
    if ledger_version(conn, ledger_schema) < LEDGER_VERSION:
        with apply_lock(conn, ledger_schema, wait=wait):
            ensure_ledger(conn, ledger_schema)


def require(conn: psycopg.Connection, ledger_schema: str, artifact_id: int) -> Artifact:
    found = art.get_artifact(conn, ledger_schema, artifact_id)
    if found is None:
        raise ArtifactNotFound(f"no recovery artifact with id {artifact_id} (see `zanith recover list`)")
    return found


# -- verify ----------------------------------------------------------------------------------------


def verify(conn: psycopg.Connection, ledger_schema: str, artifact_id: int | None = None) -> tuple[Check, ...]:
    """Recompute the checksum of each kept artifact (or of one) and say whether it still matches."""
    chosen = (
        (require(conn, ledger_schema, artifact_id),)
        if artifact_id is not None
        else tuple(a for a in art.list_artifacts(conn, ledger_schema) if a.status == "kept")
    )
    return tuple(_check(conn, a) for a in chosen)


def _check(conn: psycopg.Connection, artifact: Artifact) -> Check:
    if artifact.status != "kept":
        return Check(artifact, "missing", f"artifact is {artifact.status}; nothing is kept any more")
    if artifact.kind not in art.DATA_KINDS:
        ok = art.text_checksum(artifact.recovery_sql) == artifact.checksum
        return Check(artifact, "intact" if ok else "tampered",
                     "definition matches its checksum" if ok else "recovery SQL was modified after it was recorded")
    if not _physical_exists(conn, artifact):
        return Check(artifact, "missing", f"{artifact.physical_name} no longer exists")
    checksum, rows = current_checksum(conn, artifact)
    if checksum != artifact.checksum:
        detail = f"data changed since it was kept ({artifact.row_count} rows then, {rows} now)"
        return Check(artifact, "tampered", detail)
    return Check(artifact, "intact", f"{rows} rows match the checksum")


def current_checksum(conn: psycopg.Connection, artifact: Artifact) -> tuple[str, int]:
    assert artifact.physical_name is not None
    if artifact.kind == art.SOFT_DROPPED_COLUMN:
        table, column = art.split_column(artifact.physical_name)
        return art.data_checksum(conn, table, (column,))
    return art.data_checksum(conn, artifact.physical_name)


def _physical_exists(conn: psycopg.Connection, artifact: Artifact) -> bool:
    assert artifact.physical_name is not None
    if artifact.kind == art.SOFT_DROPPED_COLUMN:
        table, column = art.split_column(artifact.physical_name)
        return column_exists(conn, table, column)
    return relation_exists(conn, artifact.physical_name)


def size_bytes(conn: psycopg.Connection, artifact: Artifact) -> int | None:
    """Disk used by what an artifact keeps: the relation's size, or a column's estimate from statistics."""
    if artifact.status != "kept" or artifact.physical_name is None or not _physical_exists(conn, artifact):
        return None
    if artifact.kind == art.SOFT_DROPPED_COLUMN:
        table, column = art.split_column(artifact.physical_name)
        schema, bare = split_qualified(table)
        found = conn.execute(
            "SELECT (s.avg_width * greatest(c.reltuples, 0))::bigint FROM pg_stats s"
            " JOIN pg_namespace n ON n.nspname = s.schemaname"
            " JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename"
            " WHERE s.schemaname = %s AND s.tablename = %s AND s.attname = %s",
            (schema, bare, column),
        ).fetchone()
        return int(found[0]) if found and found[0] is not None else None
    found = conn.execute(
        "SELECT pg_total_relation_size(%s::regclass)", (art.table_ident(artifact.physical_name).as_string(None),)
    ).fetchone()
    return int(found[0]) if found else None


def relation_exists(conn: psycopg.Connection, qualified_name: str) -> bool:
    schema, name = split_qualified(qualified_name)
    found = conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    ).fetchone()
    return found is not None


def column_exists(conn: psycopg.Connection, table: str, column: str) -> bool:
    schema, name = split_qualified(table)
    found = conn.execute(
        "SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s"
        " AND a.attnum > 0 AND NOT a.attisdropped",
        (schema, name, column),
    ).fetchone()
    return found is not None


def constraint_exists(conn: psycopg.Connection, table: str, name: str) -> bool:
    schema, bare = split_qualified(table)
    found = conn.execute(
        "SELECT 1 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s AND k.conname = %s",
        (schema, bare, name),
    ).fetchone()
    return found is not None


# -- restore ---------------------------------------------------------------------------------------


def restore(conn: psycopg.Connection, ledger_schema: str, artifact_id: int, *, wait: float = 0.0) -> Artifact:
    """Put an artifact back under its original name, under the apply lock.

    Checks come first, so a refused restore changes nothing. The recovery SQL then runs in one
    transaction with the status update, except statements PostgreSQL refuses inside a transaction
    (``CREATE INDEX CONCURRENTLY``), which run on their own before the status is recorded.
    """
    with apply_lock(conn, ledger_schema, wait=wait):
        ensure_ledger(conn, ledger_schema)
        artifact = require(conn, ledger_schema, artifact_id)
        _refuse_unless_restorable(conn, artifact)
        statements = split_statements(artifact.recovery_sql)
        if any(concurrent(s) for s in statements):
            for statement in statements:
                conn.execute(_sql(statement))
            art.set_status(conn, ledger_schema, artifact.id, "restored")
        else:
            with conn.transaction():
                for statement in statements:
                    conn.execute(_sql(statement))
                art.set_status(conn, ledger_schema, artifact.id, "restored")
    return require(conn, ledger_schema, artifact_id)


def concurrent(statement: str) -> bool:
    return " CONCURRENTLY " in f" {statement.upper()} "


def _sql(statement: str) -> sql.SQL:
    """Recovery SQL was rendered by zanith with every identifier quoted; run it as it is."""
    return sql.SQL(statement)


def _refuse_unless_restorable(conn: psycopg.Connection, a: Artifact) -> None:
    if a.status != "kept":
        raise RestoreRefused(f"artifact {a.id} ({a.source}) is {a.status}; only kept artifacts can be restored")
    check = _check(conn, a)
    if check.state == "missing":
        raise RestoreRefused(f"artifact {a.id} ({a.source}) cannot be restored: {check.detail}")
    if a.kind == art.SOFT_DROPPED_COLUMN:
        table, column = art.split_column(a.source)
        if not relation_exists(conn, table):
            raise RestoreRefused(f"cannot restore {a.source}: table {table} no longer exists")
        if column_exists(conn, table, column):
            raise RestoreRefused(
                f"cannot restore {a.source}: the name is taken again by a column of {table}; "
                f"rename or drop that column first (the kept data stays in {a.physical_name})"
            )
    elif a.kind in (art.SOFT_DROPPED_TABLE, art.DROPPED_INDEX):
        relation = a.source
        if a.kind == art.DROPPED_INDEX:
            table, index = art.split_column(a.source)
            relation = f"{split_qualified(table)[0]}.{index}"
        if relation_exists(conn, relation):
            raise RestoreRefused(
                f"cannot restore {a.source}: a relation named {relation} exists again; rename or drop it first"
            )
    elif a.kind == art.DROPPED_CONSTRAINT:
        table, name = art.split_column(a.source)
        if constraint_exists(conn, table, name):
            raise RestoreRefused(f"cannot restore {a.source}: {table} has a constraint named {name} again")
    elif a.kind == art.COLUMN_BACKUP:
        table, column = art.split_column(a.source)
        if not column_exists(conn, table, column):
            raise RestoreRefused(f"cannot restore {a.source}: the column no longer exists")


def split_statements(script: str) -> tuple[str, ...]:
    """Statements of a recovery script (zanith writes one per line, each ending in ``;``)."""
    return tuple(line.rstrip().rstrip(";") for line in script.splitlines() if line.strip())


# -- extend, purge, export -------------------------------------------------------------------------


def extend(conn: psycopg.Connection, ledger_schema: str, artifact_id: int, days: int) -> Artifact:
    """Push the artifact's expiry ``days`` further; never past :data:`~zanith_core.config.MAX_DAYS` from now,
    so no expiry is written that the next read could not hold (a year past 9999 breaks every verb)."""
    EXTEND_DAYS.check("--days", days, "recover extend")
    a = require(conn, ledger_schema, artifact_id)
    now = datetime.now(UTC)
    if max(a.expires_at or now, now) + timedelta(days=days) > now + timedelta(days=MAX_DAYS):
        raise InvalidValue(
            f"recover extend: artifact {artifact_id} would then expire more than {MAX_DAYS} days from now "
            f"(it expires {a.expires_at:%Y-%m-%d}); extend it by fewer days"
        )
    art.extend(conn, ledger_schema, artifact_id, days)
    return require(conn, ledger_schema, artifact_id)


def purge(
    conn: psycopg.Connection,
    ledger_schema: str,
    *,
    artifact_id: int | None = None,
    expired: bool = False,
    force: bool = False,
    wait: float = 0.0,
) -> tuple[Artifact, ...]:
    """Drop kept artifacts for good: the expired ones, or one by id (unexpired only with ``force``)."""
    if artifact_id is None and not expired:
        raise ZanithError("say what to purge: an artifact ID or --expired")
    with apply_lock(conn, ledger_schema, wait=wait):
        ensure_ledger(conn, ledger_schema)
        if artifact_id is not None:
            target = require(conn, ledger_schema, artifact_id)
            if target.status != "kept":
                raise ZanithError(f"artifact {artifact_id} is already {target.status}")
            if not target.expired and not force:
                raise ZanithError(
                    f"artifact {artifact_id} ({target.source}) has not expired (expires {target.expires_at:%Y-%m-%d}); "
                    "use --force to purge it anyway"
                )
            chosen: Sequence[Artifact] = (target,)
        else:
            chosen = [a for a in art.list_artifacts(conn, ledger_schema) if a.status == "kept" and a.expired]
        for a in chosen:
            with conn.transaction():
                for statement in _purge_statements(conn, a):
                    conn.execute(statement)
                art.set_status(conn, ledger_schema, a.id, "purged")
    return tuple(require(conn, ledger_schema, a.id) for a in chosen)


def _purge_statements(conn: psycopg.Connection, a: Artifact) -> tuple[sql.Composed, ...]:
    if a.kind not in art.DATA_KINDS or a.physical_name is None or not _physical_exists(conn, a):
        return ()
    if a.kind == art.SOFT_DROPPED_COLUMN:
        table, column = art.split_column(a.physical_name)
        return (sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(art.table_ident(table), sql.Identifier(column)),)
    return (sql.SQL("DROP TABLE {}").format(art.table_ident(a.physical_name)),)


def export_script(chosen: Sequence[Artifact]) -> str:
    """The recovery SQL of ``chosen`` as one reviewable script, each in its own transaction."""
    parts = ["-- zanith recovery script: review, then run with psql -v ON_ERROR_STOP=1 -f FILE"]
    for a in chosen:
        parts.append(f"\n-- artifact {a.id}: {a.kind} {a.source} (kept as {a.physical_name or 'definition'}, "
                     f"migration {a.migration_id}, status {a.status})")
        if any(concurrent(s) for s in split_statements(a.recovery_sql)):
            parts.append("-- runs outside a transaction block (CONCURRENTLY)")
            parts.append(a.recovery_sql.rstrip())
        else:
            parts.extend(["BEGIN;", a.recovery_sql.rstrip(), "COMMIT;"])
    return "\n".join(parts) + "\n"
