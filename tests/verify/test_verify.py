"""verify_on_shadow: each verdict produced for real, with what a person needs to act on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from verify_support import (
    CLEAN_MIGRATIONS,
    SCHEMA_SQL,
    drifting_migrations,
    failing_migrations,
    make_project,
    project_config,
    raw_source,
)

from pytest_zanith.fixtures import ZanithDatabase
from pytest_zanith.options import session_server
from zanith_core.errors import ConfigError, MigrationFileError, SourceError
from zanith_core.migrations.loader import load_migrations
from zanith_core.read import introspect
from zanith_core.servers import Server
from zanith_core.sources import load_schema
from zanith_core.verify import STAGES, verify_on_shadow

UNREACHABLE = "postgresql://zanith:s3cret@127.0.0.1:1/nowhere"


def test_clean_project_is_ok(tmp_path: Path, zanith_shadow: Server) -> None:
    project = make_project(tmp_path)
    verdict = verify_on_shadow(project_config(project), server=zanith_shadow)
    assert verdict.verdict == "ok", verdict.render()
    assert verdict.exit_code == 0
    assert [s.name for s in verdict.stages] == list(STAGES)
    assert all(s.ok is True and s.seconds > 0 for s in verdict.stages)
    assert "3 migrations produce exactly the declared schema" in verdict.detail


def test_hand_edited_migration_is_drift_naming_objects_and_who_touched_them(
    tmp_path: Path, zanith_shadow: Server
) -> None:
    project = make_project(tmp_path, migrations=drifting_migrations())
    verdict = verify_on_shadow(project_config(project), server=zanith_shadow)
    assert verdict.verdict == "drift" and verdict.exit_code == 4
    assert [s.ok for s in verdict.stages] == [True, True, True, False]
    by_path = {d.difference.path: d for d in verdict.drift}
    assert set(by_path) == {"public.users.email", "public.users.users_email_idx"}
    email = by_path["public.users.email"].difference
    assert (email.attribute, email.before, email.after) == ("type", "character varying(100)", "text")
    assert by_path["public.users.email"].last_touched_by == "0002: add_column public.users.email"
    # The deleted index was aimed at by no op any more: the table's last op is the best lead.
    assert by_path["public.users.users_email_idx"].last_touched_by == "0001: create_table public.users"
    assert "column email: type character varying(100) → text" in verdict.detail
    assert "+ index users_email_idx" in verdict.detail
    assert "last touched by 0002: add_column public.users.email" in verdict.detail


def test_step_two_of_three_failing_is_apply_failed_with_what_ran(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    project = make_project(tmp_path, migrations=failing_migrations())
    verdict = verify_on_shadow(project_config(project), shadow_url=zanith_db.url)
    assert verdict.verdict == "apply_failed" and verdict.exit_code == 5
    assert [s.ok for s in verdict.stages] == [True, False, None, None]
    failure = verdict.failure
    assert failure is not None
    assert (failure.migration_id, failure.step_index, failure.steps) == ("0004", 2, 3)
    assert failure.done_steps == (1,)
    assert failure.sql == "INSERT INTO no_such_table VALUES (1);"
    assert 'relation "no_such_table" does not exist' in failure.error
    assert verdict.applied == ("0001", "0002", "0003")
    assert "failed at step 2 of 3" in verdict.detail
    assert "steps of 0004 that ran: 1; not run: 3" in verdict.detail
    assert "INSERT INTO no_such_table VALUES (1);" in verdict.detail
    # The URL shadow is left as the replay left it: step 1 happened, step 3 never did.
    tables = {r[0] for r in zanith_db.conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "step_one" in tables and "step_three" not in tables


def test_unreachable_shadow_is_one_masked_line(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    verdict = verify_on_shadow(project_config(project), shadow_url=UNREACHABLE)
    assert verdict.verdict == "unreachable" and verdict.exit_code == 1
    assert "\n" not in verdict.detail
    assert "s3cret" not in verdict.render() and "s3cret" not in json.dumps(verdict.to_dict())
    assert "127.0.0.1:1/nowhere" in verdict.detail
    assert [s.ok for s in verdict.stages] == [False, None, None, None]


def test_json_shape(tmp_path: Path, zanith_shadow: Server) -> None:
    project = make_project(tmp_path, migrations=drifting_migrations())
    data = verify_on_shadow(project_config(project), server=zanith_shadow).to_dict()
    assert data["verdict"] == "drift"
    assert [set(s) for s in data["stages"]] == [{"name", "seconds", "ok"}] * 4
    assert [s["name"] for s in data["stages"]] == list(STAGES)
    assert isinstance(data["detail"], str) and "column email" in data["detail"]
    assert {d["text"] for d in data["differences"]} >= {"table public.users: + index users_email_idx (email)"}
    json.dumps(data)  # serialisable as is


def test_render_lists_the_four_stages_then_the_verdict(tmp_path: Path) -> None:
    text = verify_on_shadow(project_config(make_project(tmp_path)), shadow_url=UNREACHABLE).render()
    lines = text.splitlines()
    assert [ln.split()[0] for ln in lines[1:5]] == list(STAGES)
    assert lines[1].endswith("failed") and all(ln.endswith("not run") for ln in lines[2:5])
    assert lines[5].startswith("verdict: unreachable")


def test_explicit_declared_and_migrations_override_the_project(tmp_path: Path, zanith_shadow: Server) -> None:
    project = make_project(tmp_path, migrations=drifting_migrations())
    config = project_config(project)
    clean = make_project(tmp_path / "clean")
    verdict = verify_on_shadow(
        config,
        declared=str(clean / "schema.sql"),
        migrations=load_migrations(clean / "migrations"),
        server=zanith_shadow,
    )
    assert verdict.ok, verdict.render()


def test_declared_schema_graph_is_used_as_is(tmp_path: Path, zanith_db: ZanithDatabase, zanith_shadow: Server) -> None:
    project = make_project(tmp_path)
    zanith_db.conn.execute("CREATE TABLE only_this (id int)")
    graph = introspect(zanith_db.conn, ("public",))
    verdict = verify_on_shadow(project_config(project), declared=graph, server=zanith_shadow)
    assert verdict.verdict == "drift"
    assert {d.difference.path for d in verdict.drift if d.difference.object_type == "table"} == {
        "public.only_this",
        "public.users",
        "public.orders",
    }


def test_contract_phases_are_replayed(tmp_path: Path, zanith_shadow: Server) -> None:
    """The declared schema is the end state: a contract phase must not be held back on the shadow."""
    project = make_project(tmp_path)
    (project / "migrations" / "0004_contract.py").write_text(
        "from zanith_core.migration_api import *\n"
        'id = "0004"\nphase = "contract"\n'
        'operations = [RawSql(forward_sql="DROP TABLE orders")]\n'
    )
    (project / "schema.sql").write_text(SCHEMA_SQL.split("CREATE TABLE orders")[0])
    assert verify_on_shadow(project_config(project), server=zanith_shadow).ok


def test_project_errors_are_raised_not_verdicts(tmp_path: Path, zanith_shadow: Server) -> None:
    project = make_project(tmp_path)
    (project / "pyproject.toml").write_text("[tool.zanith]\n")
    with pytest.raises(ConfigError, match="no declared schema"):
        verify_on_shadow(project_config(project), server=zanith_shadow)
    make_project(project)
    (project / "schema.sql").write_text("CREATE TABLE broken (id int\n")
    with pytest.raises(SourceError, match=r"schema\.sql"):
        verify_on_shadow(project_config(project), server=zanith_shadow)
    (project / "migrations" / "0009_bad.py").write_text("id = '0009'\noperations = [Nope()]\n")
    with pytest.raises(MigrationFileError, match=r"0009_bad\.py"):
        verify_on_shadow(project_config(project), server=zanith_shadow)


def test_declared_schema_is_normalised_by_the_shadow_server(tmp_path: Path, zanith_shadow: Server) -> None:
    """The diff stage normalises the declared schema in the shadow itself: same result as a scratch database."""
    project = make_project(tmp_path)
    expected = load_schema(str(project / "schema.sql"), server=zanith_shadow)
    verdict = verify_on_shadow(project_config(project), declared=expected, server=zanith_shadow)
    assert verdict.ok, verdict.render()


def test_session_server_is_the_fixture_server(zanith_shadow: Server) -> None:
    assert session_server().url == zanith_shadow.url


OWN_SCHEMA_SQL = "CREATE SCHEMA app;\nCREATE TABLE app.tickets (id bigint PRIMARY KEY, title text NOT NULL);\n"


@pytest.mark.parametrize(
    "migration",
    [
        [
            raw_source("CREATE SCHEMA app"),
            raw_source("CREATE TABLE app.tickets (id bigint PRIMARY KEY, title text NOT NULL)"),
        ],
        [
            'CreateSchema(name="app")',
            'CreateTable(table=Table(schema="app", name="tickets", columns=(Column(name="id", type="bigint", '
            'nullable=False), Column(name="title", type="text", nullable=False)), '
            'primary_key=PrimaryKey(name="tickets_pkey", columns=("id",))))',
        ],
    ],
    ids=["raw sql", "create_schema op"],
)
def test_migrations_creating_their_own_schema_verify(
    tmp_path: Path, zanith_shadow: Server, migration: list[str]
) -> None:
    """The default reset does not recreate the project's schemas ahead of the migrations' CREATE SCHEMA."""
    project = make_project(
        tmp_path, migrations={"0001_app": migration}, schema_sql=OWN_SCHEMA_SQL, schemas=["public", "app"]
    )
    verdict = verify_on_shadow(project_config(project), server=zanith_shadow)
    assert verdict.ok, verdict.render()


@pytest.mark.parametrize("ignored", [False, True], ids=["order checked", "ignore_column_order"])
def test_column_order_fails_verify_unless_ignored(tmp_path: Path, zanith_shadow: Server, ignored: bool) -> None:
    """The migrations append ``email`` last; the declared schema has it in the middle."""
    declared = SCHEMA_SQL.replace("name text, email text NOT NULL", "email text NOT NULL, name text")
    settings = {"ignore_column_order": True} if ignored else {}
    project = make_project(tmp_path, schema_sql=declared, **settings)
    verdict = verify_on_shadow(project_config(project), server=zanith_shadow)
    if ignored:
        assert verdict.ok, verdict.render()
        return
    assert verdict.verdict == "drift"
    (drift,) = verdict.drift
    assert drift.difference.object_type == "column_order"
    assert "table public.users: column order (id, name, email) → (id, email, name)" in verdict.detail


def test_soft_dropped_objects_are_reported_as_parked_with_their_artifact(tmp_path: Path, zanith_shadow: Server) -> None:
    soft = (
        'SoftDropColumn(table="public.users", column=Column(name="name", type="text"), '
        'physical_name="_zanith_0123abcd_name", position=2)'
    )
    project = make_project(
        tmp_path,
        migrations={**CLEAN_MIGRATIONS, "0004_soft": [soft]},
        schema_sql=SCHEMA_SQL.replace("name text, ", ""),
    )
    verdict = verify_on_shadow(project_config(project), server=zanith_shadow)
    assert verdict.ok, verdict.render()
    (aside,) = verdict.parked
    assert (aside.action, aside.object_type, aside.table, aside.name) == ("parked", "column", "public.users", "name")
    assert aside.artifact is not None
    assert f"column name parked as _zanith_0123abcd_name (soft-dropped, data kept; artifact {aside.artifact})" in (
        verdict.render()
    )
    assert verdict.to_dict()["parked"][0]["before"] == "_zanith_0123abcd_name"
