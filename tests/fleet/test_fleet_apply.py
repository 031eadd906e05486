"""``zanith apply --fleet``: plan all first, canary first, stop on the first failure, resume on a rerun,
serialise per target, and never hold more connections than ``--parallel`` (issue 19, parts 2 and 5)."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from support import migration, project, wait_until, write_migration, zanith, zanith_spawn

from zanith_core.config import load_config
from zanith_core.fleet.run import FleetOptions, apply_fleet
from zanith_core.fleet.targets import Target
from zanith_core.migrations.loader import load_migrations
from zanith_core.servers import Server

USERS = migration("0001_users", "CREATE TABLE users (id bigint PRIMARY KEY, email text)")
CHECK = migration("0002_check", "ALTER TABLE users ADD CONSTRAINT users_small CHECK (id < 100)")
SLOW = migration(
    "0002_slow",
    "SELECT pg_sleep(0.4)",
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users)",
    "SELECT pg_sleep(0.4)",
)


@pytest.fixture
def databases(zanith_shadow: Server, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    count = getattr(request, "param", 6)
    with ExitStack() as stack:
        yield [stack.enter_context(zanith_shadow.scratch_database("zanith_fleet")) for _ in range(count)]


def fleet_project(folder: Path, urls: list[str], *migrations: object) -> Path:
    listed = ", ".join(json.dumps(u) for u in urls)
    return project(folder, *migrations, extra_toml=f"\n[tool.zanith.targets]\ndatabases = [{listed}]\n")  # type: ignore[arg-type]


def applied(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('zanith._zanith_migrations')").fetchone() == (None,):
            return []
        return [r[0] for r in conn.execute("SELECT id FROM zanith._zanith_migrations ORDER BY id")]


def step_runs(url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT migration_id, step_index, status FROM zanith._zanith_migration_steps").fetchall()
        return sorted(rows)


def broken_at(tmp_path: Path, databases: list[str], index: int) -> Path:
    """A fleet at 0001 everywhere, whose next migration (a CHECK) the data of target ``index`` breaks."""
    folder = fleet_project(tmp_path, databases, USERS)
    assert zanith("apply", "--fleet", project=folder).exit_code == 0
    with psycopg.connect(databases[index], autocommit=True) as conn:
        conn.execute("INSERT INTO users VALUES (500, 'big')")
    write_migration(CHECK, folder / "migrations")
    return folder


def test_a_canary_failure_stops_the_fleet_before_any_other_target(tmp_path: Path, databases: list[str]) -> None:
    folder = broken_at(tmp_path, databases, 0)  # the canary's data breaks the next migration
    done = zanith("apply", "--fleet", "--json", project=folder)
    assert done.exit_code == 5, done.output
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stopped_at"] == "canary"
    assert [t["status"] for t in result["targets"]] == ["failed"] + ["not_started"] * 5
    assert all(applied(url) == ["0001_users"] for url in databases)  # nobody else ran 0002
    started = [json.loads(line) for line in done.stdout.splitlines()[:-1]]
    assert {e["target"] for e in started if e["event"] == "started"} == {result["targets"][0]["target"]}


def test_a_failure_stops_new_starts_and_the_rerun_resumes_only_the_unfinished(
    tmp_path: Path, databases: list[str]
) -> None:
    folder = broken_at(tmp_path, databases, 3)
    done = zanith("apply", "--fleet", "--parallel", "1", "--json", project=folder)
    assert done.exit_code == 5
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [t["status"] for t in result["targets"]] == [
        "applied",
        "applied",
        "applied",
        "failed",
        "not_started",
        "not_started",
    ]
    assert result["stopped_at"] == "rest"
    with psycopg.connect(databases[3], autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = 500")  # fix the cause
    before = [step_runs(url) for url in databases[:3]]
    again = zanith("apply", "--fleet", "--parallel", "1", "--json", project=folder)
    assert again.exit_code == 0, again.output
    rerun = json.loads(again.stdout.strip().splitlines()[-1])
    assert [t["status"] for t in rerun["targets"]] == ["current"] * 3 + ["applied"] * 3
    assert [step_runs(url) for url in databases[:3]] == before  # the finished targets ran nothing again
    assert all(applied(url) == ["0001_users", "0002_check"] for url in databases)


def test_keep_going_still_starts_the_independent_targets(tmp_path: Path, databases: list[str]) -> None:
    folder = broken_at(tmp_path, databases, 2)
    done = zanith("apply", "--fleet", "--parallel", "1", "--keep-going", project=folder)
    assert done.exit_code == 5
    assert "5 applied, 1 failed" in done.output and "zanith apply --fleet` again" in done.output
    assert [len(applied(url)) for url in databases] == [2, 2, 1, 2, 2, 2]


def test_a_refused_plan_on_one_target_stops_the_fleet_before_anything_writes(
    tmp_path: Path, databases: list[str]
) -> None:
    folder = fleet_project(tmp_path, databases, USERS)
    assert zanith("apply", "--fleet", project=folder).exit_code == 0
    with psycopg.connect(databases[4], autocommit=True) as conn:
        conn.execute("INSERT INTO users SELECT g, 'x' FROM generate_series(1, 20000) g")
        conn.execute("ANALYZE users")  # a big table on one target only: a rewrite there scores high
    write_migration(migration("0002_retype", "ALTER TABLE users ALTER COLUMN id TYPE integer"), folder / "migrations")
    done = zanith("apply", "--fleet", "--budget", "45", "--json", project=folder)
    assert done.exit_code == 3, done.output
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stopped_at"] == "plan"
    assert {t["status"] for t in result["targets"]} >= {"refused"}
    assert all(applied(url) == ["0001_users"] for url in databases)


def held(samples: list[tuple[float, dict[int, str]]]) -> list[int]:
    """Connections held at each sample: a backend counts unless it is idle and gone 50 ms later — one the
    client already closed, still exiting on the server side (pg_stat_activity lists it until it is done)."""
    counts = []
    for n, (when, backends) in enumerate(samples):
        later = [b for t, b in samples[n + 1 :] if t >= when + 0.05]
        after = later[0] if later else backends
        counts.append(sum(1 for pid, state in backends.items() if state != "idle" or pid in after))
    return counts


def test_parallel_bounds_the_connections_held_at_once(tmp_path: Path, zanith_shadow: Server) -> None:
    with ExitStack() as stack:
        urls = [stack.enter_context(zanith_shadow.scratch_database("zanith_fleet")) for _ in range(10)]
        folder = fleet_project(tmp_path, urls, USERS, SLOW)
        names = [psycopg.conninfo.conninfo_to_dict(u)["dbname"] for u in urls]
        samples: list[tuple[float, dict[int, str]]] = []
        done = threading.Event()

        def watch() -> None:
            with psycopg.connect(zanith_shadow.url, autocommit=True) as conn:
                while not done.is_set():
                    rows = conn.execute(
                        "SELECT pid, state FROM pg_stat_activity WHERE datname = ANY(%s)", (names,)
                    ).fetchall()
                    samples.append((time.monotonic(), {pid: str(state) for pid, state in rows}))
                    time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            config = load_config(folder, environ={})
            targets = [Target(n, u) for n, u in zip(names, urls, strict=True)]
            result = apply_fleet(config, targets, load_migrations(config.migrations_dir), FleetOptions(parallel=4))
        finally:
            done.set()
            watcher.join()
    assert result.exit_code == 0, result.summary()
    assert max(held(samples)) == 4  # four at a time, and the slow steps made sure all four were seen together


def test_a_sigkill_midway_leaves_every_target_consistent_and_the_rerun_finishes(
    tmp_path: Path, databases: list[str]
) -> None:
    folder = fleet_project(tmp_path, databases, USERS, SLOW)
    child = zanith_spawn("apply", "--fleet", "--parallel", "2", project=folder)
    try:
        wait_until(lambda: sum(len(applied(u)) == 2 for u in databases) >= 2, what="two targets done")
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    states = [applied(u) for u in databases]
    assert any(len(s) < 2 for s in states)  # killed midway: some targets were not finished
    for url, done in zip(databases, states, strict=True):
        with psycopg.connect(url) as conn:
            orders = conn.execute("SELECT to_regclass('public.orders') IS NOT NULL").fetchone()
        # consistent: orders exists only where its step committed, and 0002 counts as applied only when whole
        if "0002_slow" in done:
            assert orders == (True,)
    again = zanith("apply", "--fleet", "--parallel", "2", project=folder)
    assert again.exit_code == 0, again.output
    assert all(applied(u) == ["0001_users", "0002_slow"] for u in databases)
    status = zanith("status", "--fleet", "--json", project=folder)
    assert json.loads(status.stdout)["summary"] == {"current": len(databases)}


def test_two_concurrent_fleets_serialise_per_target(tmp_path: Path, databases: list[str]) -> None:
    folder = fleet_project(tmp_path, databases, USERS, SLOW)
    first = zanith_spawn("apply", "--fleet", "--parallel", "3", "--json", project=folder)
    second = zanith_spawn("apply", "--fleet", "--parallel", "3", "--json", project=folder)
    outputs = [first.communicate(timeout=120), second.communicate(timeout=120)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    for url in databases:  # every step ran once, whichever fleet ran it
        assert step_runs(url) == [
            ("0001_users", 1, "done"),
            ("0002_slow", 1, "done"),
            ("0002_slow", 2, "done"),
            ("0002_slow", 3, "done"),
        ]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    statuses = [t["status"] for r in results for t in r["targets"]]
    assert statuses.count("applied") == len(databases) and statuses.count("current") == len(databases)


def test_an_unreachable_target_stops_the_fleet_at_the_plan_in_one_line(tmp_path: Path, databases: list[str]) -> None:
    bogus = "postgresql://postgres@127.0.0.1:1/nowhere"
    folder = fleet_project(tmp_path, [*databases[:2], bogus], USERS)
    done = zanith("apply", "--fleet", project=folder)
    assert done.exit_code == 1, done.output
    failed = [line for line in done.output.splitlines() if "nowhere" in line and "failed" in line]
    assert failed and "cannot connect to" in failed[0] and "Traceback" not in done.output
    assert all(applied(url) == [] for url in databases[:2])  # nothing written anywhere
