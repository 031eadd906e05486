"""How a step waits for its locks: never "no limit", never queued behind an old transaction, traffic first.

The traffic test runs real concurrent sessions: a short-transaction workload on the table, a blocker
holding a conflicting lock, and zanith applying with its default settings.
"""

from __future__ import annotations

import math
import random
import threading
import time
from pathlib import Path

import psycopg
import pytest
from support import config, migration, step_rows, wait_until

from zanith_core.apply.lock_wait import MAX_TIMEOUT_MS, TableLock, milliseconds, step_locks
from zanith_core.apply.results import ApplyResult, StepEvent
from zanith_core.apply.runner import apply_migrations
from zanith_core.config import Config
from zanith_core.ops import Lock, SetNotNull
from zanith_core.ops.data import RawSql
from zanith_core.risk import classify_sql


@pytest.mark.parametrize(
    ("seconds", "millis"),
    [(0, 1), (-1, 1), (0.0001, 1), (math.nan, 1), (0.2, 200), (5, 5000), (math.inf, MAX_TIMEOUT_MS)],
)
def test_a_lock_timeout_is_never_0_ms_which_postgres_reads_as_no_limit(seconds: float, millis: int) -> None:
    assert milliseconds(seconds) == millis


@pytest.mark.parametrize(("seconds", "millis"), [(0, 0), (-1, 0), (0.0001, 1), (2.5, 2500)])
def test_a_statement_timeout_keeps_0_as_no_limit_but_never_rounds_a_positive_one_to_it(
    seconds: float, millis: int
) -> None:
    assert milliseconds(seconds, least=0) == millis


def raw_step_locks(text: str) -> tuple[TableLock, ...]:
    return step_locks(RawSql(text), classify_sql(text).reasons)


def test_the_locks_waited_for_are_those_that_block_traffic() -> None:
    assert step_locks(SetNotNull("public.t", "v")) == (TableLock("public.t", Lock.ACCESS_EXCLUSIVE),)
    assert raw_step_locks("ALTER TABLE app.t ADD COLUMN r float8 DEFAULT random()") == (
        TableLock("app.t", Lock.ACCESS_EXCLUSIVE),
    )
    assert raw_step_locks("CREATE INDEX i ON t (v)") == (TableLock("public.t", Lock.SHARE_ROW_EXCLUSIVE),)
    # Row-level writes and a concurrent build block no ordinary traffic: nothing to wait for.
    assert raw_step_locks("INSERT INTO t VALUES (1)") == ()
    assert raw_step_locks("CREATE INDEX CONCURRENTLY i ON t (v)") == ()


