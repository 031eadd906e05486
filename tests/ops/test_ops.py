"""The op catalog without a database: serialisation, SQL text, reversals, validation, graph checks.

``tests/ops/test_ops_apply_to.py`` proves each op against a real server; these tests pin what can be
known without one.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from zanith_core import migration_api
from zanith_core.errors import Irreversible
from zanith_core.ops import (
    CATALOG,
    DEFINITION_KINDS,
    AddCheck,
    AddColumn,
    AddDualWrite,
    AddEnumValue,
    AddExclusion,
    AddForeignKey,
    AddIndex,
    AddPrimaryKey,
    AddUnique,
    AlterColumnType,
    AlterIdentity,
    Backfill,
    CreateEnum,
    CreateTable,
    DropCheck,
    DropColumn,
    DropDefault,
    DropDualWrite,
    DropEnum,
    DropExclusion,
    DropForeignKey,
    DropIndex,
    DropNotNull,
    DropPrimaryKey,
    DropTable,
    DropUnique,
    InvalidOperation,
    Lock,
    NotApplicable,
    Operation,
    RawSql,
    RenameColumn,
    RenameIndex,
    RenameTable,
    ReorderColumns,
    ReplaceEnum,
    RestoreColumn,
    RestoreTable,
    SetDefault,
    SetNotNull,
    SetPartitionBound,
    SetPersistence,
    SetStorageParameters,
    SoftDropColumn,
    SoftDropTable,
    ValidateConstraint,
    operation_from_dict,
)
from zanith_core.ops.altering import aside_name
from zanith_core.schema.expressions import mentions_column, quote_ident, rename_identifier
from zanith_core.schema.graph import (
    Attribute,
    CheckConstraint,
    Column,
    CompositeType,
    Domain,
    Enum,
    ExclusionConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Sequence,
    Table,
    UniqueConstraint,
)
from zanith_core.schema.identity import default_options

ITEMS = "public.Order Items"
PRICE = Column("Unit Price", "numeric(10,2)")
SEQ = Sequence("public", "users_id_seq", "integer", max_value=2147483647, owned_by="public.users.id")
USERS = Table(
    "public",
    "users",
    columns=(
        Column("id", "integer", False, "nextval('public.users_id_seq'::regclass)"),
        Column("email", "text", False),
        Column("name", "text"),
    ),
    primary_key=PrimaryKey("users_pkey", ("id",)),
    indexes=(Index("users_name_idx", ("lower(name)",), predicate="(name IS NOT NULL)", columns=("name",)),),
    uniques=(UniqueConstraint("users_email_key", ("email",)),),
    checks=(CheckConstraint("users_email_check", "(email <> ''::text)", validated=False, columns=("email",)),),
)
FK = ForeignKey("Order Items_user_id_fkey", ("user_id",), "public.users", ("id",))
ORDER_ITEMS = Table(
    "public",
    "Order Items",
    columns=(Column("id", "bigint", False, identity="always"), Column("user_id", "integer", False), PRICE),
    primary_key=PrimaryKey("Order Items_pkey", ("id",)),
    foreign_keys=(FK,),
)
EXCLUSION = ExclusionConstraint("no overlap", 'EXCLUDE USING btree ("Unit Price" WITH =)', ("Unit Price",))
EMAIL_EXCLUSION = ExclusionConstraint("users_name_idx", "EXCLUDE USING btree (email WITH =)", ("email",))
MOOD = Enum("public", "mood", ("sad", "ok"))
ITEMS_ID_SEQ = default_options("public", "Order Items", "id", "bigint")
GRAPH = SchemaGraph(enums=(MOOD,), sequences=(SEQ,), tables=(USERS, ORDER_ITEMS))

#: One op of every kind, with the quoting-sensitive table where it fits.
EXAMPLES: list[Operation] = [
    CreateTable(USERS, (SEQ,)),
    DropTable(ORDER_ITEMS),
    SoftDropTable(ORDER_ITEMS, physical_name="_zanith_0123abcd_Order Items"),
    RestoreTable(ORDER_ITEMS, physical_name="_zanith_0123abcd_Order Items"),
    RenameTable(ITEMS, "Line Items"),
    AddColumn(ITEMS, Column("note", "text", default="'-'::text")),
    DropColumn(ITEMS, PRICE),
    SoftDropColumn(ITEMS, PRICE, physical_name="_zanith_0123abcd_Unit Price", position=2),
    RestoreColumn(ITEMS, PRICE, physical_name="_zanith_0123abcd_Unit Price", position=2),
    RenameColumn(ITEMS, "Unit Price", "price"),
    AlterColumnType(ITEMS, "Unit Price", "numeric(12,2)", "numeric(10,2)", using='"Unit Price"::numeric(12,2)'),
    SetNotNull(ITEMS, "Unit Price"),
    DropNotNull(ITEMS, "user_id"),
    AlterIdentity(ITEMS, "id", "by default", "always", replace(ITEMS_ID_SEQ, increment=5, cache=3), ITEMS_ID_SEQ),
    SetDefault(ITEMS, "Unit Price", "0", old_default="1"),
    DropDefault(ITEMS, "Unit Price", "0"),
    AddIndex(ITEMS, Index("Order Items_price_idx", ('"Unit Price"',), columns=("Unit Price",))),
    DropIndex(ITEMS, Index("Order Items_price_idx", ('"Unit Price"',), columns=("Unit Price",)), concurrently=False),
    RenameIndex(ITEMS, "Order Items_price_idx", "price idx"),
    AddPrimaryKey(ITEMS, PrimaryKey("Order Items_pkey", ("id",))),
    DropPrimaryKey(ITEMS, PrimaryKey("Order Items_pkey", ("id",))),
    AddForeignKey(ITEMS, FK),
    DropForeignKey(ITEMS, FK),
    AddUnique(ITEMS, UniqueConstraint("Order Items_uq", ("user_id", "Unit Price"), nulls_not_distinct=True)),
    DropUnique(ITEMS, UniqueConstraint("Order Items_uq", ("user_id", "Unit Price"))),
    AddCheck(ITEMS, CheckConstraint("price positive", '("Unit Price" > (0)::numeric)', columns=("Unit Price",))),
    DropCheck(ITEMS, CheckConstraint("price positive", '("Unit Price" > (0)::numeric)', columns=("Unit Price",))),
    ValidateConstraint(ITEMS, "price positive"),
    AddExclusion(ITEMS, EXCLUSION),
    DropExclusion(ITEMS, EXCLUSION),
    CreateEnum(Enum("public", "Size", ("s", "it's"))),
    AddEnumValue("public.mood", "meh", after="sad"),
    ReplaceEnum(
        Enum("public", "mood", ("ok", "sad")),
        MOOD,
        (Table("public", "Order Items", (Column("Mood", "public.mood", default="'ok'::public.mood"),)),),
        (Table("public", "Order Items", (Column("Mood", "public.mood", default="'sad'::public.mood"),)),),
    ),
    DropEnum(MOOD),
    Backfill(ITEMS, "Unit Price", "0", reverse_expression="NULL"),
    RawSql("UPDATE t SET a = 1; SELECT 'x;y'", reverse_sql="UPDATE t SET a = 0"),
    AddDualWrite(ITEMS, "Unit Price", "price", expression='"Unit Price"::numeric'),
    DropDualWrite(ITEMS, "Unit Price", "price"),
    SetPartitionBound(
        "public.Events 2024",
        "public.Events",
        "FOR VALUES FROM ('2024-01-01') TO ('2025-07-01')",
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    ),
    ReorderColumns(ORDER_ITEMS, ("id", "Unit Price", "user_id")),
    SetStorageParameters(ITEMS, ("fillfactor=70",), ("fillfactor=90", "autovacuum_enabled=false")),
    SetPersistence(ITEMS, unlogged=True),
]


def test_examples_cover_the_whole_catalog() -> None:
    # The definition family has its own examples (tests/ops/test_definitions_ops.py).
    table_level = set(CATALOG) - set(DEFINITION_KINDS)
    assert sorted(op.kind for op in EXAMPLES) == sorted(table_level)


def test_a_kind_without_a_stage_or_a_default_lock_does_not_import() -> None:
    with pytest.raises(TypeError, match="declares no stage"):

        class NoStage(Operation):
            kind = "no_stage"
            default_lock = Lock.NONE

    with pytest.raises(TypeError, match="declares no default_lock"):

        class NoLock(ValidateConstraint):
            kind = "no_lock"
            default_lock = None  # type: ignore[assignment]

    assert not {"no_stage", "no_lock"} & set(CATALOG)


def test_migration_api_exports_every_op_class() -> None:
    assert {cls.__name__ for cls in CATALOG.values()} <= set(migration_api.__all__)


@pytest.mark.parametrize("op", EXAMPLES, ids=lambda op: op.kind)
def test_json_round_trip(op: Operation) -> None:
    data = json.loads(json.dumps(op.to_dict()))
    assert data["kind"] == op.kind
    assert operation_from_dict(data) == op


@pytest.mark.parametrize("op", EXAMPLES, ids=lambda op: op.kind)
def test_repr_is_python_a_migration_file_can_hold(op: Operation) -> None:
    assert eval(repr(op), dict(vars(migration_api))) == op


@pytest.mark.parametrize("op", EXAMPLES, ids=lambda op: op.kind)
def test_reverse_of_reverse_is_the_op(op: Operation) -> None:
    if op.kind == "add_enum_value":
        assert not op.reversible
        return
    assert op.reverse().reverse() == op


@pytest.mark.parametrize("op", EXAMPLES, ids=lambda op: op.kind)
def test_every_op_validates_and_renders(op: Operation) -> None:
    op.validate()
    text = op.sql()
    assert text.endswith(";")
    assert op.target
    assert isinstance(op.lock, Lock)


@pytest.mark.parametrize("op", [op for op in EXAMPLES if getattr(op, "table", None) == ITEMS], ids=lambda op: op.kind)
def test_identifiers_are_quoted(op: Operation) -> None:
    text = op.sql()
    quoted = (
        '"public"."Order Items_price_idx"' if op.kind in ("drop_index", "rename_index") else '"public"."Order Items"'
    )
    assert quoted in text
    assert "Order Items" not in text.replace('"Order Items"', "").replace("'", "").replace("Order Items_", "")


def test_names_with_quotes_are_escaped() -> None:
    op = RenameColumn('public.we"ird', 'a"b', "c")
    assert op.sql() == 'ALTER TABLE "public"."we""ird" RENAME COLUMN "a""b" TO "c";'


def test_transactional_and_lock_depend_on_fields() -> None:
    index = Index("i", ("a",), columns=("a",))
    assert (AddIndex("t", index).transactional, AddIndex("t", index).lock) == (False, Lock.SHARE_UPDATE_EXCLUSIVE)
    assert (AddIndex("t", index, False).transactional, AddIndex("t", index, False).lock) == (True, Lock.SHARE)
    assert DropIndex("t", index, False).lock is Lock.ACCESS_EXCLUSIVE
    unique = UniqueConstraint("u", ("a",))
    assert not AddUnique("t", unique).transactional
    assert AddUnique("t", unique, concurrently=False).transactional
    assert not AddPrimaryKey("t", PrimaryKey("p", ("a",))).transactional
    assert not Backfill("t", "a", "1").transactional
    assert not RawSql("VACUUM t", transactional=False).transactional
    assert RawSql("SELECT 1").transactional
    assert ValidateConstraint("t", "c").lock is Lock.SHARE_UPDATE_EXCLUSIVE
    assert CreateEnum(MOOD).lock is Lock.NONE


def test_tables_names_every_locked_table() -> None:
    assert AddForeignKey(ITEMS, FK).tables == (ITEMS, "public.users")
    assert CreateTable(ORDER_ITEMS).tables == (ITEMS, "public.users")
    assert SetNotNull("users", "email").tables == ("public.users",)
    assert CreateEnum(MOOD).tables == ()


def test_two_phase_unique_builds_concurrently_then_attaches() -> None:
    op = AddUnique(ITEMS, UniqueConstraint("uq", ("user_id",), deferrable=True, initially_deferred=True))
    build, attach = op.sql().splitlines()
    assert build == 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "uq" ON "public"."Order Items" ("user_id");'
    assert attach == (
        'ALTER TABLE "public"."Order Items" ADD CONSTRAINT "uq" UNIQUE USING INDEX "uq" DEFERRABLE INITIALLY DEFERRED;'
    )


def test_foreign_keys_and_checks_are_added_not_valid_by_default() -> None:
    fk = AddForeignKey(ITEMS, FK)
    assert fk.sql().endswith("NOT VALID;")
    assert fk.foreign_key.validated is False
    assert not AddForeignKey(ITEMS, FK, not_valid=False).sql().endswith("NOT VALID;")
    check = AddCheck("t", CheckConstraint("c", "(a > 0)"))
    assert check.sql().endswith("NOT VALID;") and check.check.validated is False
    assert DropForeignKey(ITEMS, FK).reverse() == AddForeignKey(ITEMS, FK, not_valid=False)


def test_raw_sql_splits_statements_with_the_scanner() -> None:
    op = RawSql("SELECT ';'; DO $$ BEGIN PERFORM 1; END $$;\n")
    assert [s.as_string(None) for s in op.statements()] == ["SELECT ';'", "DO $$ BEGIN PERFORM 1; END $$"]


def test_backfill_renders_the_equivalent_update() -> None:
    op = Backfill(ITEMS, "Unit Price", "price * 2", where="price IS NOT NULL")
    assert op.sql() == 'UPDATE "public"."Order Items" SET "Unit Price" = (price * 2) WHERE price IS NOT NULL;'


def test_soft_drop_column_lifts_not_null_unless_identity() -> None:
    required = replace(PRICE, nullable=False)
    op = SoftDropColumn(ITEMS, required, physical_name="_zanith_x_p", position=2)
    assert op.sql().splitlines()[1] == 'ALTER TABLE "public"."Order Items" ALTER COLUMN "_zanith_x_p" DROP NOT NULL;'
    assert op.reverse().sql().splitlines()[1].endswith('ALTER COLUMN "Unit Price" SET NOT NULL;')
    identity = Column("id", "bigint", False, identity="always")
    assert len(SoftDropColumn(ITEMS, identity, physical_name="_zanith_x_id", position=0).statements()) == 1


# -- reversals that cannot be ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        (AddEnumValue("public.mood", "meh"), "cannot remove a value from an enum type"),
        (RawSql("UPDATE t SET a = 1"), "no reverse_sql given"),
        (Backfill(ITEMS, "Unit Price", "0"), "no reverse_expression"),
    ],
    ids=lambda v: getattr(v, "kind", ""),
)
def test_irreversible_ops_say_why(op: Operation, reason: str) -> None:
    with pytest.raises(Irreversible, match=reason):
        op.reverse()
    assert not op.reversible


def test_validate_constraint_is_its_own_reversal() -> None:
    op = ValidateConstraint(ITEMS, "c")
    assert op.reverse() == op


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (RawSql("  ;  "), "forward_sql is empty"),
        (RawSql("SELECT 1", reverse_sql=""), "reverse_sql is given but empty"),
        (RenameColumn("t", "a", "x" * 64), "longer than 63 bytes"),
        (RenameTable("t", "é" * 32), "longer than 63 bytes"),
        (SoftDropColumn("t", PRICE, physical_name="aside", position=0), "must start with _zanith_"),
        (SoftDropTable(ORDER_ITEMS, physical_name="x"), "must start with _zanith_"),
        (AddEnumValue("public.mood", "x", before="sad", after="ok"), "not both"),
        (CreateTable(ORDER_ITEMS, (SEQ,)), "not owned by a column of public.Order Items"),
        (AddColumn("t", Column("a", "int"), (SEQ,)), "not owned by public.t.a"),
        (AddForeignKey("t", replace(FK, ref_columns=())), "as many referenced columns"),
        (Backfill("t", "a", "1", batch_size=0), "batch_size"),
        (AddExclusion("t", ExclusionConstraint("x", "CHECK (a > 0)")), "must be the EXCLUDE clause"),
        (DropExclusion("t", ExclusionConstraint("x" * 64, "EXCLUDE USING gist (a WITH &&)")), "longer than 63"),
    ],
)
def test_validate_names_the_problem(op: Operation, message: str) -> None:
    with pytest.raises(InvalidOperation, match=message):
        op.validate()


def test_aside_names_are_deterministic_short_and_hidden() -> None:
    long = "ü" * 40
    name = aside_name(f"public.t.{long}", "definition")
    assert name == aside_name(f"public.t.{long}", "definition")
    assert name != aside_name(f"public.t.{long}", "another definition")
    assert name.startswith("_zanith_") and len(name.encode()) <= 63
    name.encode().decode()  # cut on a character boundary


def test_from_graph_records_what_the_reversal_needs() -> None:
    soft = SoftDropColumn.from_graph(GRAPH, "public.users", "id")
    assert (soft.column, soft.position, soft.sequences) == (USERS.columns[0], 0, (SEQ,))
    assert soft.physical_name.startswith("_zanith_") and soft.physical_name.endswith("_id")
    table = SoftDropTable.from_graph(GRAPH, ITEMS)
    assert (table.table, table.sequences) == (ORDER_ITEMS, ())
    assert DropTable.from_graph(GRAPH, "public.users") == DropTable(USERS, (SEQ,))
    assert DropColumn.from_graph(GRAPH, ITEMS, "Unit Price") == DropColumn(ITEMS, PRICE)


# -- apply_to refuses what does not fit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (CreateTable(USERS), "table public.users already exists"),
        (RenameTable("public.nope", "x"), "table public.nope does not exist"),
        (DropTable(USERS, (SEQ,)), "referenced by public.Order Items.Order Items_user_id_fkey"),
        (SoftDropTable.from_graph(GRAPH, "public.users"), "drop those foreign keys first"),
        (DropColumn.from_graph(GRAPH, "public.users", "id"), "used by public.Order Items.Order Items_user_id_fkey"),
        (DropColumn(ITEMS, replace(PRICE, type="text")), "recorded in the operation as"),
        (SoftDropColumn.from_graph(GRAPH, "public.users", "name"), "still has users_name_idx"),
        (
            replace(SoftDropColumn.from_graph(GRAPH, ITEMS, "Unit Price"), position=0),
            "not at the recorded position",
        ),
        (RestoreColumn(ITEMS, PRICE, physical_name="_zanith_x", position=2), "already exists"),
        (RenameColumn("public.users", "name", "email"), "public.users.email already exists"),
        (AlterColumnType(ITEMS, "Unit Price", "text", "integer"), "recorded in the operation as 'integer'"),
        (SetNotNull("public.users", "email"), "already NOT NULL"),
        (DropNotNull("public.users", "id"), "in the primary key"),
        (SetDefault("public.users", "name", "'x'::text", old_default="'y'::text"), "default of public.users.name"),
        (AddIndex("public.users", Index("users_pkey", ("email",), columns=("email",))), "already exists"),
        (AddIndex("public.users", Index("i", ("nope",), columns=("nope",))), "nope does not exist"),
        (DropIndex("public.users", Index("users_name_idx", ("name",), columns=("name",))), "recorded"),
        (RenameIndex("public.users", "users_pkey", "k"), "constraints' indexes are renamed with them"),
        (AddPrimaryKey(ITEMS, PrimaryKey("pk2", ("user_id",))), "already has primary key"),
        (DropPrimaryKey("public.users", PrimaryKey("users_pkey", ("id",))), "drop those foreign keys first"),
        (AddForeignKey(ITEMS, replace(FK, name="fk2", ref_table="public.nope")), "public.nope does not exist"),
        (AddUnique("public.users", UniqueConstraint("users_email_check", ("name",))), "constraint users_email_check"),
        (DropUnique("public.users", UniqueConstraint("users_email_key", ("name",))), "recorded"),
        (ValidateConstraint("public.users", "users_email_key"), "no foreign key or check constraint"),
        (AddExclusion("public.users", EMAIL_EXCLUSION), "relation public.users_name_idx already exists"),
        (AddExclusion("public.users", replace(EMAIL_EXCLUSION, name="users_email_check")), "users_email_check"),
        (AddExclusion("public.users", EXCLUSION), "Unit Price does not exist"),
        (DropExclusion(ITEMS, EXCLUSION), "recorded in the operation as"),
        (AddEnumValue("public.mood", "ok"), "already has the value 'ok'"),
        (AddEnumValue("public.mood", "meh", before="happy"), "has no value 'happy'"),
        (CreateEnum(Enum("public", "users", ("a",))), "type public.users already exists"),
        (DropEnum(MOOD), None),
        (Backfill(ITEMS, "nope", "1"), "nope does not exist"),
        (AddDualWrite(ITEMS, "Unit Price", "nope"), "nope does not exist"),
    ],
)
def test_apply_to_refuses_what_postgres_would(op: Operation, message: str | None) -> None:
    if message is None:  # no column uses the type: dropping is fine
        assert op.apply_to(GRAPH).enums == ()
        return
    with pytest.raises(NotApplicable, match=re.escape(message)):
        op.apply_to(GRAPH)


def test_checks_that_need_another_graph() -> None:
    keyless = GRAPH.with_table(replace(ORDER_ITEMS, primary_key=None)).with_table(replace(USERS, primary_key=None))
    with pytest.raises(NotApplicable, match="identity column"):
        DropNotNull(ITEMS, "id").apply_to(keyless)
    with pytest.raises(NotApplicable, match="nullable; set them NOT NULL first"):
        AddPrimaryKey("public.users", PrimaryKey("pk", ("id", "name"))).apply_to(keyless)


def test_drop_enum_refuses_while_a_column_uses_it() -> None:
    graph = GRAPH.with_table(replace(USERS, columns=(*USERS.columns, Column("moods", "public.mood[]"))))
    with pytest.raises(NotApplicable, match=re.escape("used by column public.users.moods")):
        DropEnum(MOOD).apply_to(graph)


@pytest.mark.parametrize(
    ("user", "sql", "name"),
    [
        (Domain("public", "mood_d", "public.mood"), "CREATE DOMAIN mood_d AS mood", "domain public.mood_d"),
        (
            CompositeType("public", "pair", (Attribute("a", "integer"), Attribute("m", "public.mood[]"))),
            "CREATE TYPE pair AS (a integer, m mood[])",
            "type public.pair",
        ),
    ],
)
def test_drop_enum_refuses_while_a_domain_or_composite_type_uses_it_as_postgres_does(
    zanith_db: Any, user: Domain | CompositeType, sql: str, name: str
) -> None:
    graph = replace(
        GRAPH,
        domains=(user,) if isinstance(user, Domain) else (),
        composite_types=((user,) if isinstance(user, CompositeType) else ()),
    )
    with pytest.raises(NotApplicable, match=re.escape(f"used by {name}")):
        DropEnum(MOOD).apply_to(graph)
    zanith_db.conn.execute(f"CREATE TYPE mood AS ENUM ('sad', 'ok'); {sql}")
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        zanith_db.conn.execute(DropEnum(MOOD).sql())


def test_rename_table_follows_references_and_sequences() -> None:
    after = RenameTable("public.users", "people").apply_to(GRAPH)
    items = after.table(ITEMS)
    assert items is not None and items.foreign_keys[0].ref_table == "public.people"
    assert after.sequences[0].owned_by == "public.people.id"
    assert after.table("public.users") is None


def test_rename_column_follows_every_mention() -> None:
    after = RenameColumn("public.users", "name", "Full Name").apply_to(GRAPH)
    users = after.table("public.users")
    assert users is not None
    assert users.indexes[0] == replace(
        USERS.indexes[0], keys=('lower("Full Name")',), predicate='("Full Name" IS NOT NULL)', columns=("Full Name",)
    )
    after = RenameColumn("public.users", "id", "uid").apply_to(GRAPH)
    items = after.table(ITEMS)
    assert items is not None and items.foreign_keys[0].ref_columns == ("uid",)
    assert after.sequences[0].owned_by == "public.users.uid"


# -- the token-aware expression helpers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "old", "new", "expected"),
    [
        ("(price > 0)", "price", "Cost", '("Cost" > 0)'),
        ("lower(lower) text_pattern_ops", "lower", "up", "lower(up) text_pattern_ops"),
        ("((name)::text <> 'name'::text)", "name", "full name", "((\"full name\")::text <> 'name'::text)"),
        ("(x)::timestamp(3) with time zone > time", "time", "t2", "(x)::timestamp(3) with time zone > t2"),
        ("(a).b + b", "b", "c", "(a).b + c"),
        ('"Order Id" > 0 AND "user" IS NOT NULL', "Order Id", "user", '"user" > 0 AND "user" IS NOT NULL'),
        ("(text)::character varying(10)", "text", "body", "(body)::character varying(10)"),
        ('s COLLATE "C"', "C", "x", 's COLLATE "C"'),
        (
            "EXCLUDE USING gist (room WITH =, during WITH &&)",
            "during",
            "span",
            "EXCLUDE USING gist (room WITH =, span WITH &&)",
        ),
        ("'unterminated", "a", "b", "'unterminated"),
    ],
)
def test_rename_identifier(text: str, old: str, new: str, expected: str) -> None:
    assert rename_identifier(text, old, new) == expected


def test_mentions_column() -> None:
    assert mentions_column("(a + b)", "b")
    assert not mentions_column("lower(x)", "lower")
    assert not mentions_column("'b'::text", "b")


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("users", "users"),
        ("user", '"user"'),
        ("name", "name"),
        ("Users", '"Users"'),
        ("a b", '"a b"'),
        ("1a", '"1a"'),
        ("_x1", "_x1"),
        ('a"b', '"a""b"'),
        ("between", '"between"'),
    ],
)
def test_quote_ident_matches_postgres(name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted
