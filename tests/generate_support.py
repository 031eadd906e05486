"""Shared pieces of the generate tests: load a graph into a database, run ops through the runner, read back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from zanith_core.apply.runner import apply_migrations
from zanith_core.config import Config
from zanith_core.diff import diff, render
from zanith_core.migrations import Migration
from zanith_core.ops.base import Operation
from zanith_core.read import introspect
from zanith_core.schema.graph import SchemaGraph
from zanith_core.servers import Server, connect
from zanith_core.sql.script import schema_ddl


def load(url: str, graph: SchemaGraph) -> None:
    """Create ``graph`` on the (empty) database at ``url``."""
    with connect(url) as conn:
        for statement in schema_ddl(graph):
            conn.execute(statement)


def live(url: str) -> SchemaGraph:
    with connect(url) as conn:
        return introspect(conn, ("public",))


def run(url: str, mid: str, operations: Sequence[Operation], project_dir: Path = Path(".")) -> None:
    """Apply ``operations`` as migration ``mid`` with the production runner; fail loudly on a failed step."""
    config = Config(project_dir=project_dir, lock_timeout=5.0, lock_retries=1)
    result = apply_migrations(url, [Migration(mid, tuple(operations))], config=config, contract=True)
    assert result.failure is None, result.failure.message


def assert_same(url: str, expected: SchemaGraph) -> None:
    left = diff(live(url), expected)
    assert not left, "database differs from the expected schema:\n" + render(left)


def graph_of(server: Server, ddl: str) -> SchemaGraph:
    """The canonical graph of ``ddl``, normalised by PostgreSQL on a scratch database."""
    with server.scratch_database(prefix="zanith_gen") as url:
        with connect(url) as conn:
            conn.execute(ddl)  # type: ignore[arg-type]
        return live(url)
