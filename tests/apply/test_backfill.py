"""The batched backfill: keyset pagination, one checkpoint per batch, resume, bounds, locks, progress."""

from __future__ import annotations

import io
import threading

import psycopg
import pytest
from backfill_support import audited_keys, backfill, checkpoint_row, install_audit, ledger

from zanith_core.apply.backfill import (
    ProgressBar,
    execute_backfill,
    key_columns,
    progress_wanted,
    run_backfill,
)
from zanith_core.apply.executors import StepContext, executors
from zanith_core.apply.runner import CoreExecutors
from zanith_core.errors import ZanithError
from zanith_core.hooks import plugin_manager
from zanith_core.ops import Backfill


@pytest.fixture
def db(zanith_db):
    ledger(zanith_db.conn)
    return zanith_db


def populate(conn: psycopg.Connection, rows: int, table: str = "t") -> None:
    conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, v int, w int)")
    conn.execute(f"INSERT INTO {table} SELECT i, i, NULL FROM generate_series(1, %s) i", (rows,))
    install_audit(conn, table)


def wrong_rows(conn: psycopg.Connection, table: str = "t") -> int:
    return conn.execute(f"SELECT count(*) FROM {table} WHERE w IS DISTINCT FROM v * 2").fetchone()[0]


def test_the_backfill_op_runs_through_this_executor():
    pm = plugin_manager()
    pm.register(CoreExecutors())
    assert executors(pm)["backfill"] is execute_backfill


def test_every_row_is_written_exactly_once_one_transaction_per_batch(db):
    populate(db.conn, 1234)
    final = backfill(db.conn, Backfill("public.t", "w", "v * 2"), batch_size=100)

    assert wrong_rows(db.conn) == 0
    keys = audited_keys(db.conn, "t")
    assert sorted(keys, key=int) == [str(i) for i in range(1, 1235)]  # each key once
    batches = db.conn.execute("SELECT count(DISTINCT txid) FROM backfill_audit").fetchone()[0]
    assert batches == 13  # ceil(1234 / 100): each batch its own transaction
    assert final.processed_rows == 1234 and final.done
    assert checkpoint_row(db.conn) == ({"after": ["1234"], "until": ["1234"]}, 1234, "done")


def test_batches_default_to_the_op_batch_size_and_the_run_may_override_it(db):
    populate(db.conn, 1200)
    backfill(db.conn, Backfill("public.t", "w", "v * 2", batch_size=400))
    assert db.conn.execute("SELECT count(DISTINCT txid) FROM backfill_audit").fetchone()[0] == 3
    assert Backfill("public.t", "w", "v").batch_size == 500


def test_each_batch_is_marked_for_triggers_with_migration_and_step(db):
    populate(db.conn, 10)
    backfill(db.conn, Backfill("public.t", "w", "v * 2"), migration_id="20260101_x", step=3)
    assert db.conn.execute("SELECT DISTINCT marker FROM backfill_audit").fetchall() == [("20260101_x/3",)]
    # ... and only inside the batch transactions: the session is left as it was.
    assert db.conn.execute("SELECT coalesce(current_setting('zanith.backfill', true), '')").fetchone() == ("",)


@pytest.mark.parametrize(
    ("key_type", "values"),
    [
        ("text", "SELECT chr(65 + i % 26) || lpad(i::text, 5, '0') || CASE WHEN i % 3 = 0 THEN ' z' ELSE 'a' END"),
        ("uuid", "SELECT md5(i::text)::uuid"),
        ("numeric", "SELECT i / 7.0"),
        ("timestamptz", "SELECT timestamptz '2020-01-01 00:00:00.123456+00' + i * interval '1 minute 0.000001 s'"),
        ("double precision", "SELECT i * 0.1::float8"),
    ],
)
def test_cursor_round_trips_through_text_for_key_types(db, key_type, values):
    db.conn.execute(f"CREATE TABLE t (id {key_type} PRIMARY KEY, v int, w int)")
    db.conn.execute(f"INSERT INTO t SELECT ({values}), i, NULL FROM generate_series(1, 503) i")
    install_audit(db.conn, "t")
    backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=50)
    assert wrong_rows(db.conn) == 0
    keys = audited_keys(db.conn, "t")
    assert len(keys) == len(set(keys)) == 503


def test_composite_keys_are_walked_by_row_comparison(db):
    db.conn.execute("CREATE TABLE t (a int, b text, v int, w int, PRIMARY KEY (a, b))")
    # Few distinct `a`, many `b`: comparing columns separately (a > x AND b > y) would skip rows.
    db.conn.execute("INSERT INTO t SELECT i % 4, md5(i::text), i, NULL FROM generate_series(1, 301) i")
    db.conn.execute(
        "CREATE TABLE writes (a int, b text); CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN INSERT INTO writes VALUES (NEW.a, NEW.b); RETURN NEW; END $$;"
        " CREATE TRIGGER log_write AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION log_write()"
    )
    assert [k.name for k in key_columns(db.conn, "public", "t")] == ["a", "b"]
    backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=7)
    assert wrong_rows(db.conn) == 0
    assert db.conn.execute("SELECT count(*), count(DISTINCT (a, b)) FROM writes").fetchone() == (301, 301)


