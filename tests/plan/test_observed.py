"""A plan scored from what the shadow observed (``zanith plan --observed``, issue 18 part 3): lock and
rewrite as observed, time scaled linearly from seeded to live rows, stale observations ignored.

The observations come from a real ``verify_on_shadow(..., observe=True)``; verify does not seed yet in
this suite, so the tests that need seeded rows add the ``seed`` key (and pin the step's seconds, to make
the arithmetic exact) to that real document."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from support import write_module, write_source_migration
from verify_support import USERS_INT, harmless_rule, make_project, project_config, unlogged_project

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.apply.runner import apply_migrations
from zanith_core.config import Config
from zanith_core.migrations import load_migrations
from zanith_core.plan import Observations, Plan, PlanStep, plan_project
from zanith_core.risk.observed import LARGE_SECONDS
from zanith_core.servers import Server
from zanith_core.verify import verify_on_shadow

HARMLESS = harmless_rule("set_persistence", "unlogged_is_harmless")

BIGINT = 'RawSql(forward_sql="ALTER TABLE users ALTER COLUMN id TYPE bigint")'
OBSERVED_KEYS = {"lock", "rewritten", "seconds", "estimated_seconds", "rows_seeded", "rows_live"}


def harmless_unlogged(folder: Path) -> Config:
    """A table made UNLOGGED (PostgreSQL rewrites it), which a plugin rule declares harmless."""
    return project_config(unlogged_project(folder, plugins=[write_module(folder, HARMLESS)]))


def bigint_project(folder: Path) -> Config:
    """A column widened from integer to bigint: a rewrite the model predicts."""
    make_project(
        folder,
        migrations={"0001_users": USERS_INT, "0002_bigint": [BIGINT]},
        schema_sql="CREATE TABLE users (id bigint PRIMARY KEY);\n",
    )
    return project_config(folder)


def observed(config: Config, server: Server) -> dict[str, Any]:
    """The ``zanith verify --observe --json`` document of the project."""
    verdict = verify_on_shadow(config, server=server, observe=True)
    assert verdict.ok, verdict.render()
    return verdict.to_dict()


def seeded(document: dict[str, Any], rows: int, seconds: float) -> Observations:
    """``document`` as if verify had seeded ``rows`` into users and step 0002/1 had taken ``seconds``."""
    changed = copy.deepcopy(document)
    changed["seed"] = {"kind": "synthetic", "seed": 7, "rows": {"public.users": rows}}
    (step,) = (s for s in changed["steps"] if s["index"] == 1 and s["migration"] == "0002")
    step["observed"]["seconds"] = seconds
    return Observations.from_dict(changed)


def against(db: ZanithDatabase, config: Config, rows: int) -> Config:
    """The project's config aimed at ``db``, which holds 0001 (applied, in its ledger) and ``rows`` rows,
    analysed — so 0002 is pending and planned with live statistics."""
    result = apply_migrations(db.url, load_migrations(config.migrations_dir)[:1], config=config, snapshots=False)
    assert result.ok, result.failure and result.failure.message
    db.conn.execute(f"INSERT INTO users SELECT g FROM generate_series(1, {rows}) g")
    db.conn.execute("ANALYZE users")
    return project_config(config.project_dir, database_url=db.url)


def step(plan: Plan, migration_id: str = "0002") -> PlanStep:
    return plan.step(migration_id, 1)


def test_an_observed_rewrite_the_prediction_lacked_scores_higher(tmp_path: Path, zanith_shadow: Server) -> None:
    config = harmless_unlogged(tmp_path)
    predicted = step(plan_project(config))
    scored = step(plan_project(config, observed=Observations.from_dict(observed(config, zanith_shadow))))
    assert predicted.observed is None and "table_rewrite" not in predicted.reasons
    assert scored.score > predicted.score and scored.level == "high"
    assert {"lock_blocks_reads", "table_rewrite"} <= set(scored.reasons)
    assert scored.observed is not None
    assert (scored.observed.lock, scored.observed.rewritten) == ("ACCESS EXCLUSIVE", ("public.users",))
    assert set(scored.to_dict()["observed"]) == OBSERVED_KEYS


def test_time_scales_linearly_from_seeded_to_live_rows(
    tmp_path: Path, zanith_shadow: Server, zanith_db: ZanithDatabase
) -> None:
    config = bigint_project(tmp_path)
    document = observed(config, zanith_shadow)
    target = against(zanith_db, config, 1_000_000)
    estimates = {
        (seconds, rows): step(plan_project(target, observed=seeded(document, rows, seconds))).observed
        for seconds, rows in ((0.01, 100), (0.01, 1000), (0.03, 100))
    }
    scaled = estimates[(0.01, 100)]
    assert scaled is not None and (scaled.rows_seeded, scaled.rows_live) == (100, 1_000_000)
    assert scaled.estimated_seconds == pytest.approx(100.0)
    assert [e.estimated_seconds for e in estimates.values() if e] == pytest.approx([100.0, 10.0, 300.0])


def test_an_estimate_of_a_minute_makes_a_table_large_that_statistics_call_medium(
    tmp_path: Path, zanith_shadow: Server, zanith_db: ZanithDatabase
) -> None:
    config = bigint_project(tmp_path)
    target = against(zanith_db, config, 20_000)  # medium: no size adjustment from statistics
    document = observed(config, zanith_shadow)
    predicted = plan_project(target)
    slow = plan_project(target, observed=seeded(document, 100, 0.5))  # 0.5 s * 20,000 / 100 = 100 s
    fast = plan_project(target, observed=seeded(document, 100, 0.001))  # 0.2 s: small by time, medium by rows
    assert step(slow).observed.estimated_seconds >= LARGE_SECONDS  # type: ignore[union-attr]
    assert "large_table" not in step(predicted).reasons and predicted.gate("large_table_rewrite").passed
    assert "large_table" in step(slow).reasons and step(slow).score > step(predicted).score
    assert not slow.gate("large_table_rewrite").passed
    assert step(fast).score == step(predicted).score  # never smaller than the statistics say
    assert "small_table" not in step(fast).reasons


def test_without_seeded_rows_the_observed_time_is_a_floor_with_a_note(
    tmp_path: Path, zanith_shadow: Server, zanith_db: ZanithDatabase
) -> None:
    config = bigint_project(tmp_path)
    document = observed(config, zanith_shadow)  # verify did not seed: every table had 0 rows
    result = plan_project(against(zanith_db, config, 500), observed=Observations.from_dict(document))
    scaled = step(result).observed
    assert scaled is not None and (scaled.rows_seeded, scaled.rows_live) == (0, 500)
    assert scaled.estimated_seconds == scaled.seconds
    (note,) = [n for n in result.notes if "no seeded rows to scale from" in n]
    assert (
        note.startswith("1 observed step(s) with no seeded rows") and "0002 step 1 (raw_sql ALTER TABLE users" in note
    )
    assert "a floor: no seeded rows to scale from" in result.render()


def test_a_stale_observation_is_ignored_with_a_note(tmp_path: Path, zanith_shadow: Server) -> None:
    config = harmless_unlogged(tmp_path)
    document = observed(config, zanith_shadow)
    note = 'AddColumn(table="public.users", column=Column(name="note", type="text"))'
    write_source_migration(tmp_path / "migrations", "0002_unlogged", [note])  # step 0002/1: another op now
    predicted = plan_project(config)
    scored = plan_project(config, observed=Observations.from_dict(document, origin="verify.json"))
    assert step(scored) == step(predicted) and step(scored).observed is None
    (note,) = [n for n in scored.notes if "0002 step 1" in n]
    assert (
        "stale observation ignored" in note
        and "observed raw_sql ALTER TABLE users SET UNLOGGED" in note
        and "verify.json" in note
    )
    assert step(scored, "0001").observed is not None  # the unchanged step still uses its observation


def test_the_plan_document_keeps_observations_and_notes(tmp_path: Path, zanith_shadow: Server) -> None:
    config = harmless_unlogged(tmp_path)
    document = observed(config, zanith_shadow)
    document["steps"] = [s for s in document["steps"] if s["migration"] == "0002"]  # 0001 missing
    scored = plan_project(config, observed=Observations.from_dict(document, origin="verify.json"))
    assert (
        scored.notes[0]
        == "0001 step 1 (create_table public.users): not observed in verify.json; scored from prediction"
    )
    again = Plan.from_dict(scored.to_dict())
    assert again.to_dict() == scored.to_dict() and step(again).observed == step(scored).observed


def test_a_predicted_rewrite_the_shadow_did_not_see_caps_the_score(tmp_path: Path, zanith_shadow: Server) -> None:
    config = bigint_project(tmp_path)
    document = observed(config, zanith_shadow)
    (widened,) = (s for s in document["steps"] if s["migration"] == "0002")
    assert widened["observed"]["rewritten"] == ["public.users"]  # what PostgreSQL really does
    widened["observed"]["rewritten"] = []  # edge case, by hand: as if it had been a catalog-only change
    predicted = step(plan_project(config))
    scored = step(plan_project(config, observed=Observations.from_dict(document)))
    assert {"lock_blocks_reads", "table_rewrite"} <= set(predicted.reasons) and predicted.score > 45
    assert "table_rewrite" not in scored.reasons and "lock_blocks_reads" not in scored.reasons
    assert "lock_brief" in scored.reasons and scored.score == 45 and scored.level == "moderate"
