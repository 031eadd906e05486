"""SQL given as a value — a type for ``--online-retype``, an expression for ``--using`` — is exactly that.

Such a value is pasted into the migration files zanith writes (``ADD COLUMN new <type>``, ``UPDATE ...
SET new = <expr>``, the dual-write trigger). Pasted unchecked, ``--online-retype
'customers.email=int; DROP TABLE orders'`` or ``--using "note::int); DROP TABLE payments; --"`` became a
migration whose plan looked fine and whose apply failed half-way. So each value is parsed with
PostgreSQL's parser (pglast): a type must be one type name (``SELECT NULL::<type>`` parses to exactly
that cast) and an expression one expression without subqueries (``SELECT (<expr>)`` parses to one
statement with one target and nothing else). Then :func:`check_retype` tries the change on a scratch
copy of the current schema on the shadow server: the type must exist there, and the conversions both
ways must resolve for the column. A refusal is one line with exit code 2, before any file is written.
"""

from __future__ import annotations

from dataclasses import replace

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.visitors import Visitor
from psycopg import sql

from ..errors import InvalidValue, ZanithError
from ..schema.graph import SchemaGraph
from ..servers import Server, connect
from ..sources.guard import is_bare_select
from ..sql.identifiers import qualified_identifier
from ..sql.script import schema_ddl


class FragmentRefused(InvalidValue):
    """A type or expression given as a value is not exactly one type or expression, or does not work on
    the current schema; nothing was written (exit 2, as every value refused at the edge)."""


def one_type(text: str, what: str) -> str:
    """``text`` stripped, when it parses as exactly one type name (``numeric(12,2)``, ``app.mood[]``)."""
    value = text.strip()
    stmt = _bare_select(f"SELECT NULL::{value}", value, what, "a type name")
    cast = stmt.targetList[0].val if stmt is not None and stmt.targetList else None
    if not (isinstance(cast, ast.TypeCast) and isinstance(cast.arg, ast.A_Const) and cast.arg.isnull):
        raise FragmentRefused(f"{what}: {value!r} is not a type name")
    return value


def one_expression(text: str, what: str) -> str:
    """``text`` stripped, when it parses as exactly one expression (over the row) without a subquery."""
    value = text.strip()
    stmt = _bare_select(f"SELECT ({value})", value, what, "one SQL expression")
    subqueries = _SubLinks()
    if stmt is not None:
        subqueries(stmt)
    if stmt is None or subqueries.found:
        why = "it holds a subquery (put a lookup in a function)" if subqueries.found else "it is not one expression"
        raise FragmentRefused(f"{what}: {value!r} is not one SQL expression: {why}")
    return value


def _bare_select(text: str, value: str, what: str, expected: str) -> ast.SelectStmt | None:
    """The one bare ``SELECT`` of one target ``text`` parses to, else None; a syntax error is refused."""
    if not value:
        raise FragmentRefused(f"{what}: expected {expected}, got nothing")
    try:
        parsed = parse_sql(text)
    except ParseError as exc:
        raise FragmentRefused(f"{what}: {value!r} is not {expected}: {exc.args[0]}") from None
    if len(parsed) != 1 or not isinstance(parsed[0].stmt, ast.SelectStmt):
        return None
    stmt = parsed[0].stmt
    return stmt if is_bare_select(stmt) and len(stmt.targetList or ()) == 1 else None


class _SubLinks(Visitor):
    def __init__(self) -> None:
        self.found = False

    def visit_SubLink(self, ancestors: object, node: ast.SubLink) -> None:
        self.found = True


def check_retype(
    server: Server,
    graph: SchemaGraph,
    table: str,
    column: str,
    new_column: str,
    new_type: str,
    forward: str,
    backward: str,
    *,
    using: bool,
) -> None:
    """Try the type change on a scratch copy of ``graph`` on ``server``, in a transaction rolled back:
    add ``new_column`` of ``new_type`` to ``table``, then plan ``forward`` into it and ``backward`` into
    ``column`` (what the backfill and the dual-write trigger do). Raises :class:`FragmentRefused` saying
    which part the server rejected (``using``: ``forward`` came from ``--using``)."""
    # Only what types and expressions resolve against: grants, policies and comments may name roles the
    # shadow server lacks, and say nothing about a type or a cast.
    shape = replace(graph, privileges=(), policies=(), comments=())
    target = qualified_identifier(table)
    old_ident, new_ident = sql.Identifier(column), sql.Identifier(new_column)
    steps = [
        (sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(target, new_ident, sql.SQL(new_type)), "the new type"),
        (sql.SQL("EXPLAIN UPDATE {} SET {} = ({})").format(target, new_ident, sql.SQL(forward)), "forward"),
        (sql.SQL("EXPLAIN UPDATE {} SET {} = ({})").format(target, old_ident, sql.SQL(backward)), "backward"),
    ]
    with server.scratch_database(prefix="zanith_retype") as url, connect(url) as conn:
        for statement in schema_ddl(shape):
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                raise ZanithError(
                    f"cannot try the type change on the shadow server: loading the current schema failed: "
                    f"{_message(exc)}"
                ) from None
        with conn.transaction(force_rollback=True):
            for statement, part in steps:
                try:
                    conn.execute(statement)
                except psycopg.Error as exc:
                    raise FragmentRefused(
                        _refusal(part, f"{table}.{column}={new_type}", using, _message(exc))
                    ) from None


def _refusal(part: str, change: str, using: bool, message: str) -> str:
    if part == "the new type":
        return f"--online-retype {change}: {message} (on the shadow server, with the current schema)"
    if part == "forward":
        if using:
            return f"--online-retype {change}: --using does not convert the old values: {message}"
        return (
            f"--online-retype {change}: the old values cannot be converted: {message} "
            "(give --using with an expression that converts them)"
        )
    return (
        f"--online-retype {change}: values written to the new column cannot be converted back for old "
        f"clients: {message}"
    )


def _message(exc: psycopg.Error) -> str:
    return exc.diag.message_primary or str(exc).strip().splitlines()[0]


__all__ = ["FragmentRefused", "check_retype", "one_expression", "one_type"]
