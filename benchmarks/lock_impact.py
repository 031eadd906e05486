"""Lock impact: p99 latency of short transactions while a column is renamed, zero-downtime vs naive.

A workload of short transactions (one-row ``UPDATE`` by primary key, ``WORKERS`` threads on loopback)
runs against a populated table in three phases, on fresh databases of the same server (embedded by
default; ``ZANITH_BENCH_URL`` names another):

- **quiet**: the workload alone, for ``QUIET_SECONDS`` — the baseline p99;
- **expand/contract**: zanith applies ``expand_contract_rename`` (expand, then ``--contract``) through the
  runner, with ``lock_timeout`` 0.2 s, while a long transaction holds ACCESS SHARE on the table for
  ``LONG_TX_SECONDS`` — every brief ACCESS EXCLUSIVE step gives up after 0.2 s and retries, so the
  workload never queues behind it for longer;
- **naive**: ``ALTER TABLE ... RENAME COLUMN`` plus a rewriting ``ALTER COLUMN ... TYPE`` in one
  transaction, no ``lock_timeout``, behind the same long transaction: the ALTER waits for the long
  transaction, and every workload transaction queues behind the ALTER until it commits.

Each row reports the p99 of the transactions due while the change ran against the quiet p99
(``ratio``: how many times it rose). The workload is open-loop (see :class:`Workload`), so a stalled
table counts for every transaction it held up. Loops are bounded by time and run on loopback only.

Two more rows measure the lock strategy itself: a brief ACCESS EXCLUSIVE step (``ADD COLUMN``) applied
while a reader holds ACCESS SHARE for ``BLOCK_SECONDS``, by zanith with its default settings (wait for
the blocker without queuing, then tries of 0.5 s) against the former strategy, reproduced here (5 s
``lock_timeout``, 6 tries with backoff, no waiting for blockers). They report the workload's longest
stall and its total stalled time (the time during which some transaction was held up more than
``STALL_SECONDS``), each as a ratio to the former strategy's.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from zanith_core.apply.runner import apply_migrations
from zanith_core.authoring.expand_contract import expand_contract_rename
from zanith_core.config import Config
from zanith_core.migrations import Migration
from zanith_core.ops.data import RawSql
from zanith_core.read import introspect
from zanith_core.servers import Server, connect, resolve_server

ROWS = int(os.environ.get("ZANITH_BENCH_LOCK_ROWS", "200000"))
WORKERS = 4
INTERVAL = 0.01
"""Seconds between two transactions of one worker (400 transactions a second in all)."""
QUIET_SECONDS = 3.0
LONG_TX_SECONDS = 2.0
BLOCK_SECONDS = 10.0
"""How long the reader holds its lock in the lock-strategy rows (the issue's measurement used 45 s)."""
STALL_SECONDS = 0.25
"""A transaction held up longer than this counts as stalled: above the quiet workload's p99 on a loaded machine,
below the 0.5 s a try with the default lock_timeout may stall the table."""
BRIEF_STEP = "ALTER TABLE accounts ADD COLUMN note text"
MAX_SECONDS = 300.0
"""Hard bound on any workload loop, whatever happens to the change it runs against."""

TABLE = f"""
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, balance int NOT NULL DEFAULT 0);
INSERT INTO accounts SELECT i, 'user' || i || '@example.com', 0 FROM generate_series(1, {ROWS}) i;
"""


class Workload:
    """``WORKERS`` threads each starting a one-row update every ``INTERVAL`` seconds, until stopped.

    Open loop: a transaction's latency counts from when it was *due*, not from when a blocked worker
    got round to it, so a stall shows up in every transaction it delayed (no coordinated omission).
    Samples are ``(due, latency)`` pairs in ``time.perf_counter`` seconds.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.samples: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(seed,)) for seed in range(WORKERS)]

    def __enter__(self) -> Workload:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _loop(self, seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(self.url, autocommit=True) as conn:
            due = time.perf_counter()
            deadline = due + MAX_SECONDS
            while not self.stop.is_set() and due < deadline:
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                try:
                    conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = %s", (rng.randint(1, ROWS),))
                except psycopg.Error as exc:
                    with self.lock:
                        self.errors.append(type(exc).__name__)
                latency = time.perf_counter() - due
                with self.lock:
                    self.samples.append((due, latency))
                due += INTERVAL

    def p99(self, start: float = 0.0, end: float = float("inf")) -> float:
        """p99 latency of the transactions due between ``start`` and ``end``."""
        latencies = [lat for due, lat in self.samples if start <= due <= end]
        return statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)

    def stalls(self, start: float, end: float) -> tuple[float, float]:
        """(longest latency, seconds during which some transaction was held up more than STALL_SECONDS) of
        the transactions due between ``start`` and ``end``; the stalled intervals are merged, not added."""
        window = sorted((due, due + lat) for due, lat in self.samples if start <= due <= end)
        longest = max(b - a for a, b in window)
        total, reach = 0.0, float("-inf")
        for a, b in window:
            if b - a > STALL_SECONDS and b > reach:
                total += b - max(a, reach)
                reach = b
        return longest, total


def _long_transaction(url: str, started: threading.Event, seconds: float = LONG_TX_SECONDS) -> None:
    """Hold ACCESS SHARE on the table for ``seconds``, like a slow report would."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT count(*) FROM accounts WHERE id < 10")
        started.set()
        time.sleep(seconds)
        conn.rollback()


