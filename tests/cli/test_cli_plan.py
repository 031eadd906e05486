"""`zanith plan` (exit 0 / 3 / 1, table and JSON) and `zanith explain`; the budget checks are in tests/pytest_zanith."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest
from support import LEDGER, project, write_module, zanith
from verify_support import harmless_rule, unlogged_project

from zanith_core import ledger
from zanith_core.migrations import Migration
from zanith_core.ops import AddColumn, AddIndex, CreateTable, DropColumn
from zanith_core.read import introspect
from zanith_core.risk.catalog import GATES, LEVELS, OP_KINDS, REASONS
from zanith_core.schema.graph import Column, Index, PrimaryKey, Table

HARMLESS = harmless_rule("set_persistence", "unlogged_is_harmless")

USERS = Table(
    "public",
    "users",
    columns=(Column("id", "bigint", nullable=False), Column("name", "text")),
    primary_key=PrimaryKey("users_pkey", ("id",)),
)
CREATE = Migration("0001_users", (CreateTable(USERS),))
SAFE = Migration(
    "0002_email",
    (
        AddColumn("public.users", Column("email", "text")),
        AddIndex("public.users", Index("users_email_idx", ("email",), columns=("email",))),
    ),
)
RISKY = Migration("0003_drop_name", (DropColumn("public.users", Column("name", "text")),))


def test_plan_within_budget_exits_0_with_a_table(tmp_path: Path) -> None:
    result = zanith("plan", "--budget", "35", project=project(tmp_path, CREATE, SAFE))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "plan: 2 migration(s), 3 step(s), budget 35, static defaults"
    assert "migration 0002_email" in lines
    assert any(line.split()[:3] == ["2", "add_index", "public.users.users_email_idx"] for line in lines)
    assert lines[-1] == "verdict: ok"


def test_plan_over_budget_exits_3_and_marks_the_step(tmp_path: Path) -> None:
    result = zanith("plan", "--budget", "35", project=project(tmp_path, CREATE, SAFE, RISKY))
    assert result.exit_code == 3, result.output
    marked = [line for line in result.output.splitlines() if line.startswith("!")]
    assert len(marked) == 1 and "drop_column" in marked[0] and "80" in marked[0]
    assert "  ! 0003_drop_name step 1 (drop_column public.users.name): score 80" in result.output


@pytest.mark.parametrize("no_color", [None, ""])  # an empty NO_COLOR is as good as unset (no-color.org)
def test_plan_marks_the_step_in_colour_at_a_terminal_never_faint(tmp_path: Path, no_color: str | None) -> None:
    folder = project(tmp_path, CREATE, SAFE, RISKY)
    result = zanith("plan", "--budget", "35", project=folder, color=True, env={"NO_COLOR": no_color})
    assert result.exit_code == 3, result.output
    assert "\x1b[31m" in result.output  # red
    assert "\x1b[2m" not in result.output  # faint (SGR 2) is unreadable on many terminals


def test_no_color_keeps_every_escape_out_even_at_a_terminal(tmp_path: Path) -> None:
    folder = project(tmp_path, CREATE, SAFE, RISKY)
    coloured = zanith("plan", "--budget", "35", project=folder, color=True)
    plain = zanith("plan", "--budget", "35", project=folder, color=True, env={"NO_COLOR": "1"})
    assert plain.exit_code == 3, plain.output
    assert "\x1b" not in plain.output
    assert plain.output == click.unstyle(coloured.output)


def test_plan_budget_comes_from_the_project_config(tmp_path: Path) -> None:
    folder = project(tmp_path, CREATE, SAFE, RISKY, budget=35)
    assert zanith("plan", project=folder).exit_code == 3
    assert zanith("plan", "--budget", "90", project=folder).exit_code == 0


def test_plan_json(tmp_path: Path) -> None:
    result = zanith("plan", "--budget", "35", "--json", project=project(tmp_path, CREATE, SAFE, RISKY))
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["verdict"] == "refused" and data["budget"] == 35 and data["stats"] == "static"
    assert [m["id"] for m in data["migrations"]] == ["0001_users", "0002_email", "0003_drop_name"]
    step = data["migrations"][2]["steps"][0]
    assert set(step) == {"index", "kind", "target", "sql", "level", "score", "reasons", "will_fail"}
    assert (step["kind"], step["score"], step["level"]) == ("drop_column", 80, "destructive")
    assert {g["name"] for g in data["gates"]} == set(GATES)
    assert all({"name", "passed", "detail"} <= set(g) for g in data["gates"])


def test_plan_errors_exit_1_on_one_line(tmp_path: Path) -> None:
    folder = project(tmp_path, CREATE)
    (folder / "migrations" / "0002_broken.py").write_text("id = '0002_broken'\noperations = [\n")
    result = zanith("plan", project=folder)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "0002_broken.py" in result.output
    assert len(result.output.strip().splitlines()) == 1
    unreachable = zanith("plan", "--database-url", "postgresql://u:secret@127.0.0.1:1/x", project=project(tmp_path))
    assert unreachable.exit_code == 1 and "secret" not in unreachable.output


def test_plan_baseline_skips_adopted_migrations(tmp_path: Path) -> None:
    folder = project(tmp_path, CREATE, SAFE, baseline="0001_users")
    data = json.loads(zanith("plan", "--json", project=folder).output)
    assert [m["id"] for m in data["migrations"]] == ["0002_email"]


def test_plan_against_a_database_skips_applied_and_uses_live_stats(tmp_path: Path, zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute(CREATE.operations[0].sql())
    ledger.ensure_ledger(conn, LEDGER)
    ledger.mark_applied(conn, LEDGER, CREATE.id, CREATE.checksum, introspect(conn))
    folder = project(tmp_path, CREATE, SAFE)
    result = zanith("plan", "--database-url", zanith_db.url, "--budget", "35", "--json", project=folder)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["stats"] == "live" and data["skipped"] == ["0001_users"]
    assert [m["id"] for m in data["migrations"]] == ["0002_email"]
    index_step = data["migrations"][0]["steps"][1]
    assert index_step["kind"] == "add_index" and "small_table" in index_step["reasons"]


def test_plan_observed_scores_the_steps_verify_observed(tmp_path: Path, zanith_db: Any) -> None:
    folder = unlogged_project(tmp_path, plugins=[write_module(tmp_path, HARMLESS)])  # a rewrite a plugin calls harmless
    verified = zanith("verify", "--observe", "--json", "--shadow-url", zanith_db.url, project=folder)
    assert verified.exit_code == 0, verified.output
    observations = tmp_path / "verify.json"
    observations.write_text(verified.stdout)
    predicted = json.loads(zanith("plan", "--json", project=folder).stdout)["migrations"][1]["steps"][0]
    result = zanith("plan", "--observed", str(observations), "--json", project=folder)
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)["migrations"][1]["steps"][0]
    assert "observed" not in predicted and scored["score"] > predicted["score"]
    assert "table_rewrite" in scored["reasons"] and "table_rewrite" not in predicted["reasons"]
    assert set(scored["observed"]) == {"lock", "rewritten", "seconds", "estimated_seconds", "rows_seeded", "rows_live"}
    assert (scored["observed"]["lock"], scored["observed"]["rewritten"]) == ("ACCESS EXCLUSIVE", ["public.users"])
    assert scored["observed"]["rows_seeded"] == 0 and scored["observed"]["rows_live"] is None
    text = zanith("plan", "--observed", str(observations), project=folder).output
    assert "  step 1 observed: ACCESS EXCLUSIVE, rewrote public.users, " in text
    assert "(a floor: no seeded rows to scale from)" in text and "\nnotes\n" in text


def test_plan_observed_refuses_a_file_it_cannot_use_on_one_line(tmp_path: Path, zanith_db: Any) -> None:
    folder = unlogged_project(tmp_path)
    unobserved = zanith("verify", "--json", "--shadow-url", zanith_db.url, project=folder)  # no --observe: no steps
    assert unobserved.exit_code == 0, unobserved.output
    files = {
        "missing.json": None,
        "garbled.json": "{not json",
        "unobserved.json": unobserved.stdout,
        "plan.json": zanith("plan", "--json", project=folder).stdout,
        "steps.json": json.dumps({"steps": [{"migration": "0001", "index": 1}]}),
    }
    for name, text in files.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        result = zanith("plan", "--observed", str(tmp_path / name), project=folder)
        assert result.exit_code == 2, (name, result.output)
        assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1, result.output
        assert "run `zanith verify --observe --json > verify.json` first" in result.output, result.output
        assert name in result.output


def test_explain_everything(tmp_path: Path) -> None:
    result = zanith("explain", project=project(tmp_path))
    assert result.exit_code == 0
    for code in [*REASONS, *GATES, *OP_KINDS, *(lv.name for lv in LEVELS)]:
        assert code in result.output
    data = json.loads(zanith("explain", "--json", project=tmp_path).output)
    assert set(data) == {"levels", "reasons", "gates", "op_kinds"}
    assert (len(data["levels"]), len(data["reasons"]), len(data["gates"])) == (len(LEVELS), len(REASONS), len(GATES))
    assert {k["kind"] for k in data["op_kinds"]} == set(OP_KINDS)
    drop = next(k for k in data["op_kinds"] if k["kind"] == "drop_column")
    assert (drop["score"], drop["level"]) == (80, "destructive")


def test_explain_one_code(tmp_path: Path) -> None:
    folder = project(tmp_path)
    one = zanith("explain", "table_rewrite", project=folder)
    assert one.exit_code == 0 and one.output.startswith("reasons\n  table_rewrite: ")
    both = json.loads(zanith("explain", "irreversible", "--json", project=folder).output)
    assert [r["code"] for r in both["reasons"]] == ["irreversible"]
    assert [g["name"] for g in both["gates"]] == ["irreversible"]
    assert both["levels"] == [] and both["op_kinds"] == []
    unknown = zanith("explain", "no_such_code", project=folder)
    assert unknown.exit_code == 1 and "unknown code 'no_such_code'" in unknown.output


def test_explain_includes_plugin_codes(tmp_path: Path) -> None:
    (tmp_path / "team_rules_explain.py").write_text(
        textwrap.dedent(
            """
            from zanith_core.hooks import hookimpl
            from zanith_core.risk.catalog import Reason

            @hookimpl
            def add_reason_codes():
                return [Reason("hot_table", "the table is on the hot path", "Thousands of writes a second.")]
            """
        )
    )
    folder = project(tmp_path, plugins=["team_rules_explain"])
    result = zanith("explain", "hot_table", project=folder)
    assert result.exit_code == 0 and "Thousands of writes a second." in result.output
