"""plan(): steps, gates and verdicts — static, and against a real target with live statistics."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from zanith_core import ledger
from zanith_core.config import Config
from zanith_core.errors import MigrationFileError, PlanRefused
from zanith_core.migrations import Migration, write_migration
from zanith_core.ops import (
    AddCheck,
    AddColumn,
    AddIndex,
    AlterColumnType,
    Backfill,
    CreateTable,
    DropColumn,
    NotApplicable,
    RawSql,
    SetNotNull,
    SoftDropColumn,
    ValidateConstraint,
)
from zanith_core.plan import Plan, check_budget, check_fresh, plan, plan_project, read_target, require_ok, schema_hash
from zanith_core.read import introspect
from zanith_core.risk.stats import live_stats
from zanith_core.schema.graph import CheckConstraint, Column, Index, PrimaryKey, SchemaGraph, Table
from zanith_core.servers import Server

USERS = Table(
    "public",
    "users",
    columns=(Column("id", "bigint", nullable=False), Column("name", "text"), Column("legacy", "text")),
    primary_key=PrimaryKey("users_pkey", ("id",)),
)
BEFORE = SchemaGraph(tables=(USERS,))
USERS_DDL = "CREATE TABLE users (id bigint NOT NULL, name text, legacy text, CONSTRAINT users_pkey PRIMARY KEY (id))"
EMAIL_INDEX = Index("users_email_idx", ("email",), columns=("email",))


def live_plan(conn: Any, migrations: list[Migration], **options: Any) -> Plan:
    """A plan against the database behind ``conn``: the target read once, then the pure planner."""
    return read_target(conn, migrations, Config()).plan(migrations, **options)


def _reference(drop: Any) -> Migration:
    return Migration(
        "0002_email",
        (
            AddColumn("public.users", Column("email", "text")),
            AddIndex("public.users", EMAIL_INDEX, concurrently=True),
            Backfill("public.users", "email", "name || '@example.com'", reverse_expression="NULL"),
            drop,
        ),
    )


HARD = _reference(DropColumn("public.users", Column("legacy", "text")))
SOFT = _reference(
    SoftDropColumn("public.users", Column("legacy", "text"), physical_name="_zanith_1_legacy", position=2)
)


def test_reference_example_hard_drop_is_refused_naming_the_step() -> None:
    result = plan([HARD], budget=35, graph=BEFORE)
    assert result.verdict == "refused"
    assert [(s.index, s.kind, s.score) for s in result.offending] == [(4, "drop_column", 80)]
    assert not result.gate("budget").passed
    assert "0002_email step 4 (drop_column public.users.legacy) scores 80" in result.gate("budget").detail
    text = result.render()
    assert "verdict: refused (budget)" in text
    assert any(line.startswith("!") and "drop_column" in line for line in text.splitlines())
    with pytest.raises(PlanRefused, match="budget: 1 step"):
        require_ok(result)


def test_reference_example_soft_drop_passes_the_same_budget() -> None:
    result = plan([SOFT], budget=35, graph=BEFORE)
    assert result.verdict == "ok", result.render()
    assert [s.kind for s in result.steps] == ["add_column", "add_index", "backfill", "soft_drop_column"]
    assert all(s.score <= 35 for s in result.steps)
    assert require_ok(result) is result
    assert result.stats == "static" and result.server_version_num is None


def test_plan_json_has_the_documented_shape() -> None:
    data = plan([HARD], budget=35, graph=BEFORE).to_dict()
    assert {"verdict", "budget", "migrations", "gates"} <= set(data)
    assert data["verdict"] == "refused" and data["budget"] == 35
    (migration,) = data["migrations"]
    assert migration["id"] == "0002_email"
    step = migration["steps"][3]
    assert set(step) == {"index", "kind", "target", "sql", "level", "score", "reasons", "will_fail"}
    assert step == {
        "index": 4,
        "kind": "drop_column",
        "target": "public.users.legacy",
        "sql": 'ALTER TABLE "public"."users" DROP COLUMN "legacy";',
        "level": "destructive",
        "score": 80,
        "reasons": ["lock_brief", "data_loss", "breaks_old_readers"],
        "will_fail": False,
    }
    assert [g["name"] for g in data["gates"]] == [
        "budget", "destructive", "irreversible", "large_table_rewrite", "stale_plan", "checksum", "shadow_verified",
    ]  # fmt: skip
    assert all({"name", "passed", "detail"} <= set(g) for g in data["gates"])
    assert data["offending"] == [{"migration": "0002_email", "index": 4}]


def test_pre_state_hash_is_the_sha256_of_the_schema_json() -> None:
    result = plan([SOFT], budget=None, graph=BEFORE)
    assert result.pre_state_hash == hashlib.sha256(BEFORE.to_json().encode()).hexdigest()
    assert check_fresh(result, BEFORE).passed
    changed = check_fresh(result, SchemaGraph())
    assert not changed.passed and "changed since the plan" in changed.detail


def test_each_step_sees_the_schema_the_earlier_steps_made() -> None:
    orders = Table("public", "orders", columns=(Column("id", "bigint"), Column("note", "text")))
    check = CheckConstraint("name_nn", "(name IS NOT NULL)", validated=False, columns=("name",))
    migration = Migration(
        "0003",
        (
            CreateTable(orders),
            AddIndex("public.orders", Index("orders_note_idx", ("note",), columns=("note",)), concurrently=False),
            AddCheck("public.users", check),
            ValidateConstraint("public.users", "name_nn"),
            SetNotNull("public.users", "name"),
        ),
    )
    steps = plan([migration], budget=None, graph=BEFORE).steps
    assert steps[1].reasons == ("small_table",)  # a table created earlier in the plan
    assert steps[4].score == 15  # the validated IS NOT NULL check lets SET NOT NULL skip its scan


def test_advisory_gates_warn_and_can_be_made_to_refuse() -> None:
    migration = Migration(
        "0004", (DropColumn("public.users", Column("legacy", "text")), Backfill("public.users", "name", "'x'"))
    )
    result = plan([migration], budget=None, graph=BEFORE)
    assert result.verdict == "ok"
    assert not result.gate("destructive").passed and not result.gate("destructive").enforcing
    assert not result.gate("irreversible").passed and "step 2 (backfill" in result.gate("irreversible").detail
    strict = plan([migration], budget=None, graph=BEFORE, allow_destructive=False)
    assert strict.verdict == "refused"
    assert [s.index for s in strict.offending] == [1]


@pytest.mark.parametrize(
    ("verified", "passed", "words"),
    [(None, True, "not run"), (True, True, "reached"), (False, False, "failed")],
)
def test_shadow_verified_gate(verified: bool | None, passed: bool, words: str) -> None:
    result = plan([SOFT], budget=35, graph=BEFORE, shadow_verified=verified)
    gate = result.gate("shadow_verified")
    assert (gate.passed, result.verdict) == (passed, "ok" if passed else "refused")
    assert words in gate.detail


def test_check_budget_and_only() -> None:
    refused = plan([SOFT, Migration("0005", (DropColumn("public.users", Column("name", "text")),))], budget=35,
                   graph=BEFORE)  # fmt: skip
    assert refused.verdict == "refused"
    assert refused.only("0002_email").verdict == "ok"
    assert check_budget(refused.only("0002_email"), 35) is None
    message = check_budget(refused.only("0005"), 35)
    assert message is not None and "drop_column" in message and "migration 0005" in message
    assert "migration 0002_email" not in message
    assert check_budget(SOFT, 35) is None
    assert check_budget(HARD, 90) is None
    lone = plan([HARD], budget=35)  # no schema known: scored all the same
    assert lone.pre_state_hash is None and lone.verdict == "refused"
    assert not check_fresh(lone, BEFORE).passed


# -- against a real target ------------------------------------------------------------------------------


def _alter(table: str) -> Migration:
    return Migration(f"0010_{table}", (AlterColumnType(f"public.{table}", "n", "bigint", "integer"),))


def test_live_statistics_change_the_verdict(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE empty (id int PRIMARY KEY, n int)")
    conn.execute("CREATE TABLE full_ (id int PRIMARY KEY, n int)")
    conn.execute("INSERT INTO full_ SELECT g, g FROM generate_series(1, 200000) g")
    conn.execute("ANALYZE full_")
    static = plan([_alter("empty")], budget=35, graph=introspect(conn))
    quiet = live_plan(conn, [_alter("empty")], budget=35)
    busy = live_plan(conn, [_alter("full_")], budget=35)
    assert static.verdict == "refused" and static.stats == "static"
    assert quiet.verdict == "ok", quiet.render()
    assert quiet.steps[0].reasons[-1] == "small_table" and quiet.steps[0].score == 15
    assert busy.verdict == "refused"
    assert busy.steps[0].score == 60
    assert quiet.stats == busy.stats == "live"
    assert quiet.server_version_num == conn.info.server_version
    assert f"PostgreSQL {conn.info.server_version}" in quiet.render()


def test_large_table_rewrite_gate_refuses_even_without_a_budget(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE big (n int)")
    conn.execute("INSERT INTO big SELECT g FROM generate_series(1, 1100000) g")
    conn.execute("ANALYZE big")
    rewrite = live_plan(conn, [_alter("big")], budget=None)
    assert rewrite.verdict == "refused"
    assert not rewrite.gate("large_table_rewrite").passed
    assert rewrite.steps[0].level == "critical" and "large_table" in rewrite.steps[0].reasons
    online = Migration("0011", (AddIndex("public.big", Index("big_n", ("n",), columns=("n",)), concurrently=True),))
    built = live_plan(conn, [online], budget=None)
    assert built.gate("large_table_rewrite").passed and "large_table" in built.steps[0].reasons


def test_applied_migrations_are_skipped_and_their_checksums_checked(zanith_db: Any) -> None:
    conn = zanith_db.conn
    table = Table("public", "things", columns=(Column("id", "integer"),))
    first = Migration("0001_things", (CreateTable(table),))
    second = Migration("0002_more", (AddColumn("public.things", Column("note", "text")),))
    conn.execute(first.operations[0].sql())
    ledger.ensure_ledger(conn, Config.ledger_schema)
    ledger.mark_applied(conn, Config.ledger_schema, first.id, first.checksum, introspect(conn))
    result = live_plan(conn, [first, second], budget=35)
    assert (result.skipped, result.migrations) == (("0001_things",), ("0002_more",))
    assert result.gate("checksum").passed and "1 applied migration" in result.gate("checksum").detail
    assert result.verdict == "ok"
    edited = Migration("0001_things", (CreateTable(Table("public", "things", columns=(Column("id", "bigint"),))),))
    tampered = live_plan(conn, [edited, second], budget=35)
    assert tampered.verdict == "refused"
    assert not tampered.gate("checksum").passed and "0001_things" in tampered.gate("checksum").detail


def test_a_plan_for_another_schema_is_stale(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute(USERS_DDL)
    live = introspect(conn)
    fresh = live_plan(conn, [SOFT], budget=35)
    assert fresh.gate("stale_plan").passed and fresh.pre_state_hash == schema_hash(live)
    assert check_fresh(fresh, live, [SOFT]).passed
    conn.execute("ALTER TABLE users ADD COLUMN extra int")
    changed = check_fresh(fresh, introspect(conn), [SOFT])
    assert not changed.passed and "target schema changed since the plan was made" in changed.detail


def test_a_plan_no_longer_describes_edited_or_other_migrations(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute(USERS_DDL)
    fresh = live_plan(conn, [SOFT], budget=35)
    other = check_fresh(fresh, introspect(conn), [HARD])
    assert not other.passed and "step 4 changed since the plan was made" in other.detail
    more = check_fresh(fresh, introspect(conn), [SOFT, Migration("0009_more", ())])
    assert not more.passed and "0009_more are pending" in more.detail


def test_a_plan_round_trips_through_its_json_document() -> None:
    original = plan([HARD], budget=35, graph=BEFORE)
    again = Plan.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again.to_dict() == original.to_dict()
    assert again.verdict == "refused" and again.offending == original.offending
    with pytest.raises(MigrationFileError, match="not a `zanith plan --json` document"):
        Plan.from_dict({"verdict": "ok"}, origin="plan.json")


def test_live_stats_of_partitioned_tables_sum_their_partitions(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE ev (id int, at date) PARTITION BY RANGE (at)")
    conn.execute("CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')")
    conn.execute("CREATE TABLE ev_2 PARTITION OF ev FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')")
    conn.execute("INSERT INTO ev SELECT g, date '2020-01-01' + (g % 700) FROM generate_series(1, 30000) g")
    conn.execute("ANALYZE ev")
    stats = live_stats(conn, ["public.ev", "public.ev_1", "public.missing"])
    assert set(stats) == {"public.ev", "public.ev_1"}
    assert stats["public.ev"].rows == 30000
    assert stats["public.ev"].bytes > stats["public.ev_1"].bytes > 0
    assert stats["public.ev"].size == "medium"


def test_a_table_never_analysed_has_unknown_rows(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE fresh (n int)")
    assert live_stats(conn, ["fresh"])["public.fresh"].rows in (None, 0)
    assert live_stats(conn, ["fresh"])["public.fresh"].size == "small"
    assert isinstance(live_plan(conn, [], budget=1), Plan)


def test_new_tables_count_across_migrations_only_when_the_target_says_they_deploy_together(zanith_db: Any) -> None:
    table = Table("public", "fresh", columns=(Column("n", "integer"),))
    create = Migration("0020_fresh", (CreateTable(table),))
    alter = _alter("fresh")
    static = plan([create, alter], budget=35, graph=SchemaGraph())
    assert static.steps[1].score == 60 and static.verdict == "refused"
    live = live_plan(zanith_db.conn, [create, alter], budget=35)
    assert live.steps[1].reasons == ("small_table",) and live.verdict == "ok"


def test_a_live_plan_scores_a_migration_an_interrupted_apply_left_half_done(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute(USERS_DDL)
    conn.execute("ALTER TABLE users ADD COLUMN email text")  # step 1 ran, then the apply died
    resumed = live_plan(conn, [SOFT], budget=35)
    assert [s.kind for s in resumed.steps] == ["add_column", "add_index", "backfill", "soft_drop_column"]
    with pytest.raises(NotApplicable, match="already exists"):
        plan([SOFT], budget=35, graph=introspect(conn))  # statically, the same misfit is an error


def test_raw_sql_steps_are_scored_with_live_statistics_too(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE quiet (n int)")
    step = Migration("0030_raw", (RawSql("ALTER TABLE quiet ALTER COLUMN n TYPE bigint", "SELECT 1"),))
    assert plan([step], budget=None).steps[0].score == 60
    live = live_plan(conn, [step], budget=35).steps[0]
    assert (live.score, live.reasons[-1]) == (15, "small_table")


NOTES = Table(
    "public", "notes", columns=(Column("n", "integer"),), checks=(CheckConstraint("n_set", "(n IS NOT NULL)"),)
)
RAW_NOTES = "CREATE TABLE notes (n integer, CONSTRAINT n_set CHECK (n IS NOT NULL))"


def test_a_static_plan_folds_the_state_operations_raw_sql_declares() -> None:
    create = Migration("0001_raw", (RawSql(RAW_NOTES, "DROP TABLE notes", state_operations=(CreateTable(NOTES),)),))
    tighten = Migration("0002_not_null", (SetNotNull("public.notes", "n"),))
    result = plan([create, tighten], budget=35, graph=SchemaGraph())
    assert result.step("0002_not_null", 1).score == 15  # the CHECK the raw SQL declared proves it
    assert RawSql(RAW_NOTES, state_operations=(CreateTable(NOTES),)).apply_to(SchemaGraph()).table("public.notes")


def test_a_static_plan_meeting_opaque_raw_sql_keeps_going() -> None:
    create = Migration("0001_raw", (RawSql(RAW_NOTES, "DROP TABLE notes"),))
    grow = Migration("0002_more", (AddColumn("public.notes", Column("m", "text")),))
    result = plan([create, grow], budget=35, graph=SchemaGraph())  # before: NotApplicable (no table notes)
    assert result.migrations == ("0001_raw", "0002_more") and result.verdict == "ok"


def test_a_static_project_plan_replays_opaque_raw_sql_on_a_scratch_database(
    tmp_path: Path, zanith_shadow: Server
) -> None:
    folder = tmp_path / "migrations"
    write_migration(Migration("0001_raw", (RawSql(RAW_NOTES, "DROP TABLE notes"),)), folder)
    write_migration(Migration("0002_not_null", (SetNotNull("public.notes", "n"),)), folder)
    config = Config(project_dir=tmp_path, shadow_url=zanith_shadow.url)
    result = plan_project(config, budget=35)
    assert result.migrations == ("0001_raw", "0002_not_null")
    assert result.step("0002_not_null", 1).score == 15  # the replayed table's CHECK proves NOT NULL
    assert plan_project(replace(config, baseline="0001_raw"), budget=35).migrations == ("0002_not_null",)
