"""The row that broke a step on a seeded shadow: what a person needs to fix the data or the migration.

PostgreSQL names the culprit only sometimes (``Key (email)=(a@x) is duplicated.``); a NOT NULL, a CHECK
added to a table, or a type change whose cast fails on one value say only *that* some row fails. So the
failed step runs once more on the shadow, in a transaction rolled back, to get the error's fields
(SQLSTATE, table, column, constraint, detail), and the row is found from them:

- a unique or foreign key violation: PostgreSQL's detail, which names the key;
- a NOT NULL: the first row whose column is NULL;
- a CHECK: the first row for which the check's expression (read from the step's SQL) is false;
- a failed cast (class 22, data exception) in ``ALTER COLUMN … TYPE``: the first row whose value, through
  the step's ``USING`` expression or the plain cast, raises — tried row by row in a temporary function
  that catches the error.

Steps outside a transaction are not run again (a second ``CREATE INDEX CONCURRENTLY`` would leave a
second invalid index): their error's own detail is used.
"""

from __future__ import annotations

from typing import Any

import pglast
import psycopg
from pglast import ast
from pglast.enums import AlterTableType, ConstrType
from pglast.stream import RawStream
from psycopg import sql

from ..servers import connect

_TRY = """
CREATE FUNCTION pg_temp.zanith_fails(query text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN EXECUTE query; RETURN false; EXCEPTION WHEN data_exception THEN RETURN true; END $$
"""


def breaking_row(url: str, statement: str, transactional: bool, error: str) -> str | None:
    """The row (as JSON, with its table) or key that made ``statement`` fail on the shadow at ``url``."""
    if not transactional:
        return _detail(error)
    with connect(url) as conn:
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(statement)  # the step's own SQL, as the runner ran it
        except psycopg.Error as exc:
            return _from(conn, exc, statement)
    return None


def _detail(error: str) -> str | None:
    lines = [line.split(":", 1)[1].strip() for line in error.splitlines() if line.startswith("DETAIL:")]
    return lines[0] if lines else None


def _from(conn: psycopg.Connection[Any], exc: psycopg.Error, statement: str) -> str | None:
    diag, state = exc.diag, exc.sqlstate or ""
    table = sql.Identifier(diag.schema_name or "", diag.table_name) if diag.table_name else None
    if state in ("23505", "23503") or diag.message_detail:
        where = f"{diag.schema_name}.{diag.table_name}: " if diag.table_name else ""
        return f"{where}{diag.message_detail}" if diag.message_detail else None
    if state == "23502" and table is not None and diag.column_name:
        try:
            return _first(conn, table, sql.SQL("{} IS NULL").format(sql.Identifier(diag.column_name)))
        except psycopg.errors.UndefinedColumn:  # a NOT NULL column the step adds: every row breaks it
            return _first(conn, table, sql.SQL("true"))
    if state == "23514" and table is not None:
        check = _check(statement, diag.constraint_name)
        return _first(conn, table, sql.SQL("NOT ({})").format(sql.SQL(check))) if check else None
    if state.startswith("22"):
        return _failing_cast(conn, statement)
    return None


def _first(conn: psycopg.Connection[Any], table: sql.Composable, condition: sql.Composable) -> str | None:
    """``schema.table {row as JSON}`` of the first row meeting ``condition``."""
    row = conn.execute(
        sql.SQL(
            "SELECT (SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.oid = {}::regclass), row_to_json(t)::text FROM {} t WHERE {} LIMIT 1"
        ).format(sql.Literal(table.as_string(conn)), table, condition)
    ).fetchone()
    return f"{row[0]} {row[1]}" if row else None


def _commands(statement: str) -> list[tuple[ast.RangeVar, ast.AlterTableCmd]]:
    try:
        parsed = pglast.parse_sql(statement)
    except pglast.parser.ParseError:
        return []
    return [
        (raw.stmt.relation, cmd)
        for raw in parsed
        if isinstance(raw.stmt, ast.AlterTableStmt) and raw.stmt.relation is not None
        for cmd in raw.stmt.cmds or ()
        if isinstance(cmd, ast.AlterTableCmd)
    ]


def _check(statement: str, name: str | None) -> str | None:
    """The expression of the CHECK constraint ``name`` (or of the only one) the statement adds."""
    found = [
        cmd.def_
        for _, cmd in _commands(statement)
        if cmd.subtype == AlterTableType.AT_AddConstraint
        and isinstance(cmd.def_, ast.Constraint)
        and cmd.def_.contype == ConstrType.CONSTR_CHECK
    ]
    named = [c for c in found if c.conname == name] or (found if len(found) == 1 else [])
    return str(RawStream()(named[0].raw_expr)) if named and named[0].raw_expr is not None else None


def _failing_cast(conn: psycopg.Connection[Any], statement: str) -> str | None:
    """The first row whose value the statement's type change cannot convert."""
    for relation, cmd in _commands(statement):
        definition = cmd.def_
        if cmd.subtype != AlterTableType.AT_AlterColumnType or not isinstance(definition, ast.ColumnDef):
            continue
        if cmd.name is None or definition.typeName is None or relation.relname is None:
            continue
        column = sql.Identifier(cmd.name)
        value = sql.SQL(str(RawStream()(definition.raw_default))) if definition.raw_default else column
        table = sql.Identifier(*(p for p in (relation.schemaname, relation.relname) if p))
        probe = sql.SQL("SELECT ({})::{} FROM {} WHERE ctid = ").format(
            value, sql.SQL(str(RawStream()(definition.typeName))), table
        )
        with conn.transaction(force_rollback=True):
            conn.execute(_TRY)
            found = _first(
                conn,
                table,
                sql.SQL("pg_temp.zanith_fails({} || quote_literal(t.ctid))").format(sql.Literal(probe.as_string(conn))),
            )
        if found:
            return found
    return None
