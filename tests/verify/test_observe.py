"""Observed steps: each transactional step's locks, rewrites and time, read from PostgreSQL in the step's
transaction, beside the risk model's prediction (``verify --observe``, issue 18 part 1)."""

from __future__ import annotations

import json
from pathlib import Path

from support import config, migration, raw, write_module, zanith
from verify_support import HARMLESS, make_project, project_config, unlogged_project

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.apply.runner import apply_migrations
from zanith_core.migration_api import AddColumn, AddIndex, Column, CreateTable, Index, PrimaryKey, Table
from zanith_core.servers import Server
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


def test_a_step_outside_a_transaction_is_not_observed(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    seen = observed(
        zanith_db, tmp_path, raw("CREATE INDEX CONCURRENTLY users_id_idx ON users (id)", transactional=False)
    )
    assert seen == {1: None}


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
    plugin = write_module(tmp_path, HARMLESS)
    project = unlogged_project(tmp_path, (plugin,))
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
