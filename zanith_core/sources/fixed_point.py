"""The declared schema at its fixed point: text PostgreSQL reprints is compared as it reprints itself.

PostgreSQL prints an expression the way it stored it, and printing is not always idempotent: a
``CHECK (status IN ('a', 'b'))`` on a ``varchar`` column prints as ``((status)::text = ANY
((ARRAY['a'::character varying, 'b'::character varying])::text[]))``, and that text, executed, prints
as ``... ANY (ARRAY[('a'::character varying)::text, ...])``. A migration can only execute printed text,
so the database it builds holds the second form; had the declared schema kept the first, every generate
would "fix" the check again, forever.

So after the declared scripts ran and were read back, :func:`fixed_point` executes the printed text of
the expressions that can be reprinted — CHECK constraints, column defaults, view bodies, index
predicates — in the same scratch database and reads it back, until nothing changes (a few rounds at
most). Only those texts may change; if anything else would (or the server refuses a statement), the
graph read first is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import sql

from ..diff import diff
from ..schema.graph import SchemaGraph
from ..sql.identifiers import qualified_identifier
from ..sql.indexes import create_index
from ..sql.tables import add_check

ROUNDS = 3
"""Rounds of reprinting before giving up (one is enough for every text seen so far)."""

REPRINTED = frozenset({("check", "expression"), ("column", "default"), ("view", "definition"), ("index", "predicate")})
"""(object type, attribute) of the diff that executing printed text may change."""


def fixed_point(conn: psycopg.Connection, graph: SchemaGraph, read: Callable[[], SchemaGraph]) -> SchemaGraph:
    """``graph`` (read from ``conn``'s database by ``read``) with its reprinted texts at their fixed point."""
    for _ in range(ROUNDS):
        try:
            with conn.pipeline(), conn.transaction():  # one round trip for thousands of statements
                for statement in _reprint(graph):
                    conn.execute(statement)
        except psycopg.Error:
            return graph
        again = read()
        changes = diff(graph, again)
        if not changes:
            return graph
        if any(d.action != "changed" or (d.object_type, d.attribute) not in REPRINTED for d in changes):
            return graph
        graph = again
    return graph


def _reprint(graph: SchemaGraph) -> list[sql.Composed]:
    """Statements that recreate every reprintable text from its printed form, nothing else."""
    statements: list[sql.Composed] = []
    for table in graph.tables:
        name = qualified_identifier(table.qualified_name)
        for column in table.columns:
            if column.default is not None and column.identity is None and column.generated is None:
                statements.append(
                    sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
                        name, sql.Identifier(column.name), sql.SQL(column.default)
                    )
                )
        for check in table.checks:
            statements.append(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(name, sql.Identifier(check.name)))
            statements.append(add_check(table.qualified_name, check, not_valid=not check.validated))
        for index in table.indexes:
            if index.predicate is not None:
                statements.append(sql.SQL("DROP INDEX {}").format(sql.Identifier(table.schema, index.name)))
                statements.append(create_index(table.qualified_name, index))
    for view in graph.views:
        if not view.materialized:
            body = sql.SQL(view.definition.strip().removesuffix(";"))
            statements.append(
                sql.SQL("CREATE OR REPLACE VIEW {} AS {}").format(qualified_identifier(view.qualified_name), body)
            )
    return statements
