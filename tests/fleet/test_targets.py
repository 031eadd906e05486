"""Targets as data: the table's shape, secrets only from the environment, a query's rows, and the
project's migrations moved into a tenant schema (issue 19, part 1)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from zanith_core.config import Config
from zanith_core.errors import ConfigError
from zanith_core.fleet.targets import Target, TargetsSpec, read_targets_file, resolve_targets, schema_url
from zanith_core.fleet.tenancy import target_config, target_migrations
from zanith_core.migration_api import AddColumn, AddForeignKey, Column, CreateTable, ForeignKey, Table
from zanith_core.migrations import Migration
from zanith_core.servers import Server


def test_a_password_in_the_file_is_refused_and_one_from_the_environment_is_used() -> None:
    with pytest.raises(ConfigError, match="secrets come from the environment, never from the file"):
        TargetsSpec.parse({"databases": ["postgresql://app:hunter2@db/app"]}, "pyproject.toml")
    spec = TargetsSpec.parse({"databases": ["postgresql://app:${APP_PASSWORD}@db/app"]}, "pyproject.toml")
    (target,) = resolve_targets(spec, {"APP_PASSWORD": "s3cret"})
    assert target.url == "postgresql://app:s3cret@db/app" and "s3cret" not in target.name
    with pytest.raises(ConfigError, match=r"\$\{APP_PASSWORD\} is not set"):
        resolve_targets(spec, {})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "no targets"),
        ({"schemas": ["a"]}, "need targets.url"),
        ({"databases": "postgresql://x/y"}, "must be a list"),
        ({"database": ["x"]}, "unknown key 'database'"),
        ({"url": "", "schemas": ["a"]}, "non-empty string"),
    ],
)
def test_a_malformed_table_says_what_is_wrong(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TargetsSpec.parse(table, "f.toml")


def test_a_targets_file_may_hold_the_keys_at_its_top_or_in_a_table(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('databases = ["postgresql:///one"]\ncanary = ["x"]\n')
    (tmp_path / "b.toml").write_text('[targets]\ndatabases = ["postgresql:///two"]\n')
    assert read_targets_file(tmp_path / "a.toml").canary == ("x",)
    assert read_targets_file(tmp_path / "b.toml").databases == ("postgresql:///two",)
    with pytest.raises(ConfigError, match="cannot read it"):
        read_targets_file(tmp_path / "missing.toml")


def test_a_query_lists_schemas_and_urls(zanith_shadow: Server) -> None:
    with zanith_shadow.scratch_database("zanith_tenants") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE tenants (name text, active bool)")
            conn.execute("INSERT INTO tenants VALUES ('acme', true), ('gone', false), ('globex', true)")
            conn.execute("INSERT INTO tenants VALUES ('postgresql:///elsewhere', true)")
        spec = TargetsSpec.parse(
            {"url": url, "schemas": ["acme"], "query": "SELECT name FROM tenants WHERE active ORDER BY name"}, "t"
        )
        found = resolve_targets(spec)
        assert [(t.name, t.schema) for t in found] == [
            ("postgresql:///elsewhere", None),
            ("acme", "acme"),  # listed and returned: once
            ("globex", "globex"),
        ]
        with pytest.raises(ConfigError, match=r"targets\.query failed: .*no_such"):
            resolve_targets(TargetsSpec.parse({"url": url, "query": "SELECT * FROM no_such"}, "t"))


def test_a_tenant_gets_the_projects_migrations_in_its_schema() -> None:
    users = Table("public", "users", (Column("id", "bigint", False), Column("ref", "bigint")))
    history = [
        Migration(
            "0001",
            (
                CreateTable(users),
                AddColumn("public.users", Column("n", "bigint", default="nextval('public.users_n_seq'::regclass)")),
                AddForeignKey("public.users", ForeignKey("users_ref_fkey", ("ref",), "public.users", ("id",))),
            ),
        )
    ]
    config = Config(schemas=("public",))
    tenant = Target("acme_co", "postgresql:///app", "acme_co")
    (moved,) = target_migrations(config, tenant, history)
    text = "\n".join(op.sql() for op in moved.operations)
    assert '"public"' not in text and "public." not in text
    assert 'CREATE TABLE "acme_co"."users"' in text and "nextval('acme_co.users_n_seq'" in text
    assert 'REFERENCES "acme_co"."users"' in text and moved.operations[2].target.startswith("acme_co.users")
    assert target_migrations(config, Target("db", "postgresql:///app"), history) == tuple(history)
    cfg = target_config(config, tenant)
    assert cfg.schemas == ("acme_co",) and cfg.ledger_schema == "acme_co"
    assert "search_path=acme_co" in (cfg.database_url or "")
    with pytest.raises(ConfigError, match="one schema"):
        target_migrations(Config(schemas=("a", "b")), tenant, history)
    with pytest.raises(ConfigError, match="tenant schema 'Acme Co': schema-per-tenant takes plain names"):
        target_config(config, Target("Acme Co", "postgresql:///app", "Acme Co"))


def test_a_qualifier_is_moved_only_where_it_is_one() -> None:
    history = [Migration("0001", (CreateTable(Table("public", "t", (Column("a", "text", default="'public.x'"),))),))]
    (moved,) = target_migrations(Config(), Target("acme", "postgresql:///app", "acme"), history)
    mover_text = moved.operations[0].sql()
    assert "'acme.x'" in mover_text  # documented: a literal that looks like a qualifier is moved too
    kept = [Migration("0001", (CreateTable(Table("public", "t", (Column("a", "text", default="'notpublic.x'"),))),))]
    (same,) = target_migrations(Config(), Target("acme", "postgresql:///app", "acme"), kept)
    assert "'notpublic.x'" in same.operations[0].sql()


def test_the_search_path_of_a_tenant_session_is_its_schema(zanith_shadow: Server) -> None:
    with zanith_shadow.scratch_database("zanith_tenant_path") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA acme")
        with psycopg.connect(schema_url(url, "acme")) as conn:
            assert conn.execute("SELECT current_schema()").fetchone() == ("acme",)