def _during(url: str, change: Callable[[], None]) -> tuple[float, float, int]:
    """(p99 of the transactions due while ``change`` ran, seconds it took, workload errors)."""
    started = threading.Event()
    holder = threading.Thread(target=_long_transaction, args=(url, started))
    with Workload(url) as load:
        time.sleep(0.5)  # the workload is up to speed before the change starts
        holder.start()
        started.wait()
        begin = time.perf_counter()
        change()
        end = time.perf_counter()
        time.sleep(0.2)
    holder.join()
    return load.p99(begin, end), end - begin, len(load.errors)


def _behind_blocker(url: str, change: Callable[[], None]) -> tuple[float, float, float, int]:
    """(longest stall, total stalled time, window, workload errors) while ``change`` runs behind a reader
    that took its lock a second earlier and holds it BLOCK_SECONDS; the window runs from that lock to
    the end of the change."""
    started = threading.Event()
    holder = threading.Thread(target=_long_transaction, args=(url, started, BLOCK_SECONDS))
    with Workload(url) as load:
        time.sleep(0.5)
        holder.start()
        started.wait()
        begin = time.perf_counter()
        time.sleep(1.0)  # the reader is an old transaction by the time the change starts
        change()
        end = time.perf_counter()
        time.sleep(0.2)
    holder.join()
    longest, total = load.stalls(begin, end)
    return longest, total, end - begin, len(load.errors)


def _with_defaults(url: str, project: Path) -> Callable[[], None]:
    config = Config(project_dir=project)

    def change() -> None:
        result = apply_migrations(url, [Migration("0001_note", (RawSql(BRIEF_STEP),))], config=config)
        if result.failure is not None:
            raise RuntimeError(f"the step failed: {result.failure.message}")

    return change


def _former_strategy(url: str) -> Callable[[], None]:
    """zanith's lock handling before the lock wait budget: 5 s ``lock_timeout``, up to 6 tries with
    exponential backoff and jitter, no waiting for blockers before queuing."""

    def change() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for attempt in range(1, 7):
                try:
                    with conn.transaction():
                        conn.execute("SET LOCAL lock_timeout = '5s'")
                        conn.execute(BRIEF_STEP)
                    return
                except psycopg.errors.LockNotAvailable:
                    ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
                    time.sleep(random.uniform(ceiling / 2, ceiling))
        raise RuntimeError("the former strategy did not get its lock in 6 tries")

    return change


