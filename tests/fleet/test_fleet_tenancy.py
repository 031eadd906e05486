"""Schema-per-tenant end to end, judged independently; and the fleet's views: the status matrix (failed,
drifted, pending), history across targets, and the plain progress lines (issue 19, parts 1, 3, 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
from judge import assert_same_schema
from psycopg import sql
from support import copy_project, migration, project, write_migration, zanith

from zanith_core.servers import Server

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
TENANTS = ("acme", "globex")


def test_the_shop_in_two_tenant_schemas_dumps_as_its_schema_loaded_in_each(
    tmp_path: Path, zanith_shadow: Server
) -> None:
    folder = copy_project(SHOP, tmp_path / "shop")
    shutil.rmtree(folder / "tests", ignore_errors=True)
    with (
        zanith_shadow.scratch_database("zanith_tenants") as migrated,
        zanith_shadow.scratch_database("zanith_declared") as declared,
    ):
        for url in (migrated, declared):
            with psycopg.connect(url, autocommit=True) as conn:
                for tenant in TENANTS:
                    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(tenant)))
        with psycopg.connect(declared, autocommit=True) as conn:
            for tenant in TENANTS:  # the declared SQL, loaded directly into each tenant schema
                conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(tenant)))
                conn.execute((folder / "schema.sql").read_text().encode())
        targets = folder / "targets.toml"
        targets.write_text(f"url = {json.dumps(migrated)}\nschemas = {json.dumps(list(TENANTS))}\n")
        done = zanith("apply", "--fleet", "--targets", str(targets), "--contract", project=folder)
        assert done.exit_code == 0, done.output
        assert "2 targets: 2 applied" in done.output
        assert_same_schema(migrated, declared)
        with psycopg.connect(migrated) as conn:  # each tenant keeps its own ledger, in its own schema
            for tenant in TENANTS:
                rows = conn.execute(
                    sql.SQL("SELECT count(*) FROM {}._zanith_migrations").format(sql.Identifier(tenant))
                )
                assert rows.fetchone() == (6,)
            assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        status = zanith("status", "--fleet", "--targets", str(targets), "--json", project=folder)
        assert json.loads(status.stdout)["line"] == "2 current", status.output


def test_the_status_matrix_shows_failed_drifted_and_pending_targets(tmp_path: Path, zanith_shadow: Server) -> None:
    users = migration("0001_users", "CREATE TABLE users (id bigint PRIMARY KEY, email text)")
    with zanith_shadow.scratch_database("zanith_tenants") as url:
        names = ["t_current", "t_failed", "t_drifted", "t_pending"]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("".join(f"CREATE SCHEMA {n};" for n in names))
        folder = project(
            tmp_path,
            users,
            extra_toml=f"\n[tool.zanith.targets]\nurl = {json.dumps(url)}\nschemas = {json.dumps(names[:3])}\n",
        )
        assert zanith("apply", "--fleet", project=folder).exit_code == 0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO t_failed.users VALUES (500, 'big')")
        write_migration(
            migration("0002_check", "ALTER TABLE users ADD CONSTRAINT small CHECK (id < 100)"), folder / "migrations"
        )
        applied = zanith("apply", "--fleet", "--keep-going", "--canary", "t_current", project=folder)
        assert applied.exit_code == 5
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE t_drifted.users ADD COLUMN hotfix text")  # by hand, after its last migration
        (folder / "pyproject.toml").write_text(
            (folder / "pyproject.toml").read_text().replace(json.dumps(names[:3]), json.dumps(names))
        )
        done = zanith("status", "--fleet", "--json", project=folder)
        assert done.exit_code == 0, done.output
        data = json.loads(done.stdout)
        rows = {t["target"]: t for t in data["targets"]}
        assert {n: rows[n]["state"] for n in names} == {
            "t_current": "current",
            "t_failed": "failed",
            "t_drifted": "drifted",
            "t_pending": "pending",
        }
        assert rows["t_failed"]["migrations"] == {"0001_users": "applied", "0002_check": "failed at step 1"}
        assert rows["t_pending"]["migrations"] == {"0001_users": "pending", "0002_check": "pending"}
        assert data["line"] == "1 current, 1 pending, 1 drifted, 1 failed"
        text = zanith("status", "--fleet", project=folder)
        assert "failed at step 1" in text.output and text.output.rstrip().endswith(
            "1 current, 1 pending, 1 drifted, 1 failed"
        )
        history = json.loads(zanith("history", "--fleet", "--json", project=folder).stdout)
        across = {m["id"]: m for m in history["migrations"]}
        assert across["0001_users"]["targets"] == 3 and across["0002_check"]["targets"] == 2
        assert across["0002_check"]["slowest"] in ("t_current", "t_drifted")


def test_progress_without_a_terminal_is_one_plain_line_per_event(tmp_path: Path, zanith_shadow: Server) -> None:
    users = migration("0001_users", "CREATE TABLE users (id bigint PRIMARY KEY)")
    with zanith_shadow.scratch_database("zanith_tenants") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA a; CREATE SCHEMA b")
        folder = project(
            tmp_path, users, extra_toml=f'\n[tool.zanith.targets]\nurl = {json.dumps(url)}\nschemas = ["a", "b"]\n'
        )
        done = zanith("apply", "--fleet", project=folder)
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[:2] == ["[plan] a planned: 1 steps", "[plan] b planned: 1 steps"] or sorted(lines[:2]) == [
        "[plan] a planned: 1 steps",
        "[plan] b planned: 1 steps",
    ]
    assert "[canary] a started" in lines and "[rest] b started" in lines
    assert lines[-1].startswith("2 targets: 2 applied")
    assert not any("\x1b[" in line for line in lines)  # no live view, no colour: not a terminal
