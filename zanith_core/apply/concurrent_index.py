"""What an interrupted ``CREATE INDEX CONCURRENTLY`` leaves behind, and how a resumed apply cleans it.

A concurrent build commits the index's catalog entry first and fills it in later transactions; a crash,
a cancel or an error in between leaves an INVALID index (``pg_index.indisvalid = false``) that writes
still maintain but no query uses, and that makes a plain re-run fail with "already exists". The runner
calls :func:`clean_interrupted_index_builds` before re-running a step whose earlier run did not finish.

The indexes a step builds are found by parsing its SQL with the real PostgreSQL parser (pglast), so
hand-written ``raw_sql`` steps are covered exactly like generated ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
import psycopg
from pglast import ast
from psycopg import sql

from ..ops.base import Operation


@dataclass(frozen=True)
class IndexBuild:
    """``CREATE INDEX CONCURRENTLY name ON [schema.]table``, as found in a step's SQL."""

    name: str
    table_schema: str | None
    table: str


def concurrent_index_builds(op: Operation) -> tuple[tuple[IndexBuild, ...], bool]:
    """The named concurrent index builds in ``op``'s SQL, and whether that is all the op does."""
    try:
        statements = pglast.parse_sql(op.sql())
    except pglast.parser.ParseError:
        return (), False  # SQL this parser does not know cannot be a build we could clean up after
    builds: list[IndexBuild] = []
    only_builds = True
    for raw in statements:
        stmt = raw.stmt
        table = stmt.relation if isinstance(stmt, ast.IndexStmt) else None
        if isinstance(stmt, ast.IndexStmt) and stmt.concurrent and stmt.idxname and table and table.relname:
            builds.append(IndexBuild(stmt.idxname, table.schemaname, table.relname))
        else:
            only_builds = False
    return tuple(builds), only_builds and bool(builds)


def clean_interrupted_index_builds(conn: psycopg.Connection, op: Operation) -> bool:
    """Drop the INVALID indexes ``op``'s builds left; True when the op has nothing left to do.

    That is the case when the op only builds indexes and every one of them exists and is valid: the
    build finished before the process died, only the ledger's final row is missing.
    """
    builds, only_builds = concurrent_index_builds(op)
    finished = True
    for build in builds:
        table = sql.Identifier(*filter(None, (build.table_schema, build.table))).as_string(conn)
        row = conn.execute(
            "SELECT n.nspname, i.indisvalid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE i.indrelid = to_regclass(%s) AND c.relname = %s",
            (table, build.name),
        ).fetchone()
        if row is None:
            finished = False
        elif not row[1]:
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(row[0], build.name)))
            finished = False
    return only_builds and finished
