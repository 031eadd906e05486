"""Scale: 200 tenant schemas and 60 tenant databases on the local server, with memory bounded by
``--parallel``, not by the number of targets (issue 19, part 5). The 200-database run is the ``fleet``
benchmark's, which fails unless every target is applied; a CI pass here cannot afford creating and
dropping 200 databases twice. That at most ``--parallel`` connections are held is
test_fleet_apply.py's."""

from __future__ import annotations

import json
import tracemalloc
from contextlib import ExitStack
from pathlib import Path

import psycopg
from support import migration, project, zanith

from zanith_core.config import load_config
from zanith_core.fleet.run import FleetOptions, apply_fleet
from zanith_core.fleet.targets import TargetsSpec, resolve_targets
from zanith_core.migrations.loader import load_migrations
from zanith_core.servers import Server

TENANT = migration(
    "0001_tenant",
    "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE invoices (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts)",
)


def test_sixty_tenant_databases(tmp_path: Path, zanith_shadow: Server) -> None:
    with ExitStack() as stack:
        urls = [stack.enter_context(zanith_shadow.scratch_database("zanith_tenant")) for _ in range(60)]
        listed = ", ".join(json.dumps(u) for u in urls)
        folder = project(tmp_path, TENANT, extra_toml=f"\n[tool.zanith.targets]\ndatabases = [{listed}]\n")
        done = zanith("apply", "--fleet", "--parallel", "8", "--canary", "3", "--json", project=folder)
        assert done.exit_code == 0, done.output[-2000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["summary"] == {"applied": 60}
        assert [t["wave"] for t in result["targets"]].count("canary") == 3
        status = zanith("status", "--fleet", "--parallel", "8", "--json", project=folder)
        assert json.loads(status.stdout)["line"] == "60 current"


def fleet_peak(folder: Path, url: str, schemas: list[str]) -> int:
    """Peak bytes Python allocated while the fleet applied ``TENANT`` to ``schemas`` of ``url``."""
    config = load_config(folder, environ={})
    targets = resolve_targets(TargetsSpec.parse({"url": url, "schemas": schemas}, "test"))
    tracemalloc.start()
    try:
        result = apply_fleet(config, targets, load_migrations(config.migrations_dir), FleetOptions(parallel=8))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.counts() == {"applied": len(schemas)}, result.summary()
    return peak


def test_two_hundred_tenant_schemas_in_bounded_memory(tmp_path: Path, zanith_shadow: Server) -> None:
    folder = project(tmp_path, TENANT, schemas=["public"])
    with zanith_shadow.scratch_database("zanith_tenants") as url:
        names = [f"tenant_{n:03d}" for n in range(200)]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("".join(f"CREATE SCHEMA {n};" for n in names))
        few = fleet_peak(folder, url, names[:40])
        many = fleet_peak(folder, url, names[40:])
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname LIKE 'tenant%%'"
                " AND tablename IN ('accounts', 'invoices')"
            ).fetchone()
            ledgers = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname LIKE 'tenant%%' AND tablename = '_zanith_migrations'"
            ).fetchone()
    assert tables == (400,) and ledgers == (200,)  # each tenant has its objects and its own ledger
    assert many < 2 * few, (few, many)  # four times the targets, not four times the memory
