"""Two ``zanith apply`` processes at once: serialised by the advisory lock, every step once in the ledger."""

from __future__ import annotations

import json

import psycopg
import pytest
from support import applied_ids, apply_backends, project, step_rows, wait_until, write_sql_migration, zanith_spawn

pytestmark = pytest.mark.slow


def hold_first_apply_in_step_2(zanith_db, tmp_path):  # type: ignore[no-untyped-def]
    """Project whose migration's step 2 waits for a table lock the returned transaction holds."""
    conn = zanith_db.conn
    conn.execute("CREATE TABLE ran (step int); CREATE TABLE gate (id int)")
    proj = project(tmp_path, lock_timeout=120.0)
    folder = proj / "migrations"
    write_sql_migration(folder, "0001_a", "INSERT INTO ran VALUES (1)", "LOCK TABLE gate", "INSERT INTO ran VALUES (2)")
    write_sql_migration(folder, "0002_b", "INSERT INTO ran VALUES (3)")
    holder = psycopg.connect(zanith_db.url)
    holder.execute("LOCK TABLE gate IN ACCESS SHARE MODE")
    return proj, holder


def test_two_concurrent_applies_are_serialised_and_each_step_runs_once(zanith_db, tmp_path):
    conn = zanith_db.conn
    proj, holder = hold_first_apply_in_step_2(zanith_db, tmp_path)
    args = ["apply", "--database-url", zanith_db.url, "--wait", "120", "--json"]
    try:
        first = zanith_spawn(*args, project=proj)
        wait_until(lambda: apply_backends(conn, "LOCK TABLE gate%"), what="the first apply to hold the lock")
        second = zanith_spawn(*args, project=proj)
        # The second one is connected and polling for the apply lock while the first one is mid-migration.
        wait_until(lambda: len(apply_backends(conn)) == 2, what="the second apply to connect")
        assert second.poll() is None
        assert step_rows(conn) == [("0001_a", 1, "done", None)]
    finally:
        holder.rollback()
        holder.close()
    out_first, err_first = first.communicate(timeout=120)
    out_second, err_second = second.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (0, 0), (err_first, err_second)
    reports = [json.loads(out_first), json.loads(out_second)]
    assert reports[0]["applied"] == ["0001_a", "0002_b"]
    assert reports[1]["applied"] == [] and reports[1]["already_applied"] == ["0001_a", "0002_b"]
    assert [r[0] for r in conn.execute("SELECT step FROM ran ORDER BY step").fetchall()] == [1, 2, 3]
    assert [r[:3] for r in step_rows(conn)] == [
        ("0001_a", 1, "done"),
        ("0001_a", 2, "done"),
        ("0001_a", 3, "done"),
        ("0002_b", 1, "done"),
    ]
    assert applied_ids(conn) == ["0001_a", "0002_b"]


def test_without_wait_the_second_apply_exits_1_naming_the_running_one(zanith_db, tmp_path):
    conn = zanith_db.conn
    proj, holder = hold_first_apply_in_step_2(zanith_db, tmp_path)
    try:
        first = zanith_spawn("apply", "--database-url", zanith_db.url, project=proj)
        (pid, _, _), *_ = wait_until(lambda: apply_backends(conn, "LOCK TABLE gate%"), what="the first apply")
        second = zanith_spawn("apply", "--database-url", zanith_db.url, "--wait", "0.5", project=proj)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert err.count("\n") == 1 and err.startswith(f"error: another apply is running (pid {pid}, since ")
        assert "wait with --wait SECONDS or check `zanith status`" in err
    finally:
        holder.rollback()
        holder.close()
    first.communicate(timeout=120)
    assert first.returncode == 0
