"""Faults from outside a command, wherever it is when they strike: its database session killed
(``pg_terminate_backend``, as a server restart does to every session), Ctrl-C or SIGTERM, a reader
that closes the pipe.

Each ends in one line on stderr and a documented exit status, never a traceback, and an interrupted
apply leaves the ledger consistent: the next run completes (a closed pipe does not interrupt it at all).
The moment of the fault is made deterministic by the database: another session holds a lock the
command's query must wait for (the ledger, a table whose statistics the plan reads, a view
introspection reads), or a step sleeps until the test lets it go, and the fault strikes once
pg_stat_activity shows the command's session there.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import (
    applied_ids,
    apply_backends,
    project,
    step_rows,
    wait_until,
    write_sql_migration,
    zanith,
    zanith_process,
    zanith_spawn,
)

pytestmark = pytest.mark.slow

WAITING = (
    "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name LIKE 'zanith%%' AND wait_event_type = 'Lock'"
)


@pytest.fixture
def applied(zanith_db, tmp_path: Path) -> Path:
    """A project (its URL configured) whose first migration is applied and second is pending."""
    folder = project(tmp_path / "app", database_url=zanith_db.url)
    write_sql_migration(folder / "migrations", "0001_users", "CREATE TABLE users (id int)")
    assert zanith("apply", project=folder).exit_code == 0
    write_sql_migration(folder / "migrations", "0002_email", "ALTER TABLE users ADD COLUMN email text")
    zanith_db.conn.execute("CREATE TABLE tags (id int); CREATE VIEW tag_ids AS SELECT id FROM tags")
    return folder


@pytest.fixture
def blocker(zanith_db) -> Iterator[psycopg.Connection]:
    """A session whose open transaction holds the locks a test takes; rolled back at the end."""
    with psycopg.connect(zanith_db.url) as conn:
        yield conn
        conn.rollback()


def waiting_sessions(conn: psycopg.Connection) -> list[tuple[int, str]]:
    """(pid, query) of every zanith session waiting here for a lock, once there is one."""
    return wait_until(lambda: conn.execute(WAITING).fetchall(), what="a zanith session to wait for the lock")


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    return stderr.strip()


@pytest.mark.parametrize(
    ("command", "locked", "reading"),
    [
        (["status"], "zanith._zanith_migrations", "_zanith_migrations"),
        (["apply"], "zanith._zanith_migrations", "_zanith_migrations"),
        (["plan", "--database-url", "{url}"], "users", "pg_table_size"),
        (["diff", "--from", "{url}", "--to", "{url}"], "tag_ids", "pg_get_viewdef"),
    ],
    ids=["status-ledger", "apply-ledger", "plan-statistics", "diff-introspection"],
)
def test_a_session_killed_mid_command_is_a_one_line_error(
    zanith_db, applied: Path, blocker: psycopg.Connection, command: list[str], locked: str, reading: str
):
    blocker.execute(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE")
    child = zanith_spawn(*(arg.format(url=zanith_db.url) for arg in command), project=applied)
    sessions = waiting_sessions(zanith_db.conn)
    assert all(reading in query for _, query in sessions), sessions  # the fault strikes where it aims
    for pid, _ in sessions:
        zanith_db.conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    blocker.rollback()  # `diff` reads both sides at once: the other one, if it waits too, goes on
    _, stderr = child.communicate(timeout=60)

    assert child.returncode == 1
    line = one_line(stderr)
    assert line.startswith(f"error: lost the connection to the database during `zanith {command[0]}`")
    assert "(terminating connection due to administrator command)" in line
    assert line.endswith("run it again once the server is reachable")
    assert applied_ids(zanith_db.conn) == ["0001_users"]  # nothing was written


@pytest.mark.parametrize(
    ("signum", "status", "name"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_ctrl_c_or_sigterm_mid_command_is_a_one_line_interruption(
    zanith_db, applied: Path, blocker: psycopg.Connection, signum: int, status: int, name: str
):
    blocker.execute("LOCK TABLE zanith._zanith_migrations IN ACCESS EXCLUSIVE MODE")
    child = zanith_spawn("status", project=applied)
    waiting_sessions(zanith_db.conn)
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=60)

    assert child.returncode == status
    line = one_line(stderr)
    assert line.startswith(f"interrupted by {name} during `zanith status`")
    assert line.endswith("the ledger is consistent; run it again to resume")
    # The waiting query was cancelled on the server as the command unwound, before the lock was free.
    assert zanith_db.conn.execute(WAITING).fetchall() == []


@pytest.fixture
def gated(zanith_db, tmp_path: Path) -> Path:
    """A project whose one migration's third step sleeps while the table ``gate`` has a row: the first
    run is interrupted in there, and once the test empties ``gate`` the next run passes."""
    zanith_db.conn.execute("CREATE TABLE ran (step int); CREATE TABLE gate (open int); INSERT INTO gate VALUES (1)")
    folder = project(tmp_path, database_url=zanith_db.url)
    write_sql_migration(
        folder / "migrations",
        "0001_steps",
        "INSERT INTO ran VALUES (1)",
        "INSERT INTO ran VALUES (2)",
        "INSERT INTO ran SELECT 3 FROM (SELECT pg_sleep(CASE WHEN EXISTS (SELECT FROM gate) THEN 120 ELSE 0 END)) s",
        "INSERT INTO ran VALUES (4)",
    )
    return folder


def interrupted_in_the_third_step(conn: psycopg.Connection, child: subprocess.Popen[str]) -> tuple[str, str]:
    """The apply's output, once it has stopped in its third step; the ledger and data are checked."""
    stdout, stderr = child.communicate(timeout=60)
    assert "step 2/4 raw_sql INSERT INTO ran VALUES (2): done" in stdout and "step 3/4" not in stdout
    assert apply_backends(conn) == []  # the sleeping statement ended with its session
    # Steps 1 and 2 committed with their rows; step 3 rolled back whole.
    assert ran_steps(conn) == [1, 2]
    assert step_rows(conn) == [("0001_steps", 1, "done", None), ("0001_steps", 2, "done", None)]
    assert applied_ids(conn) == []
    return stdout, stderr


