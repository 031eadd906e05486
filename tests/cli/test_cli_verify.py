"""``zanith verify``: exit codes 0/4/5/1, the human report, the JSON document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import zanith, zanith_process
from verify_support import drifting_migrations, failing_migrations, make_project

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.verify import STAGES

UNREACHABLE = "postgresql://zanith:s3cret@127.0.0.1:1/nowhere"


@pytest.mark.parametrize(
    ("migrations", "verdict", "code"),
    [(None, "ok", 0), (drifting_migrations(), "drift", 4), (failing_migrations(), "apply_failed", 5)],
)
def test_exit_code_follows_the_verdict(
    tmp_path: Path, zanith_db: ZanithDatabase, migrations: dict[str, list[str]] | None, verdict: str, code: int
) -> None:
    project = make_project(tmp_path, migrations=migrations)
    result = zanith("verify", "--shadow-url", zanith_db.url, project=project)
    assert result.exit_code == code, result.output
    assert f"verdict: {verdict}" in result.output


def test_unreachable_exits_1_with_one_masked_line_and_no_traceback(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    proc = zanith_process("verify", "--shadow-url", UNREACHABLE, project=project)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr and "s3cret" not in proc.stdout + proc.stderr
    detail = proc.stdout.splitlines()[-1]
    assert detail.startswith("cannot connect to postgresql://zanith:***@127.0.0.1:1/nowhere")


def test_human_output_lists_the_stages_with_timings_then_the_verdict(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    project = make_project(tmp_path, migrations=drifting_migrations())
    lines = zanith("verify", "--shadow-url", zanith_db.url, project=project).output.splitlines()
    assert lines[0].startswith("shadow verify on url: database ")
    stage_lines = lines[1:5]
    assert [ln.split()[0] for ln in stage_lines] == list(STAGES)
    assert all(ln.split()[1].endswith("s") for ln in stage_lines)
    assert [ln.split()[-1] for ln in stage_lines] == ["ok", "ok", "ok", "differences"]
    assert lines[5].startswith("verdict: drift")
    assert any("column email: type character varying(100) → text" in ln for ln in lines[6:])


def test_json_document(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    project = make_project(tmp_path, migrations=failing_migrations())
    result = zanith("verify", "--shadow-url", zanith_db.url, "--json", project=project)
    assert result.exit_code == 5
    data = json.loads(result.output)
    assert data["verdict"] == "apply_failed"
    assert [(s["name"], s["ok"]) for s in data["stages"]] == [
        ("connect+reset", True),
        ("apply", False),
        ("introspect", None),
        ("diff", None),
    ]
    assert data["failure"]["migration_id"] == "0004" and data["failure"]["step_index"] == 2
    assert data["failure"]["done_steps"] == [1]
    assert data["applied"] == ["0001", "0002", "0003"]
    assert "failed at step 2 of 3" in data["detail"]


def test_shadow_url_flag_overrides_the_configured_topology(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    project = make_project(tmp_path, shadow="ephemeral", database_url=UNREACHABLE)
    result = zanith("verify", "--shadow-url", zanith_db.url, "--json", project=project)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["verdict"] == "ok" and data["shadow"].startswith(f"url: database {zanith_db.name} at ")


def test_project_error_is_one_line_exit_1(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    project = make_project(tmp_path)
    (project / "migrations" / "0009_bad.py").write_text("id = '0009'\noperations = [Nope()]\n")
    result = zanith("verify", "--shadow-url", zanith_db.url, project=project)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "0009_bad.py" in result.output
    assert len(result.output.strip().splitlines()) == 1
