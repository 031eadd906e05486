"""No silent no-ops: `apply`, `plan`, `status` and `verify` refuse where the project cannot be the one
the target's ledger was made by — outside a project (exit 6), or when the ledger has applied migrations
the project does not hold: a folder with fewer than it applied, or one missing (exit 7, naming them). A
broken check prints "applied 0 migrations" and exits 0, which is what the issue saw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import applied_ids, cli_env, project, step_rows, write_sql_migration, zanith


@pytest.fixture
def applied(zanith_db, tmp_path: Path) -> Path:
    """A project whose three migrations are applied to the test database."""
    folder = project(tmp_path / "app", database_url=zanith_db.url, schema_sql="CREATE TABLE users (id int);")
    write_sql_migration(folder / "migrations", "0001_users", "CREATE TABLE users (id int)")
    write_sql_migration(folder / "migrations", "0002_a", "SELECT 1")
    write_sql_migration(folder / "migrations", "0003_b", "SELECT 2")
    assert zanith("apply", project=folder).exit_code == 0
    return folder


@pytest.mark.parametrize("command", ["apply", "plan", "status"])
def test_outside_a_project_exits_6(zanith_db, applied: Path, tmp_path: Path, command: str):
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    result = zanith(command, "--database-url", zanith_db.url, project=nowhere)
    assert result.exit_code == 6, result.output
    assert result.stderr.startswith(f"error: no zanith project in {nowhere}: no pyproject.toml with [tool.zanith]")
    assert "run from the project folder or pass -C DIR" in result.stderr
    assert applied_ids(zanith_db.conn) == ["0001_users", "0002_a", "0003_b"]


def test_verify_outside_a_project_exits_6(tmp_path: Path):
    result = zanith("verify", project=tmp_path)
    assert result.exit_code == 6 and result.stderr.startswith(f"error: no zanith project in {tmp_path}")


def test_apply_from_a_folder_with_no_project_is_the_issues_case_in_a_real_process(zanith_db, applied: Path, tmp_path):
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    command = [sys.executable, "-m", "zanith_core.cli", "apply", "--database-url", zanith_db.url]
    done = subprocess.run(command, cwd=nowhere, env=cli_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 6 and "applied 0 migrations" not in done.stdout
    assert done.stderr.startswith("error: no zanith project in")


def test_fewer_migrations_than_the_ledger_applied_exits_7_and_lists_the_unknown(zanith_db, applied: Path):
    (applied / "migrations" / "0003_b.py").unlink()
    (applied / "migrations" / "0002_a.py").unlink()
    rows = step_rows(zanith_db.conn)
    result = zanith("apply", project=applied)
    assert result.exit_code == 7
    assert result.stderr.strip().startswith(
        "error: the target's ledger has 3 applied migrations and "
        f"{applied / 'migrations'} holds 1; applied in the database but unknown to this project: 0002_a, 0003_b."
    )
    assert "`zanith resolve ID --forget`" in result.stderr
    assert step_rows(zanith_db.conn) == rows  # nothing written

    planned = zanith("plan", "--database-url", zanith_db.url, project=applied)
    assert planned.exit_code == 7 and "unknown to this project: 0002_a, 0003_b." in planned.stderr

    status = zanith("status", project=applied)
    assert status.exit_code == 7
    assert "applied in the database but unknown to this project: 0002_a, 0003_b\n" in status.stdout
    data = zanith("status", "--json", project=applied)
    assert data.exit_code == 7
    shown = json.loads(data.stdout)
    assert shown["unknown"] == ["0002_a", "0003_b"] and shown["ledger_ahead"] is True


def test_an_empty_migrations_folder_in_a_project_is_refused_too(zanith_db, applied: Path):
    for path in (applied / "migrations").glob("*.py"):
        path.unlink()
    result = zanith("apply", project=applied)
    assert result.exit_code == 7 and "holds 0; applied in the database but unknown" in result.stderr


def test_one_unknown_applied_migration_blocks_even_with_as_many_files(zanith_db, applied: Path):
    """Another branch's migration applied here: the count matches, the history does not."""
    (applied / "migrations" / "0002_a.py").unlink()
    write_sql_migration(applied / "migrations", "0004_c", "SELECT 4")
    result = zanith("apply", project=applied)
    assert result.exit_code == 7
    assert "has 3 applied migrations and" in result.stderr and "holds 3;" in result.stderr
    assert "unknown to this project: 0002_a." in result.stderr
    assert applied_ids(zanith_db.conn) == ["0001_users", "0002_a", "0003_b"]
    status = zanith("status", "--json", project=applied)
    assert status.exit_code == 7
    assert json.loads(status.stdout)["unknown"] == ["0002_a"]


def test_a_fresh_project_with_no_migrations_and_an_empty_database_is_fine(zanith_db, tmp_path: Path):
    folder = project(tmp_path, database_url=zanith_db.url)
    result = zanith("status", "--json", project=folder)
    assert result.exit_code == 0 and json.loads(result.output)["ledger_ahead"] is False
    assert zanith("apply", project=folder).exit_code == 0
