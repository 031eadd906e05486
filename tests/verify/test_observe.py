"""Observed steps: each transactional step's locks, rewrites and time, read from PostgreSQL in the step's
transaction, beside the risk model's prediction (``verify --observe``, issue 18 part 1)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from support import config, migration, raw, write_module, zanith
from verify_support import harmless_rule, make_project, project_config, unlogged_project

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.apply.observe import Observer
from zanith_core.apply.runner import apply_migrations
from zanith_core.migration_api import AddColumn, AddIndex, Column, CreateTable, Index, PrimaryKey, Table
from zanith_core.servers import Server, connect
from zanith_core.verify import verify_on_shadow

USERS = Table(
    "public",
    "users",
    (Column("id", "integer", False), Column("note", "character varying(10)")),
    PrimaryKey("users_pkey", ("id",)),
)


def observed(db: ZanithDatabase, tmp_path: Path, *steps: object) -> dict[int, object]:
    history = [migration("0001_users", CreateTable(USERS)), migration("0002_change", *steps)]  # type: ignore[arg-type]
    result = apply_migrations(db.url, history, config=config(tmp_path), snapshots=False, observe=True)
    assert result.ok, result.failure and result.failure.message
    return {e.step_index: e.observed for e in result.events if e.migration_id == "0002_change"}


def modes(observation: object, table: str = "public.users") -> set[str]:
    return {h.mode for h in observation.locks if h.relation == table}  # type: ignore[attr-defined]


def test_locks_and_rewrites_are_read_from_the_server(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    seen = observed(
        zanith_db,
        tmp_path,
        AddColumn("public.users", Column("added", "text")),
        raw("ALTER TABLE users ALTER COLUMN id TYPE bigint"),  # int to bigint: the table is written anew
        raw("ALTER TABLE users ALTER COLUMN note TYPE text"),  # binary coercible: no rewrite
        AddIndex("public.users", Index("users_note_idx", ("note",), columns=("note",)), concurrently=False),
        CreateTable(Table("public", "fresh", (Column("id", "integer"),))),
    )
    assert "AccessExclusiveLock" in modes(seen[1]) and seen[1].rewritten == ()  # type: ignore[union-attr]
    assert seen[2].rewritten == ("public.users",)  # type: ignore[union-attr]
    assert "AccessExclusiveLock" in modes(seen[3]) and seen[3].rewritten == ()  # type: ignore[union-attr]
    assert modes(seen[4]) >= {"ShareLock"} and "AccessExclusiveLock" not in modes(seen[4])
    assert seen[5].locks == () and seen[5].rewritten == ()  # type: ignore[union-attr]  # a new table blocks nobody
    assert all(o.seconds >= 0 for o in seen.values())  # type: ignore[union-attr]


@contextmanager
def held_back(db: ZanithDatabase) -> Iterator[None]:
    """While the body runs, a transaction that wrote ``users`` stays open until the runner's backend waits
    for it: ``CREATE INDEX CONCURRENTLY`` waits for the table's writers while it holds its lock, so the
    lock is held for as long as this keeps the writer open, whatever the machine's speed."""
    writer = psycopg.connect(db.url)
    writer.execute("INSERT INTO users (id) VALUES (1)")

    def release() -> None:
        with connect(db.url) as watcher:
            deadline = time.monotonic() + 30
            while (
                time.monotonic() < deadline
                and not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'zanith apply' AND wait_event_type = 'Lock'"
                ).fetchone()
            ):
                time.sleep(0.01)
        time.sleep(HELD_SECONDS)  # a hundred poll intervals with the lock held and the build waiting
        writer.commit()

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        yield
    finally:
        releaser.join()
        writer.close()


HELD_SECONDS = 0.2


def test_a_step_outside_a_transaction_is_watched_from_a_second_connection(
    zanith_db: ZanithDatabase, tmp_path: Path
) -> None:
    cfg = config(tmp_path)
    apply_migrations(zanith_db.url, [migration("0001_users", CreateTable(USERS))], config=cfg, snapshots=False)
    change = migration(
        "0002_change",
        raw("CREATE INDEX CONCURRENTLY users_note_idx ON users (note)", transactional=False),
        raw("VACUUM FULL users", transactional=False),  # refused in a transaction; writes the table anew
    )
    with held_back(zanith_db):
        result = apply_migrations(zanith_db.url, [change], config=cfg, snapshots=False, observe=True)
    assert result.ok, result.failure and result.failure.message
    build, vacuum = (e.observed for e in result.events if e.status == "done")
    assert build is not None and vacuum is not None
    assert modes(build) == {"ShareUpdateExclusiveLock"} and build.rewritten == ()
    assert build.seconds >= HELD_SECONDS  # the wall time includes the wait for the writer
    assert vacuum.rewritten == ("public.users",)


