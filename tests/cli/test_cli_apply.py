"""`zanith apply | status | history | show`: exit codes, JSON shapes, one-line errors, privileges."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from support import project, write_sql_migration, zanith, zanith_process


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    folder = project(tmp_path)
    write_sql_migration(folder / "migrations", "0001_users", "CREATE TABLE users (id bigint PRIMARY KEY)")
    write_sql_migration(folder / "migrations", "0002_email", "ALTER TABLE users ADD COLUMN email text")
    return folder


def test_apply_then_status_history_and_show(zanith_db, proj: Path):
    url = ["--database-url", zanith_db.url]
    applied = zanith("apply", *url, project=proj)
    assert applied.exit_code == 0, applied.output
    assert "0001_users step 1/1" in applied.output and "applied 2 migrations" in applied.output

    status = json.loads(zanith("status", *url, "--json", project=proj).output)
    assert [a["id"] for a in status["applied"]] == ["0001_users", "0002_email"]
    assert status["pending"] == [] and status["failed_step"] is None and status["edited"] == []

    history = json.loads(zanith("history", *url, "--json", project=proj).output)
    assert [m["id"] for m in history["migrations"]] == ["0001_users", "0002_email"]
    step = history["migrations"][1]["steps"][0]
    assert {"step_index", "op_kind", "status", "risk_level", "risk_score", "seconds", "error"} <= set(step)
    assert step["status"] == "done" and step["op_kind"] == "raw_sql"

    shown = json.loads(zanith("show", "0002_email", *url, "--json", project=proj).output)
    assert shown["steps"][0]["sql"].startswith("ALTER TABLE users ADD COLUMN email text")
    assert shown["snapshot"]["tables"] == ["public.users"] and shown["snapshot"]["columns"] == 2
    human = zanith("show", "0002_email", *url, project=proj)
    assert human.exit_code == 0 and "snapshot after: 1 tables, 2 columns" in human.output


def test_apply_json_shape_and_nothing_to_do(zanith_db, proj: Path):
    first = json.loads(zanith("apply", "--database-url", zanith_db.url, "--json", project=proj).output)
    assert set(first) == {
        "ok", "dry_run", "replanned", "applied", "already_applied", "waiting", "planned", "steps", "failure"
    }  # fmt: skip
    assert first["ok"] and first["applied"] == ["0001_users", "0002_email"]
    again = zanith("apply", "--database-url", zanith_db.url, "--json", project=proj)
    assert again.exit_code == 0 and json.loads(again.output)["applied"] == []


def test_the_url_comes_from_the_environment_or_the_config(zanith_db, proj: Path):
    assert zanith("apply", project=proj, env={"ZANITH_DATABASE_URL": zanith_db.url}).exit_code == 0
    other = project(proj / "other", database_url=zanith_db.url)
    for path in (proj / "migrations").glob("*.py"):
        (other / "migrations" / path.name).write_text(path.read_text())
    status = zanith("status", "--json", project=other)
    assert status.exit_code == 0 and json.loads(status.output)["pending"] == []


def test_no_url_configured_is_an_error_never_the_embedded_server(proj: Path):
    result = zanith("apply", project=proj)
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: no target database configured")


def test_a_failed_step_exits_5_and_status_shows_it(zanith_db, proj: Path):
    write_sql_migration(proj / "migrations", "0003_bad", "SELECT 1", "SELECT 1/0", "SELECT 3")
    result = zanith("apply", "--database-url", zanith_db.url, "--json", project=proj)
    assert result.exit_code == 5
    report = json.loads(result.stdout)
    assert report["failure"]["step_index"] == 2 and "division by zero" in report["failure"]["error"]
    assert result.stderr.startswith("error: migration 0003_bad step 2/3") and result.stderr.count("\n") == 1
    status = json.loads(zanith("status", "--database-url", zanith_db.url, "--json", project=proj).output)
    assert status["pending"] == ["0003_bad"]
    assert status["failed_step"]["step_index"] == 2 and "division by zero" in status["failed_step"]["error"]
    human = zanith("status", "--database-url", zanith_db.url, project=proj)
    assert "unfinished: 0003_bad step 2 (raw_sql) failed" in human.output


def test_dry_run_prints_the_sql_and_touches_nothing(zanith_db, proj: Path):
    result = zanith("apply", "--database-url", zanith_db.url, "--dry-run", project=proj)
    assert result.exit_code == 0
    assert "CREATE TABLE users (id bigint PRIMARY KEY)" in result.output
    assert "ALTER TABLE users ADD COLUMN email text" in result.output
    assert zanith_db.conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '%zanith%'").fetchone() == (0,)


def test_budget_refusal_exits_3(zanith_db, proj: Path):
    zanith_db.conn.execute("CREATE TABLE big (id int)")
    write_sql_migration(proj / "migrations", "0003_retype", "ALTER TABLE big ALTER COLUMN id TYPE bigint")
    result = zanith("apply", "--database-url", zanith_db.url, "--budget", "1", project=proj)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: plan refused") and "0003_retype step 1" in result.stderr
    assert zanith_db.conn.execute("SELECT to_regclass('zanith._zanith_migrations')").fetchone() == (None,)


def test_edited_applied_migration_is_refused_naming_it(zanith_db, proj: Path):
    assert zanith("apply", "--database-url", zanith_db.url, project=proj).exit_code == 0
    write_sql_migration(proj / "migrations", "0001_users", "CREATE TABLE users (id int PRIMARY KEY)")
    result = zanith("apply", "--database-url", zanith_db.url, project=proj)
    assert result.exit_code == 1
    assert "error: migration 0001_users" in result.output and "0001_users.py" in result.output
    status = json.loads(zanith("status", "--database-url", zanith_db.url, "--json", project=proj).output)
    assert status["edited"] == ["0001_users"]


def test_history_risk_profile(zanith_db, proj: Path):
    zanith("apply", "--database-url", zanith_db.url, project=proj)
    result = zanith("history", "--database-url", zanith_db.url, "--risk-profile", "--json", project=proj)
    rows = json.loads(result.output)["risk_profile"]
    assert rows and set(rows[0]) == {"day", "reason", "steps", "max_score", "avg_score"}
    assert sum(r["steps"] for r in rows) >= 2


def test_show_an_unknown_migration_is_an_error(zanith_db, proj: Path):
    result = zanith("show", "nope", "--database-url", zanith_db.url, project=proj)
    assert result.exit_code == 1 and "is not in the ledger" in result.output


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/nowhere", "host=127.0.0.1 port=notaport"])
def test_bad_url_is_a_one_line_error_without_traceback(proj: Path, url: str):
    result = zanith_process("apply", "--database-url", url, project=proj)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_python_dash_m_runs_the_command(zanith_db, proj: Path):
    result = zanith_process("apply", "--database-url", zanith_db.url, "--json", project=proj)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["applied"] == ["0001_users", "0002_email"]


@pytest.fixture
def unprivileged_url(zanith_db):  # type: ignore[no-untyped-def]
    role = f"zanith_noperm_{secrets.token_hex(4)}"
    conn = zanith_db.conn
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    try:
        yield make_conninfo(zanith_db.url, user=role)
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_role_without_privileges_gets_a_clear_error(unprivileged_url: str, proj: Path):
    result = zanith("apply", "--database-url", unprivileged_url, project=proj)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: role 'zanith_noperm_")
    assert "cannot create the zanith ledger in schema 'zanith'" in line and "grant it USAGE and CREATE" in line


def test_a_role_that_cannot_read_the_ledger_gets_a_clear_error(zanith_db, unprivileged_url: str, proj: Path):
    assert zanith("apply", "--database-url", zanith_db.url, project=proj).exit_code == 0
    zanith_db.conn.execute("REVOKE ALL ON zanith._zanith_migrations FROM PUBLIC")
    result = zanith("status", "--database-url", unprivileged_url, project=proj)
    assert result.exit_code == 1
    assert "cannot read the zanith ledger in schema 'zanith'" in result.output


def test_apply_consumes_a_reviewed_plan_and_refuses_it_once_the_target_changed(zanith_db, proj: Path):
    url = ["--database-url", zanith_db.url]
    reviewed = proj / "plan.json"
    written = zanith("plan", *url, "--json", project=proj)
    assert written.exit_code == 0, written.output
    reviewed.write_text(written.output)
    zanith_db.conn.execute("CREATE TABLE hotfix (n int)")  # someone changed the target since the review

    stale = zanith("apply", *url, "--plan", str(reviewed), project=proj)
    assert stale.exit_code == 3, stale.output
    assert "the plan is stale: target schema changed since the plan was made" in stale.output
    assert "nothing was written" in stale.output and "--replan" in stale.output
    assert zanith_db.conn.execute("SELECT to_regclass('zanith._zanith_migrations')").fetchone() == (None,)

    replanned = zanith("apply", *url, "--plan", str(reviewed), "--replan", "--json", project=proj)
    assert replanned.exit_code == 0, replanned.output
    assert json.loads(replanned.output)["replanned"] is True
    assert json.loads(replanned.output)["applied"] == ["0001_users", "0002_email"]


def test_a_fresh_reviewed_plan_is_applied_as_it_was_scored(zanith_db, proj: Path):
    url = ["--database-url", zanith_db.url]
    reviewed = proj / "plan.json"
    reviewed.write_text(zanith("plan", *url, "--json", project=proj).output)
    applied = zanith("apply", *url, "--plan", str(reviewed), "--json", project=proj)
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output)["replanned"] is False
    scored = json.loads(reviewed.read_text())["migrations"][1]["steps"][0]
    recorded = zanith_db.conn.execute(
        "SELECT risk_score, risk_reasons FROM zanith._zanith_migration_steps WHERE migration_id = '0002_email'"
    ).fetchone()
    assert recorded == (scored["score"], scored["reasons"])
    broken = zanith("apply", *url, "--plan", str(proj / "pyproject.toml"), project=proj)
    assert broken.exit_code == 1 and "cannot read the plan" in broken.output


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
@pytest.mark.parametrize("command", [("apply",), ("recover", "purge", "--expired"), ("resolve", "0001_users")])
def test_a_wait_that_would_poll_for_ever_is_a_usage_error(zanith_db, proj: Path, command: tuple[str, ...], value: str):
    result = zanith(*command, "--wait", value, "--database-url", zanith_db.url, project=proj)
    assert result.exit_code == 2
    assert "--wait" in result.stderr and "is not a number of seconds (0 or more, finite)" in result.stderr
    assert zanith_db.conn.execute("SELECT to_regclass('_zanith_migrations')").fetchone() == (None,)


def test_apply_prints_whom_a_step_waits_for_and_gives_up_at_the_configured_budget(zanith_db, tmp_path: Path):
    folder = project(tmp_path, lock_wait_budget=1)
    write_sql_migration(folder / "migrations", "0001_email", "ALTER TABLE users ADD COLUMN email text")
    zanith_db.conn.execute("CREATE TABLE users (id bigint PRIMARY KEY)")
    with psycopg.connect(zanith_db.url) as blocker:
        blocker.execute("SELECT * FROM users")  # an open transaction holding a lock the step conflicts with
        pid = blocker.info.backend_pid
        result = zanith("apply", "--database-url", zanith_db.url, project=folder)
        blocker.rollback()
    assert result.exit_code == 5
    assert (
        f"0001_email step 1/1 raw_sql ALTER TABLE users ADD COLUMN email text: waiting for pid {pid} (" in result.stdout
    )
    assert f"failed: waited 1s (lock_wait_budget) for pid {pid} (idle in transaction for " in result.stderr
