"""classify(): catalog defaults, parameter rules and context — checked against what PostgreSQL does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zanith_core.ops import (
    AddCheck,
    AddColumn,
    AddEnumValue,
    AddExclusion,
    AddForeignKey,
    AddIndex,
    AddPrimaryKey,
    AddUnique,
    AlterColumnType,
    Backfill,
    CreateTable,
    DropColumn,
    DropExclusion,
    DropIndex,
    RawSql,
    RenameIndex,
    ReorderColumns,
    SetNotNull,
    SetPersistence,
    SetStorageParameters,
    SoftDropColumn,
)
from zanith_core.read import introspect
from zanith_core.risk import Risk, RiskContext, TableStats, classify, classify_sql
from zanith_core.risk.parameters import binary_coercible, is_volatile, proves_not_null
from zanith_core.schema.graph import (
    CheckConstraint,
    Column,
    ExclusionConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Table,
)

USERS = Table(
    "public",
    "users",
    columns=(Column("id", "bigint", nullable=False), Column("name", "text"), Column("age", "integer")),
    primary_key=PrimaryKey("users_pkey", ("id",)),
)
GRAPH = SchemaGraph(tables=(USERS,))
STATIC = RiskContext(graph=GRAPH)


def test_reference_example_hard_drop_scores_80_and_the_soft_alternatives_at_most_35() -> None:
    hard = classify(DropColumn("public.users", Column("name", "text")), STATIC)
    assert (hard.score, hard.level) == (80, "destructive")
    assert "data_loss" in hard.reasons
    soft = [
        SoftDropColumn("public.users", Column("name", "text"), physical_name="_zanith_0_name", position=1),
        AddColumn("public.users", Column("email", "text")),
        AddIndex("public.users", Index("users_age_idx", ("age",), columns=("age",)), concurrently=True),
        Backfill("public.users", "age", "0", reverse_expression="NULL"),
    ]
    for op in soft:
        risk = classify(op, STATIC)
        assert risk.score <= 35, (op.kind, risk)
        assert "data_loss" not in risk.reasons


@pytest.mark.parametrize(
    ("column", "rewrites", "reasons"),
    [
        (Column("c", "integer"), False, ("lock_brief",)),
        (Column("c", "integer", default="0"), False, ("lock_brief",)),
        (Column("c", "timestamp with time zone", default="now()"), False, ("lock_brief",)),
        (Column("c", "double precision", default="random()"), True, ("volatile_default", "table_rewrite")),
        (Column("c", "timestamp with time zone", default="clock_timestamp()"), True, ("volatile_default",)),
        (Column("c", "integer", nullable=False, identity="always"), True, ("table_rewrite",)),
        (Column("c", "integer", generated="(age * 2)"), True, ("table_rewrite",)),
        (Column("c", "integer", nullable=False, default="0"), False, ("lock_brief",)),
    ],
)
def test_add_column_rewrites_exactly_when_postgres_does(
    zanith_db: object, column: Column, rewrites: bool, reasons: tuple[str, ...]
) -> None:
    conn = zanith_db.conn  # type: ignore[attr-defined]
    conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, age integer)")
    conn.execute("INSERT INTO users SELECT g, 'n', g FROM generate_series(1, 50) g")
    op = AddColumn("public.users", column)
    risk = classify(op, RiskContext(graph=introspect(conn)))
    assert set(reasons) <= set(risk.reasons)
    before = _relfilenode(conn, "users")
    conn.execute(op.sql())
    assert (_relfilenode(conn, "users") != before) is rewrites
    assert ("table_rewrite" in risk.reasons) is rewrites
    assert (risk.score > 35) is rewrites


def test_add_not_null_column_without_default_breaks_writers_and_fails_on_rows() -> None:
    risk = classify(AddColumn("public.users", Column("c", "integer", nullable=False)), STATIC)
    assert {"validation_may_fail", "breaks_old_writers"} <= set(risk.reasons)


def test_add_column_with_a_default_rewrote_before_postgres_11() -> None:
    op = AddColumn("public.users", Column("c", "integer", default="0"))
    old = classify(op, RiskContext(graph=GRAPH, server_version_num=100000))
    assert {"table_rewrite", "version_dependent"} <= set(old.reasons)
    assert classify(op, RiskContext(graph=GRAPH, server_version_num=150000)).score == 10


TYPE_CHANGES = [
    ("varchar(20)", "varchar(40)", None),
    ("varchar(20)", "text", None),
    ("varchar(20)", "varchar", None),
    ("text", "varchar", None),
    ("numeric(10,2)", "numeric(12,2)", None),
    ("numeric(10,2)", "numeric", None),
    ("timestamp(3)", "timestamp(6)", None),
    ("timestamp(3)", "timestamp", None),
    ("cidr", "inet", None),
    ("varchar(20)", "varchar(40)", "c::varchar(40)"),
    ("varchar(40)", "varchar(20)", None),
    ("text", "varchar(20)", None),
    ("integer", "bigint", None),
    ("numeric(10,2)", "numeric(12,4)", None),
    ("numeric", "numeric(12,2)", None),
    ("timestamp(6)", "timestamp(3)", None),
    ("timestamp", "timestamptz", None),
    ("varchar(20)", "varchar(40)", "upper(c)"),
]


@pytest.mark.parametrize(("old", "new", "using"), TYPE_CHANGES)
def test_type_change_is_cheap_exactly_when_postgres_keeps_the_table(
    zanith_db: object, old: str, new: str, using: str | None
) -> None:
    conn = zanith_db.conn  # type: ignore[attr-defined]
    # timestamp -> timestamptz skips the rewrite only when the session's TimeZone is UTC, which zanith
    # cannot know for the session that will apply the step; the rule stays conservative.
    conn.execute("SET TimeZone = 'America/New_York'")
    conn.execute(f"CREATE TABLE t (id int PRIMARY KEY, c {old})")
    conn.execute("INSERT INTO t VALUES (1, NULL)")
    graph = introspect(conn)
    canonical = graph.table("public.t").column("c").type  # type: ignore[union-attr]
    op = AlterColumnType("public.t", "c", new, canonical, using=using)
    risk = classify(op, RiskContext(graph=graph))
    before = _relfilenode(conn, "t")
    conn.execute(op.sql())
    rewritten = _relfilenode(conn, "t") != before
    assert ("table_rewrite" in risk.reasons) is rewritten, (old, new, using, risk)
    assert risk.score == (60 if rewritten else 15)


@pytest.mark.parametrize(("old", "new"), [(None, '"C"'), ('"C"', '"C"'), ('"C"', None), ('"C"', '"POSIX"')])
def test_a_collation_change_rebuilds_the_columns_indexes_and_scores_so(
    zanith_db: object, old: str | None, new: str | None
) -> None:
    conn = zanith_db.conn  # type: ignore[attr-defined]
    conn.execute(f"CREATE TABLE t (id int PRIMARY KEY, c text {f'COLLATE {old}' if old else ''})")
    conn.execute("CREATE INDEX t_c_idx ON t (c)")
    graph = introspect(conn)
    op = AlterColumnType("public.t", "c", "text", "text", collation=new, old_collation=old)
    risk = classify(op, RiskContext(graph=graph))
    from_sql = classify_sql(op.sql(), RiskContext(graph=graph))
    before = _relfilenode(conn, "t_c_idx")
    conn.execute(op.sql())
    rebuilt = _relfilenode(conn, "t_c_idx") != before
    assert rebuilt is (old != new)
    assert ("index_build" in risk.reasons) is rebuilt, risk
    assert risk.score == from_sql.score == (50 if rebuilt else 15)


def test_a_collation_change_rebuilds_an_exclusion_constraints_index_too(zanith_db: object) -> None:
    conn = zanith_db.conn  # type: ignore[attr-defined]
    conn.execute("CREATE TABLE t (id int, c text, CONSTRAINT t_c_excl EXCLUDE USING btree (c WITH =))")
    graph = introspect(conn)
    op = AlterColumnType("public.t", "c", "text", "text", collation='"C"')
    risk = classify(op, RiskContext(graph=graph))
    before = _relfilenode(conn, "t_c_excl")
    conn.execute(op.sql())
    assert _relfilenode(conn, "t_c_excl") != before
    assert (risk.score, "index_build" in risk.reasons) == (50, True)


def test_type_change_uses_the_ops_recorded_old_type_when_the_graph_lacks_the_table() -> None:
    op = AlterColumnType("public.other", "c", "text", "character varying(20)")
    assert classify(op, RiskContext()).score == 15
    assert binary_coercible("character varying(20)", "varchar(30)")
    assert not binary_coercible("integer[]", "integer")


def test_set_not_null_is_cheap_with_a_valid_is_not_null_check_on_pg12_or_later(zanith_db: object) -> None:
    conn = zanith_db.conn  # type: ignore[attr-defined]
    conn.execute("CREATE TABLE t (id int, email text, CONSTRAINT email_nn CHECK (email IS NOT NULL))")
    graph = introspect(conn)
    op = SetNotNull("public.t", "email")
    live = classify(op, RiskContext(graph=graph, server_version_num=conn.info.server_version))
    assert (live.score, live.reasons) == (15, ("lock_brief",))
    assert "version_dependent" in classify(op, RiskContext(graph=graph)).reasons
    assert "scan_under_lock" in classify(op, RiskContext(graph=graph, server_version_num=110000)).reasons
    # PostgreSQL agrees: it says it skips the scan.
    notices: list[str] = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    conn.execute("SET client_min_messages = debug1")
    conn.execute(op.sql())
    assert any("sufficient to prove that it does not contain nulls" in n for n in notices)


def test_set_not_null_scans_without_a_proving_check() -> None:
    unvalidated = CheckConstraint("nn", "((name IS NOT NULL))", validated=False, columns=("name",))
    other = CheckConstraint("pos", "((age > 0))", columns=("age",))
    graph = SchemaGraph(tables=(Table("public", "users", columns=USERS.columns, checks=(unvalidated, other)),))
    risk = classify(SetNotNull("public.users", "name"), RiskContext(graph=graph))
    assert {"scan_under_lock", "lock_blocks_reads", "validation_may_fail"} <= set(risk.reasons)
    assert risk.score == 50
    assert proves_not_null("((name IS NOT NULL))", "name")
    assert not proves_not_null("((name IS NULL))", "name")


def test_index_build_concurrently_or_not() -> None:
    index = Index("users_age_idx", ("age",), columns=("age",))
    blocking = classify(AddIndex("public.users", index, concurrently=False), STATIC)
    assert (blocking.score, blocking.reasons) == (50, ("lock_blocks_writes", "index_build"))
    online = classify(AddIndex("public.users", index, concurrently=True), STATIC)
    assert online.reasons == ("index_build", "non_transactional", "invalid_on_failure")
    unique = Index("users_age_key", ("age",), unique=True, columns=("age",))
    assert "validation_may_fail" in classify(AddIndex("public.users", unique), STATIC).reasons
    assert classify(DropIndex("public.users", index, concurrently=True), STATIC).reasons == ("non_transactional",)
    assert classify(DropIndex("public.users", index, concurrently=False), STATIC).reasons == ("lock_brief",)


def test_constraints_not_valid_and_concurrent_forms_score_low() -> None:
    fk = ForeignKey("users_org_fk", ("age",), "public.orgs", ("id",))
    validated = classify(AddForeignKey("public.users", fk, not_valid=False), STATIC)
    assert {"lock_blocks_writes", "scan_under_lock", "locks_referenced_table"} <= set(validated.reasons)
    assert classify(AddForeignKey("public.users", fk, not_valid=True), STATIC).score == 20
    check = CheckConstraint("age_pos", "((age > 0))", columns=("age",))
    assert "scan_under_lock" in classify(AddCheck("public.users", check, not_valid=False), STATIC).reasons
    assert classify(AddCheck("public.users", check, not_valid=True), STATIC).score == 15
    from zanith_core.schema.graph import UniqueConstraint

    uq = UniqueConstraint("users_name_key", ("name",))
    assert classify(AddUnique("public.users", uq, concurrently=False), STATIC).score == 60
    assert "invalid_on_failure" in classify(AddUnique("public.users", uq), STATIC).reasons
    pk = PrimaryKey("users_pkey", ("id",))
    assert classify(AddPrimaryKey("public.users", pk, concurrently=False), STATIC).score == 60
    assert classify(AddPrimaryKey("public.users", pk), STATIC).score == 30


def test_exclusion_constraints_score_the_same_as_op_and_as_hand_written_sql() -> None:
    ex = ExclusionConstraint("users_age_excl", "EXCLUDE USING btree (age WITH =)", ("age",))
    added = classify(AddExclusion("public.users", ex), STATIC)
    assert (added.score, added.reasons) == (60, ("lock_blocks_reads", "index_build", "validation_may_fail"))
    assert classify_sql(f"ALTER TABLE users ADD CONSTRAINT users_age_excl {ex.definition}", STATIC) == added
    holding = RiskContext(graph=SchemaGraph(tables=(replace(USERS, exclusions=(ex,)),)))
    dropped = classify(DropExclusion("public.users", ex), holding)
    assert (dropped.score, dropped.reasons) == (25, ("lock_brief", "breaks_old_writers"))
    assert classify_sql("ALTER TABLE users DROP CONSTRAINT users_age_excl", holding) == dropped
    small = RiskContext(graph=GRAPH, stats={"public.users": TableStats(rows=10, bytes=8192)})
    assert classify(AddExclusion("public.users", ex), small).score == 15


def test_create_table_with_a_foreign_key_locks_the_referenced_table() -> None:
    orgs = Table("public", "orgs", columns=(Column("id", "integer", nullable=False),))
    table = Table(
        "public",
        "members",
        columns=(Column("org_id", "integer"),),
        foreign_keys=(ForeignKey("members_org_fk", ("org_id",), "public.orgs", ("id",)),),
    )
    risk = classify(CreateTable(table), RiskContext(graph=SchemaGraph(tables=(orgs,))))
    assert risk.reasons == ("locks_referenced_table",)
    assert classify(CreateTable(orgs), RiskContext()).reasons == ()


def test_version_rules_for_enum_values_and_index_renames() -> None:
    add = AddEnumValue("public.mood", "happy")
    assert classify(add, RiskContext()).reasons == ("version_dependent", "irreversible")
    assert classify(add, RiskContext(server_version_num=150000)).reasons == ("irreversible",)
    assert "non_transactional" in classify(add, RiskContext(server_version_num=110000)).reasons
    rename = RenameIndex("public.users", "users_age_idx", "users_age_ix")
    assert classify(rename, RiskContext(server_version_num=110000)).reasons == ("lock_brief",)
    assert classify(rename, RiskContext(server_version_num=180000)).score == 5


def test_anything_on_a_table_created_earlier_in_the_plan_is_cheap() -> None:
    ctx = RiskContext(graph=GRAPH, new_tables=frozenset({"public.users"}))
    risk = classify(AlterColumnType("public.users", "age", "bigint", "integer"), ctx)
    assert risk == Risk.of(5, ("small_table",))
    assert classify(DropColumn("public.users", Column("name", "text")), ctx).score == 5


def test_live_statistics_scale_work_under_lock() -> None:
    op = AlterColumnType("public.users", "age", "bigint", "integer")

    def scored(stats: TableStats) -> Risk:
        return classify(op, RiskContext(graph=GRAPH, stats={"public.users": stats}))

    assert scored(TableStats(rows=0, bytes=0)).score == 15
    assert "small_table" in scored(TableStats(rows=0, bytes=0)).reasons
    assert scored(TableStats(rows=200_000, bytes=8 * 1024**2)).score == 60
    large = scored(TableStats(rows=5_000_000, bytes=400 * 1024**2))
    assert (large.score, large.level) == (79, "critical")
    assert "large_table" in large.reasons
    assert scored(TableStats(rows=None, bytes=0)).score == 15
    assert scored(TableStats(rows=None, bytes=2 * 1024**3)).score == 79
    online = AddIndex("public.users", Index("users_age_idx", ("age",), columns=("age",)), concurrently=True)
    big = classify(online, RiskContext(graph=GRAPH, stats={"public.users": TableStats(rows=2_000_000, bytes=0)}))
    assert (big.score, "large_table" in big.reasons) == (35, True)
    # Catalog-only steps do not care about size.
    add = AddColumn("public.users", Column("c", "integer"))
    assert classify(add, RiskContext(stats={"public.users": TableStats(rows=9_000_000, bytes=0)})).score == 10


def test_a_step_without_automatic_reversal_says_so() -> None:
    assert "irreversible" in classify(Backfill("public.users", "age", "0"), STATIC).reasons
    assert "irreversible" not in classify(Backfill("public.users", "age", "0", reverse_expression="NULL")).reasons
    assert "irreversible" in classify(RawSql("SELECT 1")).reasons


def test_raw_sql_ops_are_parsed_not_defaulted() -> None:
    risk = classify(RawSql("CREATE INDEX CONCURRENTLY i ON users (age)", "DROP INDEX i", transactional=False))
    assert risk.reasons == ("index_build", "non_transactional", "invalid_on_failure")


def test_volatility_of_default_expressions() -> None:
    assert not is_volatile("now()")
    assert not is_volatile("CURRENT_TIMESTAMP")
    assert not is_volatile("'x'::text")
    assert is_volatile("gen_random_uuid()")
    assert is_volatile("nextval('users_id_seq'::regclass)")
    assert is_volatile("my_function()")  # CREATE FUNCTION defaults to VOLATILE


def _relfilenode(conn: object, table: str) -> int:
    row = conn.execute("SELECT relfilenode FROM pg_class WHERE relname = %s", (table,)).fetchone()  # type: ignore[attr-defined]
    return int(row[0])


@pytest.mark.parametrize(
    ("op", "score", "reasons"),
    [
        (
            ReorderColumns(Table("public", "t", (Column("a", "int"), Column("b", "text"))), ("b", "a")),
            70,
            {"lock_blocks_reads", "table_rewrite", "index_build", "breaks_old_writers"},
        ),
        (SetStorageParameters("public.t", ("fillfactor=70",)), 5, set()),
        (SetPersistence("public.t", unlogged=True), 60, {"lock_blocks_reads", "table_rewrite"}),
    ],
    ids=["reorder_columns", "set_storage_parameters", "set_persistence"],
)
def test_rebuilds_rewrites_and_catalog_only_storage_changes_score_as_postgres_works(
    op: object, score: int, reasons: set[str]
) -> None:
    """A rebuild and a persistence switch rewrite the table under ACCESS EXCLUSIVE (high); storage
    parameters are a catalog change under SHARE UPDATE EXCLUSIVE (safe)."""
    risk = classify(op, STATIC)  # type: ignore[arg-type]
    assert (risk.score, set(risk.reasons)) == (score, reasons)
    assert risk.level == ("safe" if score <= 10 else "critical" if score >= 66 else "high")
