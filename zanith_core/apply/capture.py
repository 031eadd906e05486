"""Capture: run an op that removes something and keep what it removed, in the step's own transaction.

The executor of the op kinds that remove something (soft drops, hard drops of indexes and constraints,
type changes): it runs the op's statements, then writes the recovery artifact row
(:mod:`zanith_core.ledger.artifacts`) on the same connection, so an artifact exists exactly when its step
committed. :mod:`zanith_core.recovery` reads those rows back to restore, verify or purge them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..ledger import artifacts as art
from ..ops.base import Operation
from ..ops.columns import AlterColumnType, SoftDropColumn
from ..ops.tables import SoftDropTable
from ..schema.graph import RESERVED_PREFIX, qualified, split_qualified
from .executors import StepContext, run_statements

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


@dataclass(frozen=True)
class _Backup:
    physical_name: str
    recovery_sql: str


def _backup_before_type_change(op: AlterColumnType, conn: psycopg.Connection) -> _Backup | None:
    """Copy (primary key, column) aside before the type changes; None when the table has no key.

    The copy takes the column's values, not its collation (``COLLATE "default"`` when it has another):
    a backup must not keep alive a collation the same migration drops."""
    table, column = op.table, op.column
    schema, bare = split_qualified(table)
    key = primary_key_columns(conn, table)
    if not key or column in key:
        return None
    digest = hashlib.sha256(f"{table}.{column}.{op.type}".encode()).hexdigest()[:8]
    name = f"{RESERVED_PREFIX}bak_{digest}_{bare}"[:63]
    physical = f"{schema}.{name}"
    collated = conn.execute(
        "SELECT a.attcollation NOT IN (0, 100) FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = %s::pg_catalog.regclass AND a.attname = %s",
        (art.table_ident(table).as_string(conn), column),
    ).fetchone()
    value: sql.Composable = sql.Identifier(column)
    if collated and collated[0]:
        value = sql.SQL('{0} COLLATE pg_catalog."default" AS {0}').format(sql.Identifier(column))
    cols = sql.SQL(", ").join([*(sql.Identifier(k) for k in key), value])
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
