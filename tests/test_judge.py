"""The convergence judge (tests/judge.py) sees what a too-kind diff would miss, and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from judge import assert_converges, schema_dump

from zanith_core.servers import Server, connect

BASE = """
CREATE TABLE t (id int PRIMARY KEY, name text, price numeric(10,2) DEFAULT 0);
CREATE INDEX t_name_idx ON t (name);
COMMENT ON TABLE t IS 'things';
"""
REORDERED = BASE.replace("name text, price numeric(10,2) DEFAULT 0", "price numeric(10,2) DEFAULT 0, name text")


@pytest.fixture
def database(zanith_shadow: Server) -> Iterator[Callable[[str], str]]:
    """Make a scratch database holding some SQL (standing for one zanith migrated); all dropped after."""
    with ExitStack() as stack:

        def made(sql: str) -> str:
            url = stack.enter_context(zanith_shadow.scratch_database(prefix="zanith_judged"))
            with connect(url) as conn:
                conn.execute(sql)  # type: ignore[arg-type]
            return url

        yield made


def test_the_same_schema_converges_and_zanith_objects_do_not_count(
    zanith_shadow: Server, database: Callable[[str], str]
) -> None:
    url = database(
        BASE + "ALTER TABLE t ADD COLUMN _zanith_1a2b3c4d_legacy text;"
        "CREATE TABLE _zanith_migrations (id text PRIMARY KEY);"
    )
    assert_converges(zanith_shadow, url, BASE)
    assert any(s.startswith("CREATE TABLE public.t (") for s in schema_dump(url))


@pytest.mark.parametrize(
    ("changed", "shown"),
    [
        (REORDERED, "price numeric(10,2) DEFAULT 0,"),
        (BASE.replace("ON t (name)", "ON t (name) WITH (fillfactor = 70)"), "fillfactor"),
        (BASE.replace("name text", 'name text COLLATE "C"'), 'COLLATE pg_catalog."C"'),
        (BASE.replace("'things'", "'stuff'"), "stuff"),
    ],
    ids=["column order", "index storage parameter", "collation", "comment"],
)
def test_a_difference_a_diff_could_hide_fails_the_judge(
    zanith_shadow: Server, database: Callable[[str], str], changed: str, shown: str
) -> None:
    with pytest.raises(AssertionError, match="pg_dump differs") as failed:
        assert_converges(zanith_shadow, database(changed), BASE)
    assert shown in str(failed.value)
