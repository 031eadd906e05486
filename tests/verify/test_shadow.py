"""The shadow database: topologies, the reset hook, and cleanup of created databases whatever happens."""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support import write_module, zanith_spawn
from verify_support import failing_migrations, make_project, project_config, raw_source, shadow_databases

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core import ledger
from zanith_core.config import Config
from zanith_core.errors import ConfigError
from zanith_core.migrations.loader import load_migrations
from zanith_core.servers import Server, connect, embedded_server
from zanith_core.verify import verify_on_shadow
from zanith_core.verify.shadow import Topology, choose_topology, disposable, open_shadow

# -- choosing the topology -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "flag", "expected"),
    [
        ({}, None, Topology("embedded")),
        ({"shadow_url": "postgresql://ci@db/shadow"}, None, Topology("url", "postgresql://ci@db/shadow")),
        ({"shadow": "embedded", "shadow_url": "postgresql://ci@db/shadow"}, None, Topology("embedded")),
        ({"shadow": "url", "shadow_url": "postgresql://ci@db/s"}, None, Topology("url", "postgresql://ci@db/s")),
        (
            {"shadow": "ephemeral", "database_url": "postgresql://app@prod/app"},
            None,
            Topology("ephemeral", "postgresql://app@prod/app"),
        ),
        (
            {"shadow": "ephemeral", "database_url": "postgresql://app@prod/app"},
            "postgresql://ci@db/x",
            Topology("url", "postgresql://ci@db/x"),
        ),
    ],
)
def test_topology_follows_config_and_the_flag_overrides_it(
    settings: dict[str, str], flag: str | None, expected: Topology
) -> None:
    assert choose_topology(Config(**settings), flag) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"shadow": "url"}, "needs a shadow database"),
        ({"shadow": "ephemeral"}, "needs database_url"),
        ({"shadow": "docker"}, "unknown shadow topology 'docker'"),
    ],
)
def test_incomplete_topology_is_a_config_error(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_topology(Config(**settings))  # type: ignore[arg-type]


def test_topology_description_masks_the_password() -> None:
    assert Topology("url", "postgresql://ci:pw@db/s").describe() == "url (postgresql://ci:***@db/s)"


# -- the three topologies, for real ----------------------------------------------------------------


def test_embedded_topology_uses_a_fresh_database_on_the_embedded_server(tmp_path: Path) -> None:
    project = make_project(tmp_path, shadow="embedded")
    server = embedded_server()
    with open_shadow(project_config(project)) as shadow, connect(shadow.url) as conn:
        name = conn.info.dbname
        assert shadow.topology == Topology("embedded", server.url) and name.startswith("zanith_shadow_")
    with connect(server.url) as conn:
        assert name not in shadow_databases(conn)
    assert verify_on_shadow(project_config(project)).ok


def test_url_topology_resets_the_named_database_in_place(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    zanith_db.conn.execute("CREATE TABLE leftover (id int)")
    project = make_project(tmp_path, shadow_url=zanith_db.url)
    with open_shadow(project_config(project)) as shadow, connect(shadow.url) as conn:
        assert conn.info.dbname == zanith_db.name
        assert conn.execute("SELECT to_regclass('public.leftover')").fetchone() == (None,)
    assert verify_on_shadow(project_config(project)).ok


@pytest.mark.parametrize("database", ["postgres", "template1"])
def test_a_url_naming_a_maintenance_database_names_its_server(
    tmp_path: Path, zanith_shadow: Server, database: str
) -> None:
    url = make_conninfo(zanith_shadow.url, dbname=database)
    assert choose_topology(Config(), url) == Topology("server", url)
    with open_shadow(project_config(make_project(tmp_path)), shadow_url=url) as shadow, connect(shadow.url) as conn:
        created = conn.info.dbname
        assert created.startswith("zanith_shadow_")  # a fresh database, never the maintenance one reset
    with connect(zanith_shadow.url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (created,)).fetchone() == (0,)


def test_ephemeral_topology_creates_on_the_target_and_drops_after_success(
    tmp_path: Path, zanith_db: ZanithDatabase
) -> None:
    project = make_project(tmp_path, shadow="ephemeral", database_url=zanith_db.url)
    verdict = verify_on_shadow(project_config(project))
    assert verdict.ok, verdict.render()
    assert verdict.shadow.startswith("ephemeral: database zanith_shadow_")
    assert shadow_databases(zanith_db.conn) == []
    # The target itself is untouched: no ledger, no tables.
    assert zanith_db.conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_ephemeral_database_is_dropped_after_apply_failed(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    project = make_project(tmp_path, migrations=failing_migrations(), shadow="ephemeral", database_url=zanith_db.url)
    assert verify_on_shadow(project_config(project)).verdict == "apply_failed"
    assert shadow_databases(zanith_db.conn) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_ephemeral_database_is_dropped_when_the_body_raises(
    tmp_path: Path, zanith_db: ZanithDatabase, error: type[BaseException]
) -> None:
    project = make_project(tmp_path, shadow="ephemeral", database_url=zanith_db.url)
    seen: list[str] = []
    with pytest.raises(error), open_shadow(project_config(project)) as shadow:
        seen.extend(shadow_databases(zanith_db.conn))
        raise error()
    assert len(seen) == 1 and shadow.url.count(seen[0]) == 1
    assert shadow_databases(zanith_db.conn) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ephemeral_database_is_dropped_when_zanith_verify_is_interrupted(
    tmp_path: Path, zanith_db: ZanithDatabase, signum: int
) -> None:
    """A real signal to a ``zanith verify`` process while a migration runs ``pg_sleep(20)``."""
    slow = [raw_source("CREATE TABLE users (id bigint PRIMARY KEY)"), raw_source("SELECT pg_sleep(20)")]
    migrations = {"0001_slow": slow}
    project = make_project(tmp_path, migrations=migrations, shadow="ephemeral", database_url=zanith_db.url)
    proc = zanith_spawn("verify", project=project)
    try:
        shadow = _wait_for_sleeping_shadow(zanith_db.conn, proc.pid)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum  # 130 for Ctrl-C, 143 for SIGTERM
    assert "Traceback" not in err and err.startswith("interrupted by ")
    assert shadow_databases(zanith_db.conn, proc.pid) == []
    assert zanith_db.conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (shadow,)).fetchone() == (0,)


def _wait_for_sleeping_shadow(conn: psycopg.Connection, pid: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT datname FROM pg_stat_activity WHERE starts_with(datname, %s) AND query LIKE 'SELECT pg_sleep%%'",
            (f"zanith_shadow_{pid}_",),
        ).fetchone()
        if row:
            return str(row[0])
        time.sleep(0.1)
    raise AssertionError("zanith verify never reached the sleeping step")


def test_role_without_createdb_is_told_what_to_configure(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    role = f"zanith_nocreatedb_{secrets.token_hex(4)}"
    zanith_db.conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
    try:
        target = make_conninfo(zanith_db.url, user=role)
        project = make_project(tmp_path, shadow="ephemeral", database_url=target)
        verdict = verify_on_shadow(project_config(project))
    finally:
        zanith_db.conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert verdict.verdict == "unreachable"
    assert "\n" not in verdict.detail
    assert f"role '{role}' lacks the CREATEDB privilege" in verdict.detail
    assert f"ALTER ROLE {role} CREATEDB" in verdict.detail and "shadow_url" in verdict.detail


# -- the reset hook --------------------------------------------------------------------------------


def test_a_plugin_overriding_reset_shadow_is_called(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    project = make_project(tmp_path, shadow_url=zanith_db.url)
    calls = project / "calls.txt"
    name = write_module(
        project,
        "from zanith_core.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def reset_shadow(conn, config):\n"
        f"    with open({str(calls)!r}, 'a') as f:\n"
        "        f.write(conn.info.dbname + '\\n')\n"
        "    conn.execute('DROP SCHEMA public CASCADE')\n"
        "    conn.execute('CREATE SCHEMA public')\n"
        "    return True\n",
    )
    verdict = verify_on_shadow(project_config(project, plugins=[name]))
    assert verdict.ok, verdict.render()
    # Once before the replay, once before the declared schema is normalised in the same database.
    assert calls.read_text().split() == [zanith_db.name, zanith_db.name]


def test_the_overriding_plugin_replaces_the_default(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    """A plugin that claims the reset (returns True) and spares the ledger schema: the default never ran."""
    zanith_db.conn.execute("CREATE SCHEMA audit; CREATE TABLE audit.kept (id int)")
    project = make_project(tmp_path, shadow_url=zanith_db.url, ledger_schema="audit")
    name = write_module(
        project,
        "from zanith_core.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def reset_shadow(conn, config):\n"
        "    conn.execute('DROP SCHEMA public CASCADE; CREATE SCHEMA public')\n"
        "    return True\n",
    )
    verdict = verify_on_shadow(project_config(project, plugins=[name]))
    assert verdict.ok, verdict.render()
    assert zanith_db.conn.execute("SELECT to_regclass('audit.kept') IS NOT NULL").fetchone() == (True,)
    # Without the plugin, the default resets the ledger schema too.
    assert verify_on_shadow(project_config(project)).ok
    assert zanith_db.conn.execute("SELECT to_regclass('audit.kept') IS NOT NULL").fetchone() == (False,)


def test_leftovers_of_a_previous_run_never_leak_into_the_next(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    """A used URL shadow: stray objects, and a ledger (in its own schema) claiming every migration applied.

    Had the ledger leaked, the runner would skip every migration and the verdict would be drift.
    """
    project = make_project(tmp_path, shadow_url=zanith_db.url, ledger_schema="zanith_audit")
    assert verify_on_shadow(project_config(project)).ok
    conn = zanith_db.conn
    conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    conn.execute("CREATE TABLE stray (id int); CREATE TYPE mood AS ENUM ('ok')")
    ledger.ensure_ledger(conn, "zanith_audit")
    for m in load_migrations(project / "migrations"):
        conn.execute("INSERT INTO zanith_audit._zanith_migrations (id, checksum) VALUES (%s, %s)", (m.id, m.checksum))
    verdict = verify_on_shadow(project_config(project))
    assert verdict.ok, verdict.render()
    assert "3 migrations" in verdict.detail
    leftovers = conn.execute(
        "SELECT (SELECT count(*) FROM pg_class WHERE relname = 'stray'),"
        " (SELECT count(*) FROM pg_type WHERE typname = 'mood')"
    ).fetchone()
    assert leftovers == (0, 0)


def test_reset_refused_by_the_server_is_unreachable_with_the_reason(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    role = f"zanith_guest_{secrets.token_hex(4)}"
    zanith_db.conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        project = make_project(tmp_path, shadow_url=make_conninfo(zanith_db.url, user=role))
        verdict = verify_on_shadow(project_config(project))
    finally:
        zanith_db.conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert verdict.verdict == "unreachable"
    assert "cannot reset the shadow database" in verdict.detail and "must be owner" in verdict.detail


def test_pid_is_in_the_created_name(zanith_shadow: Server) -> None:
    with open_shadow(Config(), server=zanith_shadow) as shadow, connect(shadow.url) as conn:
        assert conn.info.dbname.startswith(f"zanith_shadow_{os.getpid()}_")


def test_shadow_sessions_skip_waiting_for_wal_flushes(zanith_shadow: Server) -> None:
    with open_shadow(Config(), server=zanith_shadow) as shadow, connect(shadow.url) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)


def test_disposable_keeps_the_url_own_options() -> None:
    url = disposable("postgresql://ci@db/s?options=-c%20search_path%3Dapp")
    assert conninfo_to_dict(url)["options"] == "-c search_path=app -c synchronous_commit=off"


@pytest.mark.slow
def test_a_shadow_with_more_objects_than_one_transaction_can_lock_is_reset(
    tmp_path: Path, zanith_db: ZanithDatabase
) -> None:
    """One ``DROP SCHEMA … CASCADE`` of a 500-table schema ran out of lock slots ("out of shared memory")
    on a default server; the reset drops tables in batches, each transaction well inside the lock table.
    (With one batch for all the tables, this test fails with that error.)"""
    conn = zanith_db.conn
    table = "CREATE TABLE {t} (id int PRIMARY KEY, a text, b int); CREATE INDEX ON {t} (a); CREATE INDEX ON {t} (b)"
    conn.execute(table.format(t="probe"))
    with conn.transaction(force_rollback=True):
        conn.execute("DROP TABLE probe CASCADE")
        per_table = conn.execute("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()").fetchone()
    conn.execute("DROP TABLE probe")
    slots = conn.execute(
        "SELECT current_setting('max_locks_per_transaction')::int"
        " * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)"
    ).fetchone()
    assert per_table is not None and slots is not None
    # The lock table takes spare shared memory beyond its nominal size: on PostgreSQL 15 and 18 one
    # transaction ran out between 2 and 2.5 times the nominal slots; 3 times is past it.
    count = 3 * slots[0] // (per_table[0] - 1)  # one lock of the count is the transaction's own
    assert count <= 3000, f"this server's lock table ({slots[0]} slots) is too large to fill in a test"
    for first in range(0, count, 100):
        conn.execute("; ".join(table.format(t=f"t{n}") for n in range(first, min(count, first + 100))))
    with open_shadow(project_config(make_project(tmp_path)), shadow_url=zanith_db.url):
        left = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone()
    assert left == (0,)