def test_a_unique_not_null_key_stands_in_for_a_missing_primary_key(db):
    db.conn.execute("CREATE TABLE t (code text NOT NULL UNIQUE, nick text UNIQUE, v int, w int)")
    db.conn.execute("INSERT INTO t SELECT 'c' || i, NULL, i, NULL FROM generate_series(1, 99) i")
    assert [k.name for k in key_columns(db.conn, "public", "t")] == ["code"]
    backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=10)
    assert wrong_rows(db.conn) == 0


def test_a_table_without_a_usable_key_is_walked_by_ctid_ranges(db):
    db.conn.execute("CREATE TABLE t (id int, nick text UNIQUE, v int, w int)")  # id: not a key
    db.conn.execute("INSERT INTO t SELECT i, NULL, i, NULL FROM generate_series(1, 2000) i")
    db.conn.execute("ANALYZE t")
    install_audit(db.conn, "t")
    assert key_columns(db.conn, "public", "t") == ()
    pages = db.conn.execute("SELECT pg_relation_size('t') / current_setting('block_size')::int").fetchone()[0]
    final = backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=300)
    assert wrong_rows(db.conn) == 0
    assert final.done and final.processed_rows == 2000
    assert sorted(audited_keys(db.conn, "t"), key=int) == [str(i) for i in range(1, 2001)]  # each row once
    cursor, _, status = checkpoint_row(db.conn)
    assert status == "done" and cursor["until"] == [str(pages)]  # the pages there were when it started
    batches = db.conn.execute("SELECT count(DISTINCT txid) FROM backfill_audit").fetchone()[0]
    assert 2000 // 300 <= batches <= pages, "about the batch size in rows per batch, one transaction each"
    with pytest.raises(ZanithError, match="does not exist"):
        backfill(db.conn, Backfill("nope", "w", "1"))


def test_a_ctid_backfill_resumes_after_its_last_committed_pages(db):
    db.conn.execute("CREATE TABLE t (v int, w int)")
    db.conn.execute("INSERT INTO t SELECT i, NULL FROM generate_series(1, 3000) i")
    db.conn.execute("ANALYZE t")
    db.conn.execute(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.v = 2500 THEN RAISE EXCEPTION 'crash'; END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER boom BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION boom()"
    )
    with pytest.raises(psycopg.errors.RaiseException):
        backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=500)
    cursor, done_rows, status = checkpoint_row(db.conn)
    assert status == "running" and 0 < done_rows < 2500
    assert db.conn.execute("SELECT count(*) FROM t WHERE w IS NOT NULL").fetchone() == (done_rows,)

    db.conn.execute("DROP TRIGGER boom ON t")
    final = backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=500)
    assert wrong_rows(db.conn) == 0 and final.processed_rows == 3000
    assert int(cursor["after"][0]) < int(checkpoint_row(db.conn)[0]["after"][0])


def test_where_limits_the_rows_written(db):
    populate(db.conn, 300)
    backfill(db.conn, Backfill("t", "w", "v * 2", where="v % 3 = 0"), batch_size=20)
    assert db.conn.execute("SELECT count(*) FROM t WHERE w IS NOT NULL").fetchone() == (100,)
    assert len(audited_keys(db.conn, "t")) == 100
    assert checkpoint_row(db.conn)[1] == 100


def test_an_interrupted_backfill_resumes_after_its_last_committed_batch(db):
    populate(db.conn, 1000)
    # Stand-in for a crash: the batch holding key 450 fails, so it and its checkpoint roll back together.
    db.conn.execute(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.id = 450 THEN RAISE EXCEPTION 'crash'; END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER boom BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION boom()"
    )
    with pytest.raises(psycopg.errors.RaiseException):
        backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=100)
    assert checkpoint_row(db.conn) == ({"after": ["400"], "until": ["1000"]}, 400, "running")
    assert db.conn.execute("SELECT max(id) FROM t WHERE w IS NOT NULL").fetchone() == (400,)

    db.conn.execute("DROP TRIGGER boom ON t")
    final = backfill(db.conn, Backfill("t", "w", "v * 2"), batch_size=100)
    assert wrong_rows(db.conn) == 0
    keys = audited_keys(db.conn, "t")
    assert sorted(keys, key=int) == [str(i) for i in range(1, 1001)]  # nothing skipped, nothing twice
    assert final.processed_rows == 1000


