"""The shadow's batched replay (``apply_migrations(batch=N)``): fewer transactions, the same outcome.

Batching must be invisible in everything but time: the same ledger rows, the same failure (step, SQL,
error, steps done before it), the same schema. And it must really batch, or verify at scale stays slow.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judge import assert_same_schema
from support import LEDGER, config, examples, migration, raw, step_rows

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.apply.results import ApplyResult
from zanith_core.apply.runner import apply_migrations
from zanith_core.servers import Server

STEPS = 7


def steps(fail_at: int | None) -> list[str]:
    """``STEPS`` tables created one per step; step ``fail_at`` (from 1) references a table that is not there."""
    made = [f"CREATE TABLE t{n} (id int PRIMARY KEY, note text)" for n in range(1, STEPS + 1)]
    if fail_at is not None:
        made[fail_at - 1] = f"CREATE TABLE t{fail_at} (id int REFERENCES missing (id))"
    return made


def run(url: str, tmp_path: Path, fail_at: int | None, batch: int) -> ApplyResult:
    history = [migration("0001_first", *steps(None)[:2]), migration("0002_second", *steps(fail_at))]
    return apply_migrations(url, history, config=config(tmp_path), snapshots=False, batch=batch)


def ledger(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    rows = step_rows(conn)
    tables = conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
    return [*rows, sorted(r[0] for r in tables.fetchall())]  # type: ignore[list-item]


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fail_at=st.none() | st.integers(1, STEPS), batch=st.integers(2, STEPS + 2))
def test_a_batched_replay_ends_exactly_as_one_step_at_a_time(
    zanith_shadow: Server, tmp_path: Path, fail_at: int | None, batch: int
) -> None:
    with zanith_shadow.scratch_database("zanith_batch") as one, zanith_shadow.scratch_database("zanith_batch") as many:
        alone = run(one, tmp_path, fail_at, batch=1)
        batched = run(many, tmp_path, fail_at, batch=batch)
        assert batched.failure == alone.failure
        assert batched.applied == alone.applied
        assert [(e.migration_id, e.step_index, e.status) for e in batched.events] == [
            (e.migration_id, e.step_index, e.status) for e in alone.events
        ]
        with psycopg.connect(one, autocommit=True) as a, psycopg.connect(many, autocommit=True) as b:
            assert ledger(b) == ledger(a)
        assert_same_schema(many, one)  # judged independently: pg_dump of both, normalised


def test_steps_of_a_batch_share_one_transaction(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    result = apply_migrations(
        zanith_db.url, [migration("0001_all", *steps(None))], config=config(tmp_path), snapshots=False, batch=3
    )
    assert result.ok
    transactions = zanith_db.conn.execute(
        f"SELECT count(DISTINCT started_at) FROM {LEDGER}._zanith_migration_steps"  # now(): the transaction's start
    ).fetchone()
    assert transactions == (3,)  # steps 1-3, 4-6, 7


@pytest.mark.parametrize("transactional", [True, False])
def test_a_step_outside_the_batch_rules_runs_alone(
    zanith_db: ZanithDatabase, tmp_path: Path, transactional: bool
) -> None:
    middle = raw("CREATE INDEX CONCURRENTLY t1_note_idx ON t1 (note)", transactional=False)
    ops = [raw(s) for s in steps(None)[:3]]
    history = [migration("0001_mixed", *ops[:2], middle if not transactional else raw("SELECT 1"), ops[2])]
    result = apply_migrations(zanith_db.url, history, config=config(tmp_path), snapshots=False, batch=10)
    assert result.ok, result.failure and result.failure.message
    starts = zanith_db.conn.execute(
        f"SELECT step_index, started_at FROM {LEDGER}._zanith_migration_steps ORDER BY step_index"
    ).fetchall()
    distinct = len({s for _, s in starts})
    assert distinct == (1 if transactional else 3)  # [1, 2, 3, 4] together, or [1, 2], [3 alone], [4]
