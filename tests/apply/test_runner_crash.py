"""A real ``kill -9`` of a ``zanith apply`` process mid-migration: the next run resumes and ends consistent.

The kill points are made deterministic by the database itself: the child is killed only once
pg_stat_activity shows it inside the step we aim at (a gated sleep, or a concurrent index build waiting
for a writer's open transaction).
"""

from __future__ import annotations

import json
import os
import signal

import psycopg
import pytest
from support import (
    applied_ids,
    apply_backends,
    project,
    step_rows,
    wait_until,
    write_sql_migration,
    zanith_process,
    zanith_spawn,
)

pytestmark = pytest.mark.slow


def ran_steps(conn: psycopg.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT step FROM ran ORDER BY step").fetchall()]


def kill_when(conn: psycopg.Connection, child, query_like: str, *, waiting_on_lock: bool = False) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL ``child`` once its session runs ``query_like``; then wait for the server to drop it."""

    def inside() -> bool:
        rows = apply_backends(conn, query_like)
        return bool(rows) and (not waiting_on_lock or rows[0][1] == "Lock")

    wait_until(inside, what=f"the apply to reach {query_like!r}")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    # The server notices the dead client (client_connection_check_interval) and aborts its statement.
    wait_until(lambda: not apply_backends(conn), timeout=30, what="the killed session to end")


def test_sigkill_mid_migration_then_the_next_run_resumes_at_the_interrupted_step(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute("CREATE TABLE ran (step int); CREATE TABLE gate (open int); INSERT INTO gate VALUES (1)")
    proj = project(tmp_path)
    write_sql_migration(
        proj / "migrations",
        "0001_crash",
        "INSERT INTO ran VALUES (1)",
        "INSERT INTO ran VALUES (2)",
        # Sleeps only while `gate` has a row: the first run is killed in here, the resumed one passes.
        "INSERT INTO ran SELECT 3 FROM (SELECT pg_sleep(CASE WHEN EXISTS (SELECT FROM gate) THEN 120 ELSE 0 END)) s",
        "INSERT INTO ran VALUES (4)",
    )
    write_sql_migration(proj / "migrations", "0002_after", "INSERT INTO ran VALUES (5)")

    child = zanith_spawn("apply", "--database-url", zanith_db.url, "--json", project=proj)
    kill_when(conn, child, "%pg_sleep%")
    assert child.returncode == -signal.SIGKILL

    # Steps 1 and 2 committed with their rows; step 3 rolled back whole; nothing marked applied.
    assert ran_steps(conn) == [1, 2]
    assert step_rows(conn) == [("0001_crash", 1, "done", None), ("0001_crash", 2, "done", None)]
    assert applied_ids(conn) == []

    conn.execute("DELETE FROM gate")
    rerun = zanith_process("apply", "--database-url", zanith_db.url, "--json", project=proj)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert [(s["step_index"], s["status"]) for s in report["steps"] if s["migration_id"] == "0001_crash"] == [
        (1, "skipped"),
        (2, "skipped"),
        (3, "done"),
        (4, "done"),
    ]
    assert ran_steps(conn) == [1, 2, 3, 4, 5]  # no step ran twice
    assert [r[:3] for r in step_rows(conn)] == [("0001_crash", i, "done") for i in (1, 2, 3, 4)] + [
        ("0002_after", 1, "done")
    ]
    assert applied_ids(conn) == ["0001_crash", "0002_after"]
    snapshots = conn.execute("SELECT count(*) FROM zanith._zanith_schema_snapshots").fetchone()
    assert snapshots == (2,)


def test_sigkill_inside_a_concurrent_index_build_leaves_an_invalid_index_the_next_run_rebuilds(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute("CREATE TABLE ran (step int); CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 5000)")
    proj = project(tmp_path)
    write_sql_migration(
        proj / "migrations",
        "0001_index",
        "INSERT INTO ran VALUES (1)",
        ("CREATE INDEX CONCURRENTLY t_id ON t (id)", False),
        "INSERT INTO ran VALUES (3)",
    )
    writer = psycopg.connect(zanith_db.url)
    writer.execute("INSERT INTO t VALUES (0)")  # an open transaction: the build waits for it to end
    try:
        child = zanith_spawn("apply", "--database-url", zanith_db.url, project=proj)
        kill_when(conn, child, "CREATE INDEX CONCURRENTLY%", waiting_on_lock=True)
        assert step_rows(conn) == [("0001_index", 1, "done", None), ("0001_index", 2, "running", None)]
        valid = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('t_id')").fetchall()
        assert valid == [(False,)]  # the crash left an INVALID index behind
    finally:
        writer.rollback()
        writer.close()

    rerun = zanith_process("apply", "--database-url", zanith_db.url, project=proj)
    assert rerun.returncode == 0, rerun.stderr
    assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass").fetchall() == [(True,)]
    assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 't'").fetchone() == (1,)
    assert ran_steps(conn) == [1, 3]
    assert [r[:3] for r in step_rows(conn)] == [("0001_index", i, "done") for i in (1, 2, 3)]
    assert applied_ids(conn) == ["0001_index"]
