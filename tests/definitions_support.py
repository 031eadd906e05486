"""Shared pieces of the definition tests: declared schemas from SQL text, generate + apply + compare."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from pathlib import Path
from typing import Any

from zanith_core.apply.runner import apply_migrations
from zanith_core.config import Config
from zanith_core.diff import diff, render
from zanith_core.generate import generate_operations, reversal
from zanith_core.migrations import Migration
from zanith_core.ops.base import Operation
from zanith_core.read import introspect
from zanith_core.schema.graph import SchemaGraph
from zanith_core.servers import Server, connect
from zanith_core.sources import load_schema

FIXTURES = Path(__file__).parent / "fixtures"
REALWORLD = FIXTURES / "realworld_schema.sql"
REALWORLD_SCHEMAS = ("app", "audit")

_ids = count(1)


def declared_from_sql(server: Server, text: str, tmp_path: Path, schemas: Sequence[str] = ("public",)) -> SchemaGraph:
    """The graph a declared ``schema.sql`` holding ``text`` normalises to (on a scratch database)."""
    path = tmp_path / f"declared_{next(_ids)}.sql"
    path.write_text(text)
    return load_schema(str(path), server=server, schemas=tuple(schemas))


def live(url: str, schemas: Sequence[str] = ("public",), **kwargs: Any) -> SchemaGraph:
    with connect(url) as conn:
        return introspect(conn, tuple(schemas), **kwargs)


def run(url: str, operations: Sequence[Operation], tmp_path: Path, schemas: Sequence[str] = ("public",)) -> None:
    """Apply ``operations`` with the production runner (each op its own transaction), failing loudly."""
    config = Config(project_dir=tmp_path, schemas=tuple(schemas), lock_timeout=5.0, lock_retries=1)
    migration = Migration(f"{next(_ids):04d}_definitions", tuple(operations))
    result = apply_migrations(url, [migration], config=config, contract=True, snapshots=False)
    assert result.failure is None, result.failure.message


def execute(url: str, operations: Sequence[Operation]) -> None:
    """Run each op's statements in a transaction of its own, without the runner (and its artifacts)."""
    with connect(url) as conn:
        for op in operations:
            with conn.transaction():
                for statement in op.statements():
                    conn.execute(statement)


def assert_same(actual: SchemaGraph, expected: SchemaGraph) -> None:
    left = diff(actual, expected)
    assert not left, "database differs from the expected schema:\n" + render(left)
    assert actual == expected


def migrate_and_back(
    url: str,
    declared: SchemaGraph,
    tmp_path: Path,
    schemas: Sequence[str] = ("public",),
    *,
    runner: bool = True,
    **generate_options: Any,
) -> tuple[Operation, ...]:
    """Generate from the database at ``url`` to ``declared``, apply, check; apply the reversal, check.

    Applies with the production runner unless ``runner`` is False; returns the generated operations.
    """
    before = live(url, schemas)
    ops = generate_operations(before, declared, **generate_options)
    assert ops, "nothing was generated"
    for step, expected in ((ops, declared), (reversal(ops), before)):
        if runner:
            run(url, step, tmp_path, schemas)
        else:
            execute(url, step)
        assert_same(live(url, schemas), expected)
    return ops


def kinds(ops: Sequence[Operation]) -> list[str]:
    return [op.kind for op in ops]


def targets(ops: Sequence[Operation]) -> list[tuple[str, str]]:
    return [(op.kind, op.target) for op in ops]