class Holder:
    """A session whose open transaction ran ``statement`` (and holds its locks) until :meth:`end`."""

    def __init__(self, url: str, statement: str) -> None:
        self.conn = psycopg.connect(url)
        self.conn.execute(statement)
        self.pid = self.conn.info.backend_pid

    def end(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def apply_in_thread(url: str, cfg: Config, *steps: str, events: list[StepEvent] | None = None) -> threading.Thread:
    results: list[ApplyResult] = []
    sink = events.append if events is not None else None
    worker = threading.Thread(
        target=lambda: results.append(apply_migrations(url, [migration("0001", *steps)], config=cfg, on_step=sink))
    )
    worker.results = results  # type: ignore[attr-defined]
    worker.start()
    return worker


@pytest.mark.parametrize("lock_timeout", [0, -1, 0.0001])
@pytest.mark.parametrize(
    ("step", "error"),
    [
        # No lock the model knows: tried at once, each try 1 ms at least, never unbounded.
        ("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE", "could not get its lock within "),
        # A lock the model knows: waited for without queuing, up to the budget.
        ("ALTER TABLE busy ADD COLUMN x int", "waited 1s (lock_wait_budget) for pid "),
    ],
)
def test_a_tiny_zero_or_negative_lock_timeout_never_means_no_limit(
    zanith_db, tmp_path: Path, lock_timeout: float, step: str, error: str
) -> None:
    zanith_db.conn.execute("CREATE TABLE busy (id int)")
    holder = Holder(zanith_db.url, "SELECT * FROM busy")
    try:
        cfg = config(tmp_path, lock_timeout=lock_timeout, lock_retries=1, lock_wait_budget=1.0)
        worker = apply_in_thread(zanith_db.url, cfg, step)
        worker.join(timeout=30)
        assert not worker.is_alive(), "the step waited for its lock with no limit"
    finally:
        holder.end()
        worker.join()
    (result,) = worker.results  # type: ignore[attr-defined]
    assert result.failure is not None and result.failure.error.startswith(error)


def test_a_step_waits_for_an_old_blocker_without_queuing_and_gives_up_at_the_budget(zanith_db, tmp_path: Path) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE busy (id int); INSERT INTO busy VALUES (1)")
    holder = Holder(zanith_db.url, "SELECT * FROM busy")
    time.sleep(1.2)  # older than the lock_timeout: a try would only queue behind it
    latencies: list[float] = []
    stop = threading.Event()

    def readers() -> None:
        # Reads of the same table while the step waits: a queued ACCESS EXCLUSIVE would stall them.
        with psycopg.connect(zanith_db.url, autocommit=True) as reader:
            while not stop.is_set():
                started = time.monotonic()
                reader.execute("SELECT count(*) FROM busy")
                latencies.append(time.monotonic() - started)
                time.sleep(0.01)

    events: list[StepEvent] = []
    traffic = threading.Thread(target=readers)
    traffic.start()
    started = time.monotonic()
    try:
        cfg = config(tmp_path, lock_timeout=1.0, lock_retries=5, lock_wait_budget=1.5)
        result = apply_migrations(
            zanith_db.url, [migration("0001", "ALTER TABLE busy ADD COLUMN x int")], config=cfg, on_step=events.append
        )
        took = time.monotonic() - started
    finally:
        stop.set()
        traffic.join()
        holder.end()
    assert result.failure is not None
    assert result.failure.error.startswith("waited 1.5s (lock_wait_budget) for pid ")
    assert f"pid {holder.pid} (idle in transaction for " in result.failure.error
    assert "SELECT * FROM busy" in result.failure.error
    waiting = [e for e in events if e.status == "waiting"]
    assert waiting and f"pid {holder.pid}" in (waiting[0].detail or "")
    assert not [e for e in events if e.status == "retrying"], "it queued for the lock"
    assert 1.5 <= took < 5
    assert len(latencies) > 20 and max(latencies) < 0.5, "the readers of the table were stalled"
    assert step_rows(conn) == [("0001", 1, "failed", result.failure.error)]


def test_a_step_goes_as_soon_as_the_old_blocker_leaves(zanith_db, tmp_path: Path) -> None:
    zanith_db.conn.execute("CREATE TABLE busy (id int)")
    holder = Holder(zanith_db.url, "SELECT * FROM busy")
    time.sleep(0.3)
    events: list[StepEvent] = []
    cfg = config(tmp_path, lock_timeout=0.2, lock_wait_budget=30.0)
    worker = apply_in_thread(zanith_db.url, cfg, "ALTER TABLE busy ADD COLUMN x int", events=events)
    try:
        wait_until(lambda: "waiting" in [e.status for e in events], what="the step to wait for the blocker")
        time.sleep(0.5)
        assert worker.is_alive() and [e.status for e in events] == ["running", "waiting"]
    finally:
        holder.end()
        worker.join(timeout=30)
    (result,) = worker.results  # type: ignore[attr-defined]
    assert result.ok and [e.status for e in events] == ["running", "waiting", "done"]


# -- the traffic test ------------------------------------------------------------------------------

ROWS = 2000
BLOCK_SECONDS = 5.0
STALL = 0.25
"""A workload transaction slower than this counts as stalled, all of it (half the default lock_timeout:
above a loaded machine's noise, below what one queued try costs)."""


class Workload:
    """Short transactions on the table — a SELECT and an UPDATE by primary key — each one's latency kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._loop)

    def __enter__(self) -> Workload:
        self.started = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.window = time.monotonic() - self.started

    def _loop(self) -> None:
        rng = random.Random(16)
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                key = rng.randint(1, ROWS)
                started = time.monotonic()
                try:
                    with conn.transaction():
                        conn.execute("SELECT v FROM t WHERE id = %s", (key,))
                        conn.execute("UPDATE t SET v = v + 1 WHERE id = %s", (key,))
                except psycopg.Error as exc:
                    self.errors.append(str(exc))
                self.latencies.append(time.monotonic() - started)
                time.sleep(0.005)


def test_with_defaults_a_blocked_step_stalls_the_tables_traffic_for_at_most_a_lock_timeout(
    zanith_db, tmp_path: Path
) -> None:
    zanith_db.conn.execute(
        f"CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0);"
        f" INSERT INTO t (id) SELECT generate_series(0, {ROWS})"
    )
    defaults = Config(project_dir=tmp_path)
    events: list[StepEvent] = []
    with Workload(zanith_db.url) as load:
        time.sleep(0.5)
        # The blocker: an open transaction that wrote a row the workload never touches, for BLOCK_SECONDS.
        holder = Holder(zanith_db.url, "UPDATE t SET v = -1 WHERE id = 0")
        ends = threading.Timer(BLOCK_SECONDS, holder.end)
        ends.start()
        try:
            time.sleep(1.0)
            step = "ALTER TABLE t ADD COLUMN r float8 DEFAULT random()"  # ACCESS EXCLUSIVE and a rewrite
            result = apply_migrations(zanith_db.url, [migration("0001", step)], config=defaults, on_step=events.append)
            finished = time.monotonic()
        finally:
            ends.join()
            holder.end()
        time.sleep(0.5)
    assert result.ok, result.failure
    assert finished - load.started >= BLOCK_SECONDS, "the step did not wait for the blocker"
    assert any(e.status == "waiting" and f"pid {holder.pid}" in (e.detail or "") for e in events)
    assert not load.errors
    stalls = [lat for lat in load.latencies if lat > STALL]
    assert len(load.latencies) > 100, "the workload did not run"
    assert max(load.latencies) <= 4 * defaults.lock_timeout + 0.5, f"longest stall {max(load.latencies):.2f}s"
    assert sum(stalls) <= 0.1 * load.window, f"stalled {sum(stalls):.2f}s of {load.window:.1f}s"
