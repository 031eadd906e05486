"""Replay: the schema a sequence of migrations produces, read from a scratch database.

Two stages need the schema that migrations leave behind without a target database: ``zanith generate``
(the next migration continues exactly where the written ones stop, applied anywhere or not) and a static
``zanith plan`` whose migrations hold raw SQL that declares no state operations (``apply_to`` cannot
know what such SQL does). Both ask PostgreSQL: every op's statements run on a scratch database of the
shadow server — transactional ops in a transaction each, the others in autocommit — and the schema is
introspected where asked. The database is always dropped afterwards.

This is not the audited apply: no ledger, no executors. It needs none of them, since batched backfills
and recovery artifacts leave the schema as a plain ``UPDATE`` or statement would.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import psycopg

from ..config import Config
from ..errors import ZanithError
from ..ops.base import Operation
from ..read import introspect
from ..schema.graph import SchemaGraph
from ..schema.scope import scope
from ..servers import Server, connect, resolve_server
from .migration import Migration

#: ``(migration id, step index)``; step 0 means "before the migration's first step".
Point = tuple[str, int]


class ReplayFailed(ZanithError):
    """An existing migration failed while being replayed on a scratch database."""


def run_statements(conn: psycopg.Connection, op: Operation) -> None:
    """Run ``op``'s statements on the autocommit ``conn`` as the runner would, without ledger or
    executor: a transactional op in a transaction of its own, any other statement by statement."""
    if op.transactional:
        with conn.transaction():
            for statement in op.statements():
                conn.execute(statement)
    else:
        for statement in op.statements():
            conn.execute(statement)


def replay(
    migrations: Sequence[Migration],
    config: Config,
    *,
    server: Server | None = None,
    points: Collection[Point] = (),
) -> tuple[SchemaGraph, dict[Point, SchemaGraph]]:
    """The schema after ``migrations``, and the schema at each of ``points``, read on a scratch database of
    ``server`` (default: the project's shadow server)."""
    server = server or resolve_server(config.shadow_url)
    seen: dict[Point, SchemaGraph] = {}
    with server.scratch_database(prefix="zanith_replay") as url, connect(url) as conn:

        def read() -> SchemaGraph:
            return introspect(conn, config.schemas, **scope(config))

        for migration in migrations:
            if (migration.id, 0) in points:
                seen[(migration.id, 0)] = read()
            for index, op in enumerate(migration.operations, start=1):
                try:
                    run_statements(conn, op)
                except psycopg.Error as exc:
                    raise ReplayFailed(
                        f"replaying the existing migrations failed: migration {migration.id} step {index} "
                        f"({op.kind} {op.target}): {str(exc).strip().splitlines()[0]}; fix that migration first"
                    ) from None
                if (migration.id, index) in points:
                    seen[(migration.id, index)] = read()
        return read(), seen
