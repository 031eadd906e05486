"""`zanith resolve`: each way to settle a stuck migration, and each refusal (exit code and message).

Every path checks what a broken resolve gets wrong: SQL run when none should be (or not run when it
should), a ledger row deleted instead of re-labelled, an act without its event row, a refusal that
changed something anyway.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from judge import assert_converges
from support import LEDGER, applied_ids, project, step_rows, write_source_migration, write_sql_migration, zanith
from verify_support import EMAIL, EMAIL_INDEX, raw_source
from verify_support import USERS as USERS_OP

from zanith_core.ledger.locks import lock_key

USERS = "CREATE TABLE users (id bigint PRIMARY KEY);"


def write_steps(folder: Path, mid: str, *steps: tuple[str, str | None]) -> Path:
    """A migration of raw SQL steps, each ``(forward, reverse or None)``."""
    ops = [{"kind": "raw_sql", "forward_sql": f, "reverse_sql": r, "transactional": True} for f, r in steps]
    path = folder / "migrations" / f"{mid}.py"
    path.write_text(f"id = {mid!r}\noperations = {ops!r}\n")
    return path


FAILING = (
    ("CREATE TABLE a (id int)", "DROP TABLE a"),
    ("ALTER TABLE a ADD COLUMN b int", "ALTER TABLE a DROP COLUMN b"),
    ("SELECT 1/0", None),
)


@pytest.fixture
def proj(tmp_path: Path, zanith_db: Any) -> Path:
    folder = project(tmp_path, database_url=zanith_db.url)
    write_sql_migration(folder / "migrations", "0001_users", USERS)
    write_steps(folder, "0002_bad", *FAILING)
    failed = zanith("apply", project=folder)
    assert failed.exit_code == 5, failed.output
    return folder


def events(conn: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT migration_id, action, step_index, recorded_by = current_user"
        " FROM zanith._zanith_ledger_events ORDER BY id"
    ).fetchall()


def exists(conn: Any, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone() == (True,)


def test_rolled_back_reverses_done_steps_newest_first_then_apply_runs_it_again(zanith_db, proj: Path):
    result = zanith("resolve", "0002_bad", "--rolled-back", "--json", project=proj)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["migration_id"], report["resolution"], report["fixed_by_hand"]) == ("0002_bad", "rolled_back", False)
    assert [(s["step_index"], s["before"], s["after"], s["sql"]) for s in report["steps"]] == [
        (2, "done", "reversed", "ALTER TABLE a DROP COLUMN b;"),
        (1, "done", "reversed", "DROP TABLE a;"),
        (3, "failed", "rolled_back", None),
    ]
    conn = zanith_db.conn
    assert not exists(conn, "a")
    assert_converges(zanith_db.server, zanith_db.url, USERS)  # exactly the schema before 0002_bad
    assert [r[:3] for r in step_rows(conn, "0002_bad")] == [
        ("0002_bad", 1, "reversed"), ("0002_bad", 2, "reversed"), ("0002_bad", 3, "rolled_back")
    ]  # fmt: skip
    assert events(conn) == [
        ("0002_bad", "reversed", 2, True), ("0002_bad", "reversed", 1, True), ("0002_bad", "rolled_back", None, True)
    ]  # fmt: skip
    assert len(report["events"]) == 3

    status = json.loads(zanith("status", "--json", project=proj).output)
    assert status["failed_step"] is None and status["pending"] == ["0002_bad"]
    write_steps(proj, "0002_bad", *FAILING[:2], ("SELECT 1", None))  # the cause fixed
    again = zanith("apply", project=proj)
    assert again.exit_code == 0, again.output
    assert "0002_bad step 1/3" in again.output and "applied 1 migrations" in again.output
    assert applied_ids(conn) == ["0001_users", "0002_bad"] and exists(conn, "a")


def test_rolled_back_fixed_by_hand_runs_nothing_and_records_the_steps_abandoned(zanith_db, proj: Path):
    human = zanith("resolve", "0002_bad", "--rolled-back", "--fixed-by-hand", project=proj)
    assert human.exit_code == 0, human.output
    assert human.output.startswith("migration 0002_bad: rolled back (fixed by hand)\n")
    assert "step 1: done -> abandoned" in human.output and "step 3: failed -> rolled_back" in human.output
    conn = zanith_db.conn
    assert exists(conn, "a")  # nothing ran: the person says they put the schema back themselves
    assert [r[2] for r in step_rows(conn, "0002_bad")] == ["abandoned", "abandoned", "rolled_back"]
    detail = conn.execute("SELECT action, detail FROM zanith._zanith_ledger_events").fetchall()
    assert [(a, d["fixed_by_hand"], len(d["steps"])) for a, d in detail] == [("rolled_back", True, 3)]
    assert json.loads(zanith("status", "--json", project=proj).output)["failed_step"] is None


def test_a_done_step_without_a_reversal_is_refused_and_nothing_changes(zanith_db, tmp_path: Path):
    folder = project(tmp_path, database_url=zanith_db.url)
    write_steps(folder, "0001_x", ("CREATE TABLE a (id int)", None), ("SELECT 1/0", None))
    assert zanith("apply", project=folder).exit_code == 5
    before = step_rows(zanith_db.conn)
    result = zanith("resolve", "0001_x", "--rolled-back", project=folder)
    assert result.exit_code == 3
    assert result.stderr.startswith("error: migration 0001_x step 1 (raw_sql ")
    assert "cannot be undone automatically" in result.stderr
    assert "--rolled-back --fixed-by-hand" in result.stderr
    assert step_rows(zanith_db.conn) == before and events(zanith_db.conn) == [] and exists(zanith_db.conn, "a")


def test_a_failing_reversal_exits_5_keeps_what_was_reversed_and_a_second_run_finishes(zanith_db, tmp_path: Path):
    folder = project(tmp_path, database_url=zanith_db.url)
    steps = [("CREATE TABLE a (id int)", "DROP TABLE nope"), ("CREATE TABLE b (id int)", "DROP TABLE b")]
    write_steps(folder, "0001_x", *steps, ("SELECT 1/0", None))
    assert zanith("apply", project=folder).exit_code == 5
    result = zanith("resolve", "0001_x", "--rolled-back", project=folder)
    assert result.exit_code == 5
    assert result.stderr.startswith("error: the reversal of migration 0001_x step 1 (raw_sql")
    assert 'table "nope" does not exist' in result.stderr and "run `zanith resolve` again" in result.stderr
    conn = zanith_db.conn
    assert [r[2] for r in step_rows(conn)] == ["done", "reversed", "failed"] and not exists(conn, "b")
    write_steps(folder, "0001_x", (steps[0][0], "DROP TABLE a"), steps[1], ("SELECT 1/0", None))
    assert zanith("resolve", "0001_x", "--rolled-back", project=folder).exit_code == 0
    assert [r[2] for r in step_rows(conn)] == ["reversed", "reversed", "rolled_back"] and not exists(conn, "a")
    assert [e[1:3] for e in events(conn)] == [("reversed", 2), ("reversed", 1), ("rolled_back", None)]


def test_applied_marks_it_applied_with_its_checksum_and_a_snapshot_running_nothing(zanith_db, proj: Path):
    conn = zanith_db.conn
    conn.execute("ALTER TABLE a ADD COLUMN c int")  # a person finished the job their own way
    result = zanith("resolve", "0002_bad", "--applied", "--json", project=proj)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["resolution"] == "applied"
    assert [(s["step_index"], s["before"], s["after"]) for s in report["steps"]] == [(3, "failed", "resolved")]
    assert applied_ids(conn) == ["0001_users", "0002_bad"]
    assert [r[2] for r in step_rows(conn, "0002_bad")] == ["done", "done", "resolved"]
    shown = json.loads(zanith("show", "0002_bad", "--json", project=proj).output)
    assert shown["snapshot"]["tables"] == ["public.a", "public.users"] and shown["snapshot"]["columns"] == 4
    again = zanith("apply", project=proj)  # the recorded checksum is the file's: no "edited after apply"
    assert again.exit_code == 0 and "applied 0 migrations (2 were already applied)" in again.output
    assert [e[1] for e in events(conn)] == ["applied"]


def test_forget_a_failed_migration_whose_file_was_deleted(zanith_db, proj: Path):
    (proj / "migrations" / "0002_bad.py").unlink()
    human = zanith("status", project=proj)
    assert human.exit_code == 0
    assert "unfinished: 0002_bad step 3 (raw_sql) failed" in human.output
    assert "its file is gone from" in human.output and "`zanith resolve 0002_bad --forget`" in human.output
    assert json.loads(zanith("status", "--json", project=proj).output)["failed_file_missing"] is True
    applying = zanith("apply", project=proj)
    assert applying.exit_code == 0 and applying.stderr.startswith(
        "warning: migration 0002_bad failed and its file is gone from"
    )
    assert "`zanith resolve 0002_bad --forget`" in applying.stderr

    rows = len(step_rows(zanith_db.conn))
    result = zanith("resolve", "0002_bad", "--forget", "--json", project=proj)
    assert result.exit_code == 0, result.output
    assert [(s["step_index"], s["after"]) for s in json.loads(result.output)["steps"]] == [(3, "forgotten")]
    status = json.loads(zanith("status", "--json", project=proj).output)
    assert status["failed_step"] is None and status["failed_file_missing"] is False
    assert zanith("apply", project=proj).stderr == ""
    assert len(step_rows(zanith_db.conn)) == rows  # nothing deleted
    assert [e[1] for e in events(zanith_db.conn)] == ["forgotten"]
    again = zanith("resolve", "0002_bad", "--forget", project=proj)
    assert (again.exit_code, again.stderr.strip()) == (
        3,
        "error: migration 0002_bad is already forgotten (see `zanith history`)",
    )


def test_forget_an_applied_migration_whose_file_was_deleted_lets_apply_run(zanith_db, proj: Path):
    (proj / "migrations" / "0002_bad.py").unlink()
    (proj / "migrations" / "0001_users.py").unlink()
    blocked = zanith("apply", project=proj)
    assert blocked.exit_code == 7 and "unknown to this project: 0001_users." in blocked.stderr
    assert zanith("resolve", "0001_users", "--forget", project=proj).exit_code == 0
    assert applied_ids(zanith_db.conn) == ["0001_users"]  # still applied: forgetting deletes nothing
    write_sql_migration(proj / "migrations", "0003_more", "CREATE TABLE more (id int)")
    applied = zanith("apply", project=proj)
    assert applied.exit_code == 0, applied.output
    assert "unknown to this project" not in applied.output
    assert applied_ids(zanith_db.conn) == ["0001_users", "0003_more"]
    assert json.loads(zanith("status", "--json", project=proj).output)["unknown"] == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["0002_bad", "--forget"], 3, "error: migration 0002_bad's file is still in the project ("),
        (["0001_users", "--rolled-back"], 3, "error: migration 0001_users is applied; resolve settles a failed"),
        (["0001_users", "--applied"], 3, "error: migration 0001_users is applied;"),
        (["0009_nope", "--applied"], 1, "error: migration '0009_nope' is not in the target's ledger"),
        (["0002_bad"], 2, "exactly one of --rolled-back, --applied, --forget"),
        (["0002_bad", "--applied", "--forget"], 2, "exactly one of --rolled-back, --applied, --forget"),
        (["0002_bad", "--applied", "--fixed-by-hand"], 2, "--fixed-by-hand goes with --rolled-back"),
    ],
)
def test_refusals_change_nothing(zanith_db, proj: Path, args: list[str], code: int, message: str):
    before = step_rows(zanith_db.conn)
    result = zanith("resolve", *args, project=proj)
    assert result.exit_code == code
    assert message in result.stderr
    assert step_rows(zanith_db.conn) == before and events(zanith_db.conn) == []
    assert applied_ids(zanith_db.conn) == ["0001_users"]


def test_a_deleted_file_refuses_applied_and_reversals(zanith_db, proj: Path):
    (proj / "migrations" / "0002_bad.py").unlink()
    applied = zanith("resolve", "0002_bad", "--applied", project=proj)
    assert applied.exit_code == 3 and "file is gone: restore it" in applied.stderr
    rolled = zanith("resolve", "0002_bad", "--rolled-back", project=proj)
    assert rolled.exit_code == 3 and "its reversals are unknown" in rolled.stderr and "--fixed-by-hand" in rolled.stderr
    assert events(zanith_db.conn) == []
    assert zanith("resolve", "0002_bad", "--rolled-back", "--fixed-by-hand", project=proj).exit_code == 0


def test_resolve_waits_for_the_apply_lock_and_changes_nothing_while_it_is_held(zanith_db, proj: Path):
    with psycopg.connect(zanith_db.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(LEDGER),))
        result = zanith("resolve", "0002_bad", "--rolled-back", project=proj)
        assert result.exit_code == 1 and result.stderr.startswith("error: another apply is running (pid ")
        assert exists(zanith_db.conn, "a") and events(zanith_db.conn) == []
    assert zanith("resolve", "0002_bad", "--rolled-back", project=proj).exit_code == 0


def test_rolled_back_undoes_generated_ops_through_their_executors(zanith_db, tmp_path: Path):
    """Operations as `zanith generate` writes them: the reversal of an index is a captured drop (an
    artifact row, the same executor an apply uses), the column's a drop; the judge compares pg_dumps."""
    folder = project(tmp_path, database_url=zanith_db.url)
    write_source_migration(folder / "migrations", "0001_users", [USERS_OP])
    write_source_migration(folder / "migrations", "0002_email", [EMAIL, EMAIL_INDEX, raw_source("SELECT 1/0")])
    assert zanith("apply", project=folder).exit_code == 5
    result = zanith("resolve", "0002", "--rolled-back", "--json", project=folder)
    assert result.exit_code == 0, result.output
    assert [(s["step_index"], s["after"]) for s in json.loads(result.output)["steps"]] == [
        (2, "reversed"), (1, "reversed"), (3, "rolled_back")
    ]  # fmt: skip
    assert_converges(zanith_db.server, zanith_db.url, "CREATE TABLE users (id bigint PRIMARY KEY, name text);")
    kept = zanith_db.conn.execute("SELECT migration_id, step_index, kind FROM zanith._zanith_migration_artifacts")
    assert kept.fetchall() == [("0002", 2, "dropped_index")]
