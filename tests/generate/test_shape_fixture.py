"""A pg_dump-style fixture of the shapes a diff could hide (tests/fixtures/shape_schema.sql): column
order that a view and a ``RETURNS SETOF`` function see, storage parameters of tables, keys and indexes,
an unlogged table, an exclusion constraint with parameters — generated from empty, applied, and judged
by pg_dump (tests/judge.py) against the dump loaded directly."""

from __future__ import annotations

from pathlib import Path

from convergence import migrated

from zanith_core.servers import Server

FIXTURE = Path(__file__).parents[1] / "fixtures" / "shape_schema.sql"


def test_the_shape_fixture_round_trips_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    with migrated(zanith_shadow, "", FIXTURE.read_text(), tmp_path) as (_url, ops):
        assert "reorder_columns" not in [op.kind for op in ops]
