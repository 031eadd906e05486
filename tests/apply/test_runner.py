"""The runner against real PostgreSQL: audited steps, failure and resume, locks, gates, dry runs."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from support import LEDGER, applied_ids, apply_backends, config, migration, raw, step_rows, wait_until

from zanith_core import ledger
from zanith_core.apply import runner
from zanith_core.apply.results import ApplyResult, StepEvent
from zanith_core.apply.runner import apply_migrations
from zanith_core.errors import ChecksumMismatch, LockBusy, PlanRefused
from zanith_core.ledger import StepRow
from zanith_core.ledger.locks import lock_key
from zanith_core.read import introspect
from zanith_core.schema.graph import SchemaGraph

FOUR_STEPS = (
    "CREATE TABLE users (id bigint PRIMARY KEY, email text)",
    "CREATE TABLE ran (step int)",
    "INSERT INTO ran VALUES (3)",
    "ALTER TABLE users ADD COLUMN name text",
)


def ran_steps(conn: psycopg.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT step FROM ran ORDER BY step").fetchall()]


def test_happy_path_writes_a_row_per_step_one_migration_row_and_the_snapshot(zanith_db, tmp_path):
    events: list[StepEvent] = []
    result = apply_migrations(
        zanith_db.url, [migration("0001_init", *FOUR_STEPS)], config=config(tmp_path), on_step=events.append
    )
    assert result.ok and result.applied == ("0001_init",)
    conn = zanith_db.conn
    assert step_rows(conn) == [("0001_init", i, "done", None) for i in (1, 2, 3, 4)]
    assert conn.execute("SELECT id, checksum FROM zanith._zanith_migrations").fetchall() == [
        ("0001_init", migration("0001_init", *FOUR_STEPS).checksum)
    ]
    stored = conn.execute("SELECT phase, schema FROM zanith._zanith_schema_snapshots WHERE migration_id = '0001_init'")
    (phase, snapshot), *rest = stored.fetchall()
    assert phase == "after" and rest == []
    assert SchemaGraph.from_dict(snapshot) == introspect(conn, ("public",))
    assert SchemaGraph.from_dict(snapshot).table("users") is not None
    assert [(e.step_index, e.status) for e in events] == [(i, s) for i in (1, 2, 3, 4) for s in ("running", "done")]
    timed = conn.execute("SELECT bool_and(finished_at >= started_at) FROM zanith._zanith_migration_steps").fetchone()
    assert timed == (True,)


def test_without_snapshots_the_migration_is_recorded_but_no_schema_is_stored(zanith_db, tmp_path):
    m = migration("0001_init", *FOUR_STEPS)
    assert apply_migrations(zanith_db.url, [m], config=config(tmp_path), snapshots=False).ok
    assert applied_ids(zanith_db.conn) == ["0001_init"]
    assert zanith_db.conn.execute("SELECT count(*) FROM zanith._zanith_schema_snapshots").fetchone() == (0,)


def test_each_step_row_commits_with_its_step_and_carries_the_sql_and_risk(zanith_db, tmp_path):
    apply_migrations(zanith_db.url, [migration("0001", *FOUR_STEPS)], config=config(tmp_path))
    rows = zanith_db.conn.execute(
        "SELECT step_index, op_kind, sql, risk_level, risk_score, risk_reasons FROM zanith._zanith_migration_steps"
        " ORDER BY step_index"
    ).fetchall()
    assert [r[1] for r in rows] == ["raw_sql"] * 4
    assert rows[0][2].startswith("CREATE TABLE users")
    assert all(r[3] is not None and isinstance(r[4], int) and r[5] is not None for r in rows)
    # Adding a column to an existing table takes ACCESS EXCLUSIVE; creating a table does not threaten anyone.
    assert rows[3][4] >= rows[0][4]


def test_a_step_and_its_done_row_commit_together_or_not_at_all(zanith_db, tmp_path):
    conn = zanith_db.conn
    ledger.ensure_ledger(conn, LEDGER)
    conn.execute(
        "CREATE FUNCTION refuse_done() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN IF NEW.status = 'done' THEN RAISE 'ledger write refused'; END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER refuse_done BEFORE INSERT ON zanith._zanith_migration_steps"
        " FOR EACH ROW EXECUTE FUNCTION refuse_done()"
    )
    result = apply_migrations(zanith_db.url, [migration("0001", "CREATE TABLE t (id int)")], config=config(tmp_path))
    assert result.failure is not None and "ledger write refused" in result.failure.error
    assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)  # the step rolled back with its row


def test_a_failing_step_is_recorded_later_steps_never_run_and_the_rerun_resumes_there(zanith_db, tmp_path):
    steps = (
        "CREATE TABLE ran (step int)",
        "INSERT INTO ran VALUES (2)",
        "INSERT INTO ran VALUES (3 / (SELECT count(*)::int FROM ran WHERE step = 99))",
        "INSERT INTO ran VALUES (4)",
    )
    m = migration("0001_fail", *steps)
    result = apply_migrations(zanith_db.url, [m], config=config(tmp_path))
    conn = zanith_db.conn
    assert result.failure is not None
    assert (result.failure.step_index, result.failure.done_steps) == (3, (1, 2))
    assert "division by zero" in result.failure.error
    assert ran_steps(conn) == [2]
    rows = step_rows(conn)
    assert [r[:3] for r in rows] == [("0001_fail", 1, "done"), ("0001_fail", 2, "done"), ("0001_fail", 3, "failed")]
    assert "division by zero" in rows[2][3]
    assert applied_ids(conn) == []

    conn.execute("INSERT INTO ran VALUES (99)")  # fix the cause
    events: list[StepEvent] = []
    again = apply_migrations(zanith_db.url, [m], config=config(tmp_path), on_step=events.append)
    assert again.ok and again.applied == ("0001_fail",)
    assert [(e.step_index, e.status) for e in again.events] == [
        (1, "skipped"),
        (2, "skipped"),
        (3, "done"),
        (4, "done"),
    ]
    assert ran_steps(conn) == [2, 3, 4, 99]  # steps 1 and 2 did not run twice
    assert [r[2:] for r in step_rows(conn)] == [("done", None)] * 4
    assert applied_ids(conn) == ["0001_fail"]


def test_later_migrations_do_not_run_after_a_failure(zanith_db, tmp_path):
    first = migration("0001", "SELECT 1/0")
    second = migration("0002", "CREATE TABLE never (id int)")
    result = apply_migrations(zanith_db.url, [first, second], config=config(tmp_path))
    assert result.failure is not None and result.failure.migration_id == "0001"
    assert zanith_db.conn.execute("SELECT to_regclass('never')").fetchone() == (None,)
    assert step_rows(zanith_db.conn, "0002") == []


def test_an_applied_migration_edited_afterwards_is_refused_by_name(zanith_db, tmp_path):
    path = tmp_path / "0001_users.py"
    apply_migrations(
        zanith_db.url, [migration("0001_users", "CREATE TABLE u (id int)", path=path)], config=config(tmp_path)
    )
    edited = migration("0001_users", "CREATE TABLE u (id bigint)", path=path)
    later = migration("0002", "CREATE TABLE v (id int)")
    with pytest.raises(ChecksumMismatch, match=r"0001_users .*0001_users\.py.* edited after it was applied"):
        apply_migrations(zanith_db.url, [edited, later], config=config(tmp_path))
    assert zanith_db.conn.execute("SELECT to_regclass('v')").fetchone() == (None,)


def test_editing_a_step_that_already_ran_in_an_unfinished_migration_is_refused(zanith_db, tmp_path):
    apply_migrations(
        zanith_db.url, [migration("0001", "CREATE TABLE a (id int)", "SELECT 1/0")], config=config(tmp_path)
    )
    edited = migration("0001", "CREATE TABLE a (id bigint)", "SELECT 1")
    with pytest.raises(ChecksumMismatch, match="step 1 already ran"):
        apply_migrations(zanith_db.url, [edited], config=config(tmp_path))


def test_dry_run_returns_the_sql_and_touches_nothing_not_even_the_ledger(zanith_db, tmp_path):
    m = migration("0001", "CREATE TABLE a (id int)", "CREATE TABLE b (id int)")
    result = apply_migrations(zanith_db.url, [m], config=config(tmp_path), dry_run=True)
    assert result.dry_run and [p.sql for p in result.planned] == [op.sql() for op in m.operations]
    assert zanith_db.conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_dry_run_after_a_failure_lists_only_the_steps_left(zanith_db, tmp_path):
    m = migration("0001", "CREATE TABLE a (id int)", "SELECT 1/0", "CREATE TABLE c (id int)")
    apply_migrations(zanith_db.url, [m], config=config(tmp_path))
    result = apply_migrations(zanith_db.url, [m], config=config(tmp_path), dry_run=True)
    assert [p.step_index for p in result.planned] == [2, 3]


def test_nothing_pending_is_a_no_op(zanith_db, tmp_path):
    m = migration("0001", "CREATE TABLE a (id int)")
    apply_migrations(zanith_db.url, [m], config=config(tmp_path))
    result = apply_migrations(zanith_db.url, [m], config=config(tmp_path))
    assert result.ok and result.applied == () and result.already_applied == ("0001",) and result.events == ()


def test_a_contract_phase_waits_for_the_explicit_window(zanith_db, tmp_path):
    ms = [
        migration("0001_expand", "CREATE TABLE a (id int)", phase="expand"),
        migration("0002_contract", "DROP TABLE a", phase="contract"),
        migration("0003_next", "CREATE TABLE b (id int)"),
    ]
    first = apply_migrations(zanith_db.url, ms, config=config(tmp_path))
    assert first.applied == ("0001_expand",) and first.waiting == ("0002_contract", "0003_next")
    second = apply_migrations(zanith_db.url, ms, config=config(tmp_path), contract=True)
    assert second.applied == ("0002_contract", "0003_next") and second.waiting == ()


def test_the_ledger_can_live_in_its_own_schema(zanith_db, tmp_path):
    apply_migrations(
        zanith_db.url, [migration("0001", "CREATE TABLE a (id int)")], config=config(tmp_path, ledger_schema="zanith")
    )
    assert zanith_db.conn.execute("SELECT id FROM zanith._zanith_migrations").fetchall() == [("0001",)]
    assert zanith_db.conn.execute("SELECT to_regclass('public._zanith_migrations')").fetchone() == (None,)


def test_a_second_apply_gets_a_clear_lock_busy_naming_the_holder(zanith_db, tmp_path):
    holder = psycopg.connect(zanith_db.url, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(LEDGER),))
        pid = holder.info.backend_pid
        with pytest.raises(LockBusy, match=rf"another apply is running \(pid {pid}, since .*\); wait with --wait"):
            apply_migrations(zanith_db.url, [migration("0001", "SELECT 1")], config=config(tmp_path), wait=0.3)
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key(LEDGER),))
        assert apply_migrations(zanith_db.url, [migration("0001", "SELECT 1")], config=config(tmp_path)).ok
    finally:
        holder.close()


def test_a_lock_the_model_cannot_see_is_tried_briefly_retried_then_fails_clearly(zanith_db, tmp_path, monkeypatch):
    # The waits between tries are the runner's jittered backoff: real, but a hundredth of a deploy's.
    monkeypatch.setattr(runner, "BACKOFF_BASE_SECONDS", 0.005)
    conn = zanith_db.conn
    conn.execute("CREATE TABLE busy (id int); CREATE TABLE other (id int)")
    blocker = psycopg.connect(zanith_db.url)
    blocker.execute("SELECT * FROM busy")  # an open transaction holding ACCESS SHARE on busy
    events: list[StepEvent] = []
    traffic_ok: list[bool] = []
    stop = threading.Event()

    def traffic() -> None:
        # Writes to another table while the step waits and retries: they must never queue behind it.
        with psycopg.connect(zanith_db.url, autocommit=True) as other:
            other.execute("SET lock_timeout = '5s'")
            while not stop.is_set():
                other.execute("INSERT INTO other VALUES (1)")
                traffic_ok.append(True)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        cfg = config(tmp_path, lock_timeout=0.2, lock_retries=2)
        # LOCK TABLE is SQL the risk model does not classify: no lock to wait for, so the step just tries.
        m = migration("0001_busy", "LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
        result = apply_migrations(zanith_db.url, [m], config=cfg, on_step=events.append)
    finally:
        stop.set()
        worker.join()
    assert result.failure is not None
    assert result.failure.error.startswith("could not get its lock within 0.2s after 3 tries in ")
    assert result.failure.error.endswith("s; a long transaction holds it — see pg_stat_activity")
    assert result.failure.message.startswith(
        "migration 0001_busy step 1/1 (raw_sql LOCK TABLE busy IN ACCESS EXCLUSIVE MODE) failed: could not get"
    )
    assert [e.attempt for e in events if e.status == "retrying"] == [2, 3]
    assert step_rows(conn) == [("0001_busy", 1, "failed", result.failure.error)]
    assert traffic_ok, "traffic on another table was blocked"

    blocker.rollback()  # the long transaction ends: the same apply now goes through
    blocker.close()
    assert apply_migrations(zanith_db.url, [m], config=cfg).ok
    assert step_rows(conn)[0][2] == "done"


def test_statement_timeout_applies_inside_the_step(zanith_db, tmp_path):
    cfg = config(tmp_path, statement_timeout=0.2)
    result = apply_migrations(zanith_db.url, [migration("0001", "SELECT pg_sleep(5)")], config=cfg)
    assert result.failure is not None and "statement timeout" in result.failure.error


def test_a_non_transactional_step_commits_a_running_row_before_it_runs_and_done_after(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (id int)")
    blocker = psycopg.connect(zanith_db.url)
    blocker.execute("INSERT INTO t VALUES (1)")  # an open writer: the concurrent build waits for it
    m = migration("0001", raw("CREATE INDEX CONCURRENTLY t_id ON t (id)", transactional=False))
    results: list[ApplyResult] = []
    worker = threading.Thread(
        target=lambda: results.append(apply_migrations(zanith_db.url, [m], config=config(tmp_path)))
    )
    worker.start()
    try:
        # While the build waits, its row is already committed as 'running' and visible to everyone.
        seen = wait_until(lambda: step_rows(conn), what="the running row")
        assert seen == [("0001", 1, "running", None)]
        # The row is committed first, the build starts a moment later: it runs while the row says so.
        assert wait_until(lambda: apply_backends(conn, "CREATE INDEX CONCURRENTLY%"), what="the build")
        assert step_rows(conn) == [("0001", 1, "running", None)]
    finally:
        blocker.commit()
        blocker.close()
        worker.join()
    assert results[0].ok
    assert step_rows(conn) == [("0001", 1, "done", None)]
    assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass").fetchone() == (True,)


def test_a_failed_concurrent_index_build_leaves_an_invalid_index_that_the_resume_drops(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (1)")
    m = migration("0001", raw("CREATE UNIQUE INDEX CONCURRENTLY t_id ON t (id)", transactional=False))
    first = apply_migrations(zanith_db.url, [m], config=config(tmp_path))
    assert first.failure is not None and "could not create unique index" in first.failure.error
    assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass").fetchone() == (False,)
    assert step_rows(conn) == [("0001", 1, "failed", first.failure.error)]

    conn.execute("DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)")  # fix the data
    assert apply_migrations(zanith_db.url, [m], config=config(tmp_path)).ok
    assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass").fetchone() == (True,)
    assert step_rows(conn)[0][2] == "done"


def test_an_interrupted_build_that_had_finished_is_marked_done_without_running_again(zanith_db, tmp_path):
    conn = zanith_db.conn
    apply_migrations(zanith_db.url, [migration("0000", "CREATE TABLE t (id int)")], config=config(tmp_path))
    step = raw("CREATE INDEX CONCURRENTLY t_id ON t (id)", transactional=False)
    # A crash after the build committed but before the final row: a 'running' row and a valid index.
    ledger.record_step_running(conn, LEDGER, StepRow("0001", 1, step.kind, step.sql()))
    conn.execute("CREATE INDEX t_id ON t (id)")
    result = apply_migrations(zanith_db.url, [migration("0001", step)], config=config(tmp_path))
    assert result.ok, result.failure  # running the build again would fail: t_id already exists
    assert step_rows(conn, "0001") == [("0001", 1, "done", None)]


def test_the_budget_gate_refuses_before_anything_is_written(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute("CREATE TABLE big (id int); INSERT INTO big SELECT generate_series(1, 1000)")
    m = migration("0001", "ALTER TABLE big ALTER COLUMN id TYPE bigint")
    with pytest.raises(PlanRefused, match="0001") as refused:
        apply_migrations(zanith_db.url, [m], config=config(tmp_path), budget=1)
    assert refused.value.exit_code == 3
    assert ledger.ledger_version(conn, LEDGER) == 0
    assert conn.execute(
        "SELECT format_type(atttypid, -1) FROM pg_attribute WHERE attrelid = 'big'::regclass AND attname = 'id'"
    ).fetchone() == ("integer",)


def test_the_snapshot_hides_the_ledger_and_equals_introspection_after_each_migration(zanith_db, tmp_path):
    ms = [migration("0001", "CREATE TABLE a (id int)"), migration("0002", "CREATE TABLE b (id int)")]
    apply_migrations(zanith_db.url, ms, config=config(tmp_path))
    first = ledger.snapshot(zanith_db.conn, LEDGER, "0001")
    assert first is not None and [t.name for t in first.tables] == ["a"]
    assert ledger.snapshot(zanith_db.conn, LEDGER, "0002") == introspect(zanith_db.conn, ("public",))


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/nowhere", "not a url at all ="])
def test_an_unreachable_or_malformed_url_is_a_one_line_error(url: str, tmp_path: Path):
    from zanith_core.errors import ConnectionFailed

    with pytest.raises(ConnectionFailed) as failed:
        apply_migrations(url, [migration("0001", "SELECT 1")], config=config(tmp_path))
    assert "\n" not in str(failed.value)
