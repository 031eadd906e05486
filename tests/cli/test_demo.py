"""``zanith demo``: the narrated verdicts of every stage, and nothing left behind.

One run of ``zanith demo --json`` on this session's server (the embedded one, or the server of
``ZANITH_TEST_DATABASE_URL``); every test reads the same document. The text narration at a terminal is
checked by tests/test_fresh_clone.py, which runs the README's ``zanith demo`` exactly as written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import pytest
from support import zanith

from zanith_core.cli.demo import TONES
from zanith_core.cli.tour import EXPECTED, changed_schema
from zanith_core.errors import ZanithError
from zanith_core.servers import Server, connect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(zanith_shadow: Server) -> dict[str, Any]:
    result = zanith("demo", "--json", "--shadow-url", zanith_shadow.url)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def stage(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["stages"] if s["name"] == name)


def test_every_stage_reaches_its_verdict(report: dict[str, Any]) -> None:
    assert report["ok"] is True
    assert [s["name"] for s in report["stages"]] == list(EXPECTED)
    assert {s["name"]: s["verdict"] for s in report["stages"]} == EXPECTED


def test_generate_detects_the_rename_and_makes_the_drop_soft(report: dict[str, Any]) -> None:
    generated = stage(report, "generate")
    assert generated["renames"] == ["public.addresses.line1=street"]
    assert generated["soft_drops"] == ["public.orders.note"]
    kinds = [op["kind"] for op in generated["operations"]]
    assert kinds == ["rename_column", "add_check", "validate_constraint", "soft_drop_column"]
    assert all(op["reversible"] for op in generated["operations"])


def test_plan_refuses_the_hard_drop_and_accepts_the_soft_one(report: dict[str, Any]) -> None:
    planned = stage(report, "plan")
    assert planned["budget"] == 35
    assert planned["refused"]["verdict"] == "refused"
    assert planned["refused"]["offending"] == [{"index": 4, "kind": "drop_column", "score": 80}]
    assert planned["accepted"]["verdict"] == "ok"
    assert planned["accepted"]["max_score"] <= 35
    assert [s["kind"] for s in planned["accepted"]["steps"]][-1] == "soft_drop_column"


def test_shadow_verify_runs_the_four_stages(report: dict[str, Any]) -> None:
    verified = stage(report, "verify")
    assert [s["name"] for s in verified["stages"]] == ["connect+reset", "apply", "introspect", "diff"]
    assert all(s["ok"] for s in verified["stages"])


def test_the_failed_step_is_resumed_not_rerun(report: dict[str, Any]) -> None:
    resumed = stage(report, "resume")
    failure = resumed["failure"]
    assert (failure["step_index"], failure["kind"]) == (3, "validate_constraint")
    assert "violated by some row" in failure["error"]
    assert failure["done_steps"] == [1, 2]
    assert resumed["resumed"]["skipped"] == [1, 2]
    assert resumed["resumed"]["done"] == [3, 4]


def test_the_backfill_checkpoints_every_row_and_waits_for_the_contract(report: dict[str, Any]) -> None:
    filled = stage(report, "backfill")
    assert filled["rows"] == 20_000
    assert filled["checkpoint"] == "done"
    assert filled["rows_agree"] is True
    assert filled["waiting"] == filled["migrations"][1:]
    assert filled["contract_applied"] == filled["migrations"][1:]


def test_the_soft_drop_is_verified_and_restored(report: dict[str, Any]) -> None:
    recovered = stage(report, "recover")
    assert recovered["verified"] == "intact"
    assert recovered["restored"]["source"] == "public.orders.note"
    assert recovered["restored"]["status"] == "restored"
    assert recovered["values_back"] == 2_000
    kinds = {a["kind"] for a in recovered["artifacts"]}
    assert {"soft_dropped_column", "dropped_constraint", "dropped_index"} <= kinds


def test_history_lists_every_migration_applied(report: dict[str, Any]) -> None:
    migrations = stage(report, "history")["migrations"]
    assert len(migrations) == 9
    assert all(m["applied"] for m in migrations)


def test_nothing_is_left_behind(report: dict[str, Any], zanith_shadow: Server) -> None:
    assert not Path(report["workdir"]).exists()
    with connect(zanith_shadow.url) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"zanith_demo_production_{os.getpid()}_%",)
        ).fetchall()
    assert left == []


def test_no_tone_of_the_narration_is_faint() -> None:
    """Faint (SGR 2) text is unreadable on many terminals: the narration's tones are colours and bold only."""
    for tone in TONES.values():
        assert "\x1b[2m" not in click.style("text", **tone)  # type: ignore[arg-type]


def test_a_schema_the_change_no_longer_fits_is_a_clear_error() -> None:
    with pytest.raises(ZanithError, match="line1 text NOT NULL"):
        changed_schema("CREATE TABLE t (id int);")
