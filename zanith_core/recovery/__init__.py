"""Recovery: keep what a migration removes, check it, put it back, or purge it when a person says so.

The capture half registers executors for the op kinds that remove something (soft drops, hard drops of
indexes and constraints, type changes): each runs the op and writes its artifact row in the step's own
transaction, so an artifact exists exactly when its step committed. The verb half (``restore``,
``verify``, ``extend``, ``purge``, ``export``) works on those rows; restores and purges take the same
advisory lock as ``zanith apply`` so they never race a deploy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..apply import artifacts as art
from ..apply.artifacts import Artifact
from ..apply.executors import StepContext, register_executor, run_statements
from ..apply.ledger import VERSION as LEDGER_VERSION
from ..apply.ledger import ensure_ledger, ledger_version
from ..apply.locks import apply_lock
from ..errors import ZanithError
from ..ops.base import Operation
from ..ops.columns import AlterColumnType, SoftDropColumn
from ..ops.tables import SoftDropTable
from ..schema.graph import RESERVED_PREFIX, qualified, split_qualified


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


# -- capture ---------------------------------------------------------------------------------------

#: Op kinds that remove something, and the artifact kind that keeps it.
CAPTURED: dict[str, str] = {
    "soft_drop_column": art.SOFT_DROPPED_COLUMN,
    "soft_drop_table": art.SOFT_DROPPED_TABLE,
    "alter_column_type": art.COLUMN_BACKUP,
    "drop_index": art.DROPPED_INDEX,
    "drop_primary_key": art.DROPPED_CONSTRAINT,
    "drop_foreign_key": art.DROPPED_CONSTRAINT,
    "drop_unique": art.DROPPED_CONSTRAINT,
    "drop_check": art.DROPPED_CONSTRAINT,
}


def capture(op: Operation, conn: psycopg.Connection, ctx: StepContext) -> None:
    """Run ``op`` and record what it removed, on the step's connection (so in its transaction)."""
    kind = CAPTURED[op.kind]
    backup = _backup_before_type_change(op, conn) if isinstance(op, AlterColumnType) else None
    run_statements(op, conn, ctx)
    fields: dict[str, Any] = {"physical_name": None, "row_count": None}
    if isinstance(op, SoftDropColumn):
        table = qualified(*split_qualified(op.table))
        checksum, rows = art.data_checksum(conn, table, (op.physical_name,))
        fields = {"physical_name": f"{table}.{op.physical_name}", "checksum": checksum, "row_count": rows}
    elif isinstance(op, SoftDropTable):
        checksum, rows = art.data_checksum(conn, op.aside)
        fields = {"physical_name": op.aside, "checksum": checksum, "row_count": rows}
    elif kind == art.COLUMN_BACKUP:
        if backup is None:
            return  # no primary key to key the copy on: documented, nothing kept
        checksum, rows = art.data_checksum(conn, backup.physical_name)
        fields = {"physical_name": backup.physical_name, "checksum": checksum, "row_count": rows}
    recovery_sql = backup.recovery_sql if backup else op.reverse().sql()
    if kind not in art.DATA_KINDS:
        fields["checksum"] = art.text_checksum(recovery_sql)
    art.record(
        conn,
        ctx.ledger_schema,
        migration_id=ctx.migration_id,
        step_index=ctx.step_index,
        kind=kind,
        source=op.target,
        recovery_sql=recovery_sql,
        retention_days=ctx.retention_days,
        **fields,
    )


for _kind in CAPTURED:
    register_executor(_kind)(capture)


@dataclass(frozen=True)
class _Backup:
    physical_name: str
    recovery_sql: str


def _backup_before_type_change(op: AlterColumnType, conn: psycopg.Connection) -> _Backup | None:
    """Copy (primary key, column) aside before the type changes; None when the table has no key."""
    table, column = op.table, op.column
    schema, bare = split_qualified(table)
    key = primary_key_columns(conn, table)
    if not key or column in key:
        return None
    digest = hashlib.sha256(f"{table}.{column}.{op.type}".encode()).hexdigest()[:8]
    name = f"{RESERVED_PREFIX}bak_{digest}_{bare}"[:63]
    physical = f"{schema}.{name}"
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in (*key, column))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(art.table_ident(physical)))
    conn.execute(
        sql.SQL("CREATE TABLE {} AS SELECT {} FROM {}").format(art.table_ident(physical), cols, art.table_ident(table))
    )
    match = sql.SQL(" AND ").join(sql.SQL("t.{k} = b.{k}").format(k=sql.Identifier(k)) for k in key)
    restore_values = sql.SQL("UPDATE {} AS t SET {c} = b.{c} FROM {} AS b WHERE {}").format(
        art.table_ident(table), art.table_ident(physical), match, c=sql.Identifier(column)
    )
    script = [op.reverse().sql(), restore_values.as_string(None) + ";", *_dependent_definitions(conn, table, column)]
    return _Backup(physical, "\n".join(script))


def _dependent_definitions(conn: psycopg.Connection, table: str, column: str) -> list[str]:
    """Statements that put back, as they were, the default, checks and indexes that use ``column``.

    PostgreSQL re-parses them when a column's type changes and stores the re-printed text (``price >=
    0`` becomes ``(price)::numeric >= (0)::numeric``); changing the type back leaves that text, so a
    faithful restore re-creates them from the definitions taken before the change.
    """
    ident = art.table_ident(table).as_string(None)
    rows = conn.execute(
        "SELECT 'default', pg_get_expr(d.adbin, d.adrelid), NULL FROM pg_attrdef d"
        " JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
        " WHERE d.adrelid = %(t)s::regclass AND a.attname = %(c)s AND a.attgenerated = ''"
        " UNION ALL"
        " SELECT 'check', pg_get_constraintdef(k.oid), k.conname FROM pg_constraint k"
        " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)"
        " WHERE k.conrelid = %(t)s::regclass AND k.contype = 'c' AND a.attname = %(c)s"
        " UNION ALL"
        " SELECT 'index', pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i"
        " WHERE i.indrelid = %(t)s::regclass AND NOT i.indisprimary AND NOT i.indisunique"
        " AND i.indexprs IS NOT NULL AND EXISTS (SELECT 1 FROM pg_depend dep JOIN pg_attribute a"
        "  ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid"
        "  WHERE dep.classid = 'pg_class'::regclass AND dep.objid = i.indexrelid AND a.attname = %(c)s)",
        {"t": ident, "c": column},
    ).fetchall()
    out: list[str] = []
    for what, definition, name in rows:
        if what == "default":
            out.append(
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}")
                .format(art.table_ident(table), sql.Identifier(column), sql.SQL(definition))
                .as_string(None)
                + ";"
            )
        elif what == "check":
            out.append(
                sql.SQL("ALTER TABLE {t} DROP CONSTRAINT {n}; ALTER TABLE {t} ADD CONSTRAINT {n} {d}")
                .format(t=art.table_ident(table), n=sql.Identifier(name), d=sql.SQL(definition))
                .as_string(None)
                .replace("; ", ";\n")
                + ";"
            )
        else:
            out.append(f"DROP INDEX {name};\n{definition};")
    return out


def primary_key_columns(conn: psycopg.Connection, table: str) -> tuple[str, ...]:
    schema, bare = split_qualified(table)
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
        " WHERE i.indisprimary AND n.nspname = %s AND c.relname = %s ORDER BY k.pos",
        (schema, bare),
    ).fetchall()
    return tuple(r[0] for r in rows)


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
    if days <= 0:
        raise ZanithError("--days must be a positive number of days")
    require(conn, ledger_schema, artifact_id)
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