def _strategy_rows(server: Server) -> list[dict[str, Any]]:
    """The lock strategy rows: zanith's defaults against the former strategy, behind the same blocker."""
    measured: dict[str, tuple[float, float, float, int]] = {}
    for name in ("defaults", "former"):
        with server.scratch_database("zanith_bench") as url:
            with connect(url) as conn:
                conn.execute(TABLE)
                conn.execute("VACUUM ANALYZE accounts")
            change = _with_defaults(url, Path.cwd()) if name == "defaults" else _former_strategy(url)
            measured[name] = _behind_blocker(url, change)
    (longest, total, window, errors), (old_longest, old_total, old_window, _) = measured["defaults"], measured["former"]
    timeout = Config().lock_timeout
    what = f"ADD COLUMN (ACCESS EXCLUSIVE) behind a {BLOCK_SECONDS:g}s reader, zanith defaults"
    baseline = "the former strategy (5s lock_timeout, 6 tries, no waiting for blockers)"
    return [
        {
            "benchmark": f"longest stall of short transactions: {what}",
            "measured_s": round(longest, 4),
            "baseline": baseline,
            "baseline_s": round(old_longest, 4),
            "ratio": round(longest / old_longest, 3),
            "goal": f"<= 2x lock_timeout ({2 * timeout:g}s)",
            "workload_errors": errors,
        },
        {
            "benchmark": f"total stalled time of short transactions: {what}",
            "measured_s": round(total, 4),
            "baseline": baseline,
            "baseline_s": round(old_total, 4),
            "ratio": round(total / old_total, 3) if old_total else None,
            "goal": "<= 10% of the window",
            "window_s": round(window, 2),
            "share_of_window": round(total / window, 3),
            "baseline_window_s": round(old_window, 2),
        },
    ]


def _quiet(url: str) -> float:
    with Workload(url) as load:
        time.sleep(QUIET_SECONDS)
    return load.p99()


def _zero_downtime(url: str, project: Path) -> Callable[[], None]:
    with connect(url) as conn:
        expand, contract = expand_contract_rename(introspect(conn, ["public"]), "accounts", "email", "mail")
    config = Config(project_dir=project, lock_timeout=0.2, lock_retries=30)

    def change() -> None:
        for run_contract in (False, True):
            result = apply_migrations(url, [expand, contract], config=config, contract=run_contract)
            if result.failure is not None:
                raise RuntimeError(f"expand/contract failed: {result.failure.message}")

    return change


def _naive(url: str) -> Callable[[], None]:
    def change() -> None:
        with psycopg.connect(url) as conn:
            conn.execute("ALTER TABLE accounts RENAME COLUMN email TO mail")
            conn.execute("ALTER TABLE accounts ALTER COLUMN balance TYPE bigint")

    return change


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    results: dict[str, tuple[float, float, float, int]] = {}
    for name in ("expand/contract", "naive"):
        with server.scratch_database("zanith_bench") as url:
            with connect(url) as conn:
                conn.execute(TABLE)
                conn.execute("VACUUM ANALYZE accounts")
            quiet = _quiet(url)
            change = _zero_downtime(url, Path.cwd()) if name == "expand/contract" else _naive(url)
            p99, took, errors = _during(url, change)
            results[name] = (quiet, p99, took, errors)
    labels = {"expand/contract": "expand/contract rename (zanith)", "naive": "naive RENAME + rewriting ALTER TYPE"}
    naive_p99 = results["naive"][1]
    rows = []
    for name, (quiet, p99, took, errors) in results.items():
        label = labels[name]
        rows.append(
            {
                "benchmark": f"p99 of short transactions during {label}, {LONG_TX_SECONDS:g}s reader holding a lock",
                "measured_s": round(p99, 4),
                "baseline": "p99 of the same workload, no change running",
                "baseline_s": round(quiet, 4),
                "ratio": round(p99 / quiet, 1),
                "goal": "report (expand/contract far below naive)",
                "change_s": round(took, 2),
                "workload_errors": errors,
                "p99_vs_naive": round(p99 / naive_p99, 3),
            }
        )
    return rows + _strategy_rows(server)


if __name__ == "__main__":
    for row in run():
        print(row)