def test_the_watch_stops_with_a_step_that_fails(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    history = [
        migration("0001_users", CreateTable(USERS), "INSERT INTO users VALUES (1, 'a'), (2, 'a')"),
        migration(
            "0002_unique", raw("CREATE UNIQUE INDEX CONCURRENTLY users_note_key ON users (note)", transactional=False)
        ),
    ]
    result = apply_migrations(zanith_db.url, history, config=config(tmp_path), snapshots=False, observe=True)
    assert result.failure is not None and "could not create unique index" in result.failure.message
    assert [e.observed for e in result.events if e.status == "failed"] == [None]
    assert_no_watch(zanith_db)


def test_the_watch_stops_when_the_step_is_interrupted(zanith_db: ZanithDatabase) -> None:
    watch = Observer(("public",)).outside(zanith_db.url, zanith_db.conn)
    with pytest.raises(KeyboardInterrupt), watch:
        assert [t for t in threading.enumerate() if t.name.startswith("zanith observe")]  # it was watching
        raise KeyboardInterrupt
    assert watch.observation is None
    assert_no_watch(zanith_db)


def assert_no_watch(db: ZanithDatabase) -> None:
    """No polling thread is left, and its connection is gone from the server (a backend ends just after
    its client closes the connection, so give it a moment)."""
    assert not [t for t in threading.enumerate() if t.name.startswith("zanith observe")]
    deadline = time.monotonic() + 10
    while db.conn.execute(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'zanith apply observe'"
    ).fetchone():
        assert time.monotonic() < deadline, "the watch's connection is still open"
        time.sleep(0.01)


def test_nothing_is_observed_unless_asked(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    history = [migration("0001_users", CreateTable(USERS))]
    result = apply_migrations(zanith_db.url, history, config=config(tmp_path), snapshots=False)
    assert [e.observed for e in result.events] == [None]


def test_verify_puts_each_prediction_beside_its_observation(tmp_path: Path, zanith_shadow: Server) -> None:
    verdict = verify_on_shadow(project_config(make_project(tmp_path)), server=zanith_shadow, observe=True)
    assert verdict.ok, verdict.render()
    steps = verdict.to_dict()["steps"]
    assert [s["kind"] for s in steps] == ["create_table", "add_column", "add_index", "create_table"]
    email = next(s for s in steps if s["kind"] == "add_column")
    assert set(email) == {"migration", "index", "kind", "target", "predicted", "observed"}
    assert {k: email["predicted"][k] for k in ("lock", "tables", "rewrite")} == {
        "lock": "ACCESS EXCLUSIVE",
        "tables": ["public.users"],
        "rewrite": False,
    }
    assert {"relation": "public.users", "mode": "AccessExclusiveLock", "partition_of": None} in email["observed"][
        "locks"
    ]
    assert email["observed"]["rewritten"] == [] and email["observed"]["seconds"] >= 0
    assert "predicted ACCESS EXCLUSIVE, no rewrite; observed AccessExclusiveLock on public.users" in verdict.render()
    assert "steps" not in verify_on_shadow(project_config(tmp_path), server=zanith_shadow).to_dict()


def test_the_cli_prints_the_steps_as_json(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = zanith("verify", "--observe", "--json", project=project)
    assert done.exit_code == 0, done.output
    steps = json.loads(done.output)["steps"]
    assert [(s["migration"], s["index"]) for s in steps] == [("0001", 1), ("0002", 1), ("0002", 2), ("0003", 1)]


def test_a_plugin_rule_that_calls_a_rewrite_harmless_is_named_and_check_risk_exits_6(tmp_path: Path) -> None:
    plugin = write_module(tmp_path, harmless_rule("set_persistence", "unlogged_is_harmless"))
    project = unlogged_project(tmp_path, plugins=[plugin])
    done = zanith("verify", "--check-risk", "--json", project=project)
    assert done.exit_code == 6, done.output
    data = json.loads(done.stdout)
    assert data["verdict"] == "ok" and data["risk"] == "mismatch"
    by_aspect = {m["aspect"]: m for m in data["mismatches"]}
    assert set(by_aspect) == {"lock", "rewrite"}
    assert by_aspect["rewrite"]["table"] == "public.users" and by_aspect["rewrite"]["observed"] == "rewritten"
    assert by_aspect["lock"]["predicted"] == "blocks nothing" and by_aspect["lock"]["observed"] == "blocks reads"
    assert all(m["wrong"] == f"rule {plugin}.unlogged_is_harmless for set_persistence" for m in data["mismatches"])
    assert zanith("verify", "--json", project=project).exit_code == 0  # without --check-risk: the verdict decides


def test_the_catalog_predicts_the_same_rewrite_and_is_confirmed(tmp_path: Path) -> None:
    done = zanith("verify", "--check-risk", project=unlogged_project(tmp_path))
    assert done.exit_code == 0, done.output
    assert "risk: confirmed" in done.output
