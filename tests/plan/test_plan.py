"""plan(): steps, gates and verdicts — static, and against a real target with live statistics."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from zanith_core.apply import ledger
from zanith_core.errors import PlanRefused
from zanith_core.migrations import Migration
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
from zanith_core.plan import Plan, check_budget, check_fresh, plan, require_ok, schema_hash
from zanith_core.read import introspect
from zanith_core.risk.stats import live_stats
from zanith_core.schema.graph import CheckConstraint, Column, Index, PrimaryKey, SchemaGraph, Table

USERS = Table(
    "public",
    "users",
    columns=(Column("id", "bigint", nullable=False), Column("name", "text"), Column("legacy", "text")),
    primary_key=PrimaryKey("users_pkey", ("id",)),
)
BEFORE = SchemaGraph(tables=(USERS,))
USERS_DDL = "CREATE TABLE users (id bigint NOT NULL, name text, legacy text, CONSTRAINT users_pkey PRIMARY KEY (id))"
EMAIL_INDEX = Index("users_email_idx", ("email",), columns=("email",))


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
    result = plan([HARD], budget=35, graph_before=BEFORE)
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
    result = plan([SOFT], budget=35, graph_before=BEFORE)
    assert result.verdict == "ok", result.render()
    assert [s.kind for s in result.steps] == ["add_column", "add_index", "backfill", "soft_drop_column"]
    assert all(s.score <= 35 for s in result.steps)
    assert require_ok(result) is result
    assert result.stats == "static" and result.server_version_num is None


def test_plan_json_has_the_documented_shape() -> None:
    data = plan([HARD], budget=35, graph_before=BEFORE).to_dict()
    assert {"verdict", "budget", "migrations", "gates"} <= set(data)
    assert data["verdict"] == "refused" and data["budget"] == 35
    (migration,) = data["migrations"]
    assert migration["id"] == "0002_email"
    step = migration["steps"][3]
    assert set(step) == {"index", "kind", "target", "sql", "level", "score", "reasons"}
    assert step == {
        "index": 4,
        "kind": "drop_column",
        "target": "public.users.legacy",
        "sql": 'ALTER TABLE "public"."users" DROP COLUMN "legacy";',
        "level": "destructive",
        "score": 80,
        "reasons": ["lock_brief", "data_loss", "breaks_old_readers"],
    }
    assert [g["name"] for g in data["gates"]] == [
        "budget", "destructive", "irreversible", "large_table_rewrite", "stale_plan", "checksum", "shadow_verified",
    ]  # fmt: skip
    assert all({"name", "passed", "detail"} <= set(g) for g in data["gates"])
    assert data["offending"] == [{"migration": "0002_email", "index": 4}]


def test_pre_state_hash_is_the_sha256_of_the_schema_json() -> None:
    result = plan([SOFT], budget=None, graph_before=BEFORE)
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
    steps = plan([migration], budget=None, graph_before=BEFORE).steps
    assert steps[1].reasons == ("small_table",)  # a table created earlier in the plan
    assert steps[4].score == 15  # the validated IS NOT NULL check lets SET NOT NULL skip its scan


def test_advisory_gates_warn_and_can_be_made_to_refuse() -> None:
    migration = Migration(
        "0004", (DropColumn("public.users", Column("legacy", "text")), Backfill("public.users", "name", "'x'"))
    )
    result = plan([migration], budget=None, graph_before=BEFORE)
    assert result.verdict == "ok"
    assert not result.gate("destructive").passed and not result.gate("destructive").enforcing
    assert not result.gate("irreversible").passed and "step 2 (backfill" in result.gate("irreversible").detail
    strict = plan([migration], budget=None, graph_before=BEFORE, allow_destructive=False)
    assert strict.verdict == "refused"
    assert [s.index for s in strict.offending] == [1]


@pytest.mark.parametrize(
    ("verified", "passed", "words"),
    [(None, True, "not run"), (True, True, "reached"), (False, False, "failed")],
)
def test_shadow_verified_gate(verified: bool | None, passed: bool, words: str) -> None:
    result = plan([SOFT], budget=35, graph_before=BEFORE, shadow_verified=verified)
    gate = result.gate("shadow_verified")
    assert (gate.passed, result.verdict) == (passed, "ok" if passed else "refused")
    assert words in gate.detail


def test_check_budget_and_only() -> None:
    refused = plan([SOFT, Migration("0005", (DropColumn("public.users", Column("name", "text")),))], budget=35,
                   graph_before=BEFORE)  # fmt: skip
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
    static = plan([_alter("empty")], budget=35, graph_before=introspect(conn))
    quiet = plan([_alter("empty")], budget=35, conn=conn)
    busy = plan([_alter("full_")], budget=35, conn=conn)
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
    rewrite = plan([_alter("big")], budget=None, conn=conn)
    assert rewrite.verdict == "refused"
    assert not rewrite.gate("large_table_rewrite").passed
    assert rewrite.steps[0].level == "critical" and "large_table" in rewrite.steps[0].reasons
    online = Migration("0011", (AddIndex("public.big", Index("big_n", ("n",), columns=("n",)), concurrently=True),))
    built = plan([online], budget=None, conn=conn)
    assert built.gate("large_table_rewrite").passed and "large_table" in built.steps[0].reasons


def test_applied_migrations_are_skipped_and_their_checksums_checked(zanith_db: Any) -> None:
    conn = zanith_db.conn
    table = Table("public", "things", columns=(Column("id", "integer"),))
    first = Migration("0001_things", (CreateTable(table),))
    second = Migration("0002_more", (AddColumn("public.things", Column("note", "text")),))
    conn.execute(first.operations[0].sql())
    ledger.ensure_ledger(conn, "public")
    ledger.mark_applied(conn, "public", first.id, first.checksum, introspect(conn))
    result = plan([first, second], budget=35, conn=conn)
    assert (result.skipped, result.migrations) == (("0001_things",), ("0002_more",))
    assert result.gate("checksum").passed and "1 applied migration" in result.gate("checksum").detail
    assert result.verdict == "ok"
    edited = Migration("0001_things", (CreateTable(Table("public", "things", columns=(Column("id", "bigint"),))),))
    tampered = plan([edited, second], budget=35, conn=conn)
    assert tampered.verdict == "refused"
    assert not tampered.gate("checksum").passed and "0001_things" in tampered.gate("checksum").detail


def test_a_plan_for_another_schema_is_stale(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute(USERS_DDL)
    live = introspect(conn)
    fresh = plan([SOFT], budget=35, conn=conn, graph_before=live)
    assert fresh.gate("stale_plan").passed and fresh.pre_state_hash == schema_hash(live)
    conn.execute("ALTER TABLE users ADD COLUMN extra int")
    stale = plan([SOFT], budget=35, conn=conn, graph_before=live)
    assert not stale.gate("stale_plan").passed and stale.verdict == "refused"
    assert not check_fresh(fresh, introspect(conn)).passed


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
    assert isinstance(plan([], budget=1, conn=conn), Plan)


def test_new_tables_count_across_migrations_only_when_the_target_says_they_deploy_together(zanith_db: Any) -> None:
    table = Table("public", "fresh", columns=(Column("n", "integer"),))
    create = Migration("0020_fresh", (CreateTable(table),))
    alter = _alter("fresh")
    static = plan([create, alter], budget=35, graph_before=SchemaGraph())
    assert static.steps[1].score == 60 and static.verdict == "refused"
    live = plan([create, alter], budget=35, conn=zanith_db.conn)
    assert live.steps[1].reasons == ("small_table",) and live.verdict == "ok"


def test_a_live_plan_scores_a_migration_an_interrupted_apply_left_half_done(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute(USERS_DDL)
    conn.execute("ALTER TABLE users ADD COLUMN email text")  # step 1 ran, then the apply died
    resumed = plan([SOFT], budget=35, conn=conn)
    assert [s.kind for s in resumed.steps] == ["add_column", "add_index", "backfill", "soft_drop_column"]
    with pytest.raises(NotApplicable, match="already exists"):
        plan([SOFT], budget=35, graph_before=introspect(conn))  # statically, the same misfit is an error


def test_raw_sql_steps_are_scored_with_live_statistics_too(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE quiet (n int)")
    step = Migration("0030_raw", (RawSql("ALTER TABLE quiet ALTER COLUMN n TYPE bigint", "SELECT 1"),))
    assert plan([step], budget=None).steps[0].score == 60
    live = plan([step], budget=35, conn=conn).steps[0]
    assert (live.score, live.reasons[-1]) == (15, "small_table")
