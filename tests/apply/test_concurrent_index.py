"""A concurrent index build that waits for other transactions: says for whom, gives up, cleans up, resumes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
from support import config, migration, raw, step_rows, wait_until

from zanith_core.apply.results import ApplyResult, StepEvent
from zanith_core.apply.runner import apply_migrations
from zanith_core.migrations import Migration

BUILD = raw("CREATE INDEX CONCURRENTLY t_v ON t (v)", transactional=False)


def index_state(conn: psycopg.Connection) -> list[tuple[str, bool]]:
    return conn.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = 't'::regclass"
    ).fetchall()


def build(url: str, tmp_path: Path, events: list[StepEvent]) -> tuple[Migration, float, str | None]:
    m = migration("0001", BUILD)
    started = time.monotonic()
    result = apply_migrations(url, [m], config=config(tmp_path, concurrent_timeout=1.0), on_step=events.append)
    return m, time.monotonic() - started, result.failure.error if result.failure else None


def test_a_build_behind_an_old_transaction_names_it_gives_up_drops_its_invalid_index_and_resumes(
    zanith_db, tmp_path: Path
) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (v int); CREATE TABLE other (id int); INSERT INTO t VALUES (1)")
    # A report on another table with an old snapshot: the build's last phase waits for it to end.
    blocker = psycopg.connect(zanith_db.url)
    blocker.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    blocker.execute("SELECT count(*) FROM other")
    events: list[StepEvent] = []
    try:
        m, took, error = build(zanith_db.url, tmp_path, events)
        assert error is not None
        assert error.startswith(f"gave up after waiting 1s (concurrent_timeout) for pid {blocker.info.backend_pid} (")
        assert "SELECT count(*) FROM other" in error and error.endswith(
            "the INVALID index it left was dropped — end that transaction and run `zanith apply` again"
        )
        assert 1.0 <= took < 15
        waiting = [e for e in events if e.status == "waiting"]
        assert waiting and f"pid {blocker.info.backend_pid} (idle in transaction" in (waiting[0].detail or "")
        assert index_state(conn) == []  # no INVALID index left behind
        assert step_rows(conn) == [("0001", 1, "failed", error)]
    finally:
        blocker.rollback()
        blocker.close()
    assert apply_migrations(zanith_db.url, [m], config=config(tmp_path, concurrent_timeout=1.0)).ok
    assert index_state(conn) == [("t_v", True)]
    assert step_rows(conn) == [("0001", 1, "done", None)]


def test_a_build_behind_a_writer_of_its_table_leaves_the_invalid_index_to_the_next_run(
    zanith_db, tmp_path: Path
) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (v int)")
    # A writer of the table itself: the build waits for it, and so would the drop of the INVALID index.
    blocker = psycopg.connect(zanith_db.url)
    blocker.execute("INSERT INTO t VALUES (1)")
    events: list[StepEvent] = []
    try:
        pid = blocker.info.backend_pid
        m, took, error = build(zanith_db.url, tmp_path, events)
        assert error is not None and f"for pid {pid} (" in error
        assert "INSERT INTO t VALUES (1)" in error
        assert "the INVALID index it left (t_v) cannot be dropped before that transaction ends" in error
        assert took < 15  # the wait for the build and the one for the drop are both bounded
        assert index_state(conn) == [("t_v", False)]
        # A rerun while the writer is still there: dropping the index first waits for it, and gives up too.
        _, took, error = build(zanith_db.url, tmp_path, events)
        assert error is not None and error.startswith(f"gave up after waiting 1s (concurrent_timeout) for pid {pid} (")
        assert error.endswith(
            "to drop the INVALID index an earlier run left; end that transaction and run `zanith apply` again"
        )
        assert took < 15
    finally:
        blocker.commit()
        blocker.close()
    assert apply_migrations(zanith_db.url, [m], config=config(tmp_path, concurrent_timeout=1.0)).ok
    assert index_state(conn) == [("t_v", True)]


def test_a_build_that_waits_less_than_the_limit_says_so_and_finishes(zanith_db, tmp_path: Path) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (v int)")
    blocker = psycopg.connect(zanith_db.url)
    blocker.execute("INSERT INTO t VALUES (1)")
    events: list[StepEvent] = []
    results: list[ApplyResult] = []
    cfg = config(tmp_path, concurrent_timeout=30.0)
    worker = threading.Thread(
        target=lambda: results.append(
            apply_migrations(zanith_db.url, [migration("0001", BUILD)], config=cfg, on_step=events.append)
        )
    )
    worker.start()
    try:
        wait_until(lambda: "waiting" in [e.status for e in events], what="the build to say whom it waits for")
        waiting = next(e for e in events if e.status == "waiting")
        assert f"waiting for pid {blocker.info.backend_pid} (idle in transaction for " in (waiting.detail or "")
        assert "INSERT INTO t VALUES (1)" in (waiting.detail or "")
    finally:
        blocker.commit()
        blocker.close()
        worker.join()
    assert results[0].ok
    assert [e.status for e in events] == ["running", "waiting", "done"]
    assert index_state(conn) == [("t_v", True)]