def test_a_finished_backfill_is_not_run_again(db):
    populate(db.conn, 50)
    backfill(db.conn, Backfill("t", "w", "v * 2"))
    db.conn.execute("UPDATE t SET v = 0")
    again = backfill(db.conn, Backfill("t", "w", "v * 2"))
    assert again.done and again.processed_rows == 50
    assert db.conn.execute("SELECT count(*) FROM t WHERE w = 0").fetchone() == (0,)


def test_an_empty_table_is_done_at_once(db):
    populate(db.conn, 0)
    final = backfill(db.conn, Backfill("t", "w", "v * 2"))
    assert final.done and final.processed_rows == 0
    assert checkpoint_row(db.conn) == ({"after": None, "until": None}, 0, "done")


def test_rows_written_during_the_backfill_neither_extend_it_nor_get_written_twice(db):
    populate(db.conn, 500)
    db.conn.execute("DELETE FROM t WHERE id % 10 = 0")  # gaps below the bound for the application to fill
    app = psycopg.connect(db.url, autocommit=True)
    inserted = []

    def application_writes(processed: int) -> None:
        n = len(inserted)
        # A row far beyond the starting bound, and (early on) one filling a gap well ahead of the cursor.
        app.execute("INSERT INTO t VALUES (%s, 1, NULL)", (10_000 + n,))
        if n < 4:
            app.execute("INSERT INTO t VALUES (%s, %s, NULL)", (490 - 10 * n, 490 - 10 * n))
        inserted.append(n)

    final = run_backfill(
        db.conn, Backfill("t", "w", "v * 2"), StepContext("m1", 1), batch_size=40, on_batch=application_writes
    )
    app.close()
    assert inserted, "the application wrote during the backfill"
    # Rows beyond the bound are left to the dual-write triggers; they never made the backfill longer.
    assert db.conn.execute("SELECT count(*) FROM t WHERE id >= 10000 AND w IS NOT NULL").fetchone() == (0,)
    keys = audited_keys(db.conn, "t")
    assert len(keys) == len(set(keys)) == final.processed_rows == 450 + 4
    assert db.conn.execute("SELECT count(*) FROM t WHERE id <= 500 AND w IS DISTINCT FROM v * 2").fetchone() == (0,)


def test_a_batch_waiting_on_a_lock_times_out_and_is_retried(db):
    populate(db.conn, 100)
    holder = psycopg.connect(db.url)
    holder.execute("LOCK TABLE t IN SHARE MODE")  # blocks the backfill's writes
    timer = threading.Timer(0.4, holder.commit)
    timer.start()
    try:
        backfill(db.conn, Backfill("t", "w", "v * 2"), lock_timeout=0.05)
    finally:
        timer.join()
        holder.close()
    assert wrong_rows(db.conn) == 0


def test_a_lock_held_for_good_fails_the_step_after_the_retries_leaving_the_checkpoint(db):
    populate(db.conn, 100)
    backfill(db.conn, Backfill("t", "w", "v * 2", where="id <= 50"), step=1)
    with psycopg.connect(db.url) as holder:
        holder.execute("LOCK TABLE t IN SHARE MODE")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            backfill(db.conn, Backfill("t", "w", "v * 2"), step=2, lock_timeout=0.01)
    assert checkpoint_row(db.conn, step=2) == ({"after": None, "until": ["100"]}, 0, "running")
    assert db.conn.execute("SELECT count(*) FROM t WHERE w IS NOT NULL").fetchone() == (50,)


def test_a_backfill_needs_an_autocommit_connection(db):
    populate(db.conn, 1)
    with psycopg.connect(db.url) as conn, pytest.raises(ZanithError, match="autocommit"):
        backfill(conn, Backfill("t", "w", "v"))


# -- progress ---------------------------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_only_when_asked_at_a_terminal_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    asked = StepContext("m", 1, progress=True)
    assert progress_wanted(asked, Tty())
    assert not progress_wanted(asked, io.StringIO())  # piped: a log, not a terminal
    assert not progress_wanted(StepContext("m", 1, progress=False), Tty())  # --json
    monkeypatch.setenv("CI", "true")
    assert not progress_wanted(asked, Tty())


def test_progress_shows_rows_total_rate_and_eta():
    bar = ProgressBar("backfill public.t.w", total=1000, start=100, stream=Tty())
    line = bar.render(600, elapsed=5.0)
    assert "600/~1,000 rows" in line and "100 rows/s" in line and "ETA 0:00:04" in line
    assert "[" + "#" * 18 + "-" * 12 + "]" in line
    assert ProgressBar("b", total=None).render(42, elapsed=2.0).endswith("42 rows  21 rows/s")


def test_the_executor_draws_the_bar_on_a_terminal(db, monkeypatch):
    populate(db.conn, 30)
    db.conn.execute("ANALYZE t")
    stream = Tty()
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stderr", stream)
    execute_backfill(Backfill("public.t", "w", "v * 2", batch_size=10), db.conn, StepContext("m1", 1, progress=True))
    assert "30/~30 rows" in stream.getvalue()
    assert wrong_rows(db.conn) == 0