def assert_the_next_run_completes(conn: psycopg.Connection, folder: Path) -> None:
    conn.execute("DELETE FROM gate")
    rerun = zanith_process("apply", "--json", project=folder)
    assert rerun.returncode == 0, rerun.stderr
    assert [(s["step_index"], s["status"]) for s in json.loads(rerun.stdout)["steps"]] == [
        (1, "skipped"),
        (2, "skipped"),
        (3, "done"),
        (4, "done"),
    ]
    assert ran_steps(conn) == [1, 2, 3, 4]
    assert applied_ids(conn) == ["0001_steps"]


def ran_steps(conn: psycopg.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT step FROM ran ORDER BY step").fetchall()]


def test_sigterm_mid_step_rolls_the_step_back_and_the_next_run_completes(zanith_db, gated: Path):
    conn = zanith_db.conn
    child = zanith_spawn("apply", project=gated)
    wait_until(lambda: apply_backends(conn, "%pg_sleep%"), what="the apply to reach its third step")
    child.send_signal(signal.SIGTERM)
    _, stderr = interrupted_in_the_third_step(conn, child)
    assert child.returncode == 143
    assert one_line(stderr).startswith("interrupted by SIGTERM during `zanith apply`")
    assert_the_next_run_completes(conn, gated)


def test_a_session_killed_mid_step_is_a_one_line_error_and_the_next_run_completes(zanith_db, gated: Path):
    conn = zanith_db.conn
    child = zanith_spawn("apply", project=gated)
    ((pid, *_),) = wait_until(lambda: apply_backends(conn, "%pg_sleep%"), what="the apply to reach its third step")
    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    _, stderr = interrupted_in_the_third_step(conn, child)
    assert child.returncode == 1
    line = one_line(stderr)
    assert line.startswith("error: lost the connection during migration 0001_steps step 3: ")
    assert line.endswith("; run `zanith apply` again to resume")
    assert_the_next_run_completes(conn, gated)


def test_a_closed_stdout_does_not_stop_the_apply(zanith_db, tmp_path: Path, blocker: psycopg.Connection):
    """``zanith apply | head -1``: the reader leaves while the apply waits for a lock on the table its
    steps write, so every line after the first meets a closed pipe; the apply still runs to the end."""
    conn = zanith_db.conn
    conn.execute("CREATE TABLE ran (step int)")
    folder = project(tmp_path, database_url=zanith_db.url, lock_timeout=60)
    write_sql_migration(folder / "migrations", "0001_a", "INSERT INTO ran VALUES (1)", "INSERT INTO ran VALUES (2)")
    write_sql_migration(folder / "migrations", "0002_b", "INSERT INTO ran VALUES (3)")
    blocker.execute("LOCK TABLE ran IN ACCESS EXCLUSIVE MODE")
    child = zanith_spawn("apply", project=folder)
    waiting_sessions(conn)
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().startswith("applying to ")
    child.stdout.close()
    blocker.rollback()
    assert child.wait(timeout=60) == 0
    assert "Traceback" not in child.stderr.read()
    assert ran_steps(conn) == [1, 2, 3]
    assert step_rows(conn) == [("0001_a", 1, "done", None), ("0001_a", 2, "done", None), ("0002_b", 1, "done", None)]
    assert applied_ids(conn) == ["0001_a", "0002_b"]


def test_sigterm_inside_a_concurrent_index_build_leaves_a_running_row_the_next_run_finishes(zanith_db, tmp_path: Path):
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)")
    folder = project(tmp_path, database_url=zanith_db.url)
    write_sql_migration(folder / "migrations", "0001_index", ("CREATE INDEX CONCURRENTLY t_id ON t (id)", False))
    with psycopg.connect(zanith_db.url) as writer:
        writer.execute("INSERT INTO t VALUES (0)")  # an open transaction: the build waits for it to end
        child = zanith_spawn("apply", project=folder)
        wait_until(lambda: apply_backends(conn, "CREATE INDEX CONCURRENTLY%"), what="the index build to start")
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
        writer.rollback()

    assert child.returncode == 143, stderr  # once 1 under a loaded fresh-clone run: keep what it said
    assert one_line(stderr).startswith("interrupted by SIGTERM during `zanith apply`")
    assert apply_backends(conn) == []  # the build was cancelled on the server, not left waiting
    assert step_rows(conn) == [("0001_index", 1, "running", None)]  # as after a crash: resumed next time
    rerun = zanith_process("apply", project=folder)
    assert rerun.returncode == 0, rerun.stderr
    assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass").fetchall() == [(True,)]
    assert step_rows(conn) == [("0001_index", 1, "done", None)]
    assert applied_ids(conn) == ["0001_index"]


def test_a_deleted_working_folder_is_a_one_line_error(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    done = subprocess.run(
        ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$0" -m zanith_core.cli plan', sys.executable],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "error: the working folder no longer exists; cd to the project and run again\n"
