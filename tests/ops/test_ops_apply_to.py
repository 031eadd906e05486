"""Every op kind, on a real PostgreSQL: ``apply_to`` tells the truth, and the reversal comes back.

For each case: build a small schema with data, introspect it (``before``), execute the op's statements
(in one transaction when the op is transactional, statement by statement in autocommit otherwise),
introspect again and require ``op.apply_to(before) == after``. Then execute ``op.reverse()`` and require
the schema to be ``before`` again — and the rows too, for every op that keeps data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import psycopg
import pytest
from psycopg import sql
from support import execute

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
    DropEnum,
    DropExclusion,
    DropForeignKey,
    DropIndex,
    DropNotNull,
    DropPrimaryKey,
    DropTable,
    DropUnique,
    Operation,
    RawSql,
    RenameColumn,
    RenameIndex,
    RenameTable,
    ReorderColumns,
    ReplaceEnum,
    SetDefault,
    SetNotNull,
    SetPartitionBound,
    SetPersistence,
    SetStorageParameters,
    SoftDropColumn,
    SoftDropTable,
    ValidateConstraint,
)
from zanith_core.ops.enums import enum_users
from zanith_core.read import introspect
from zanith_core.schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ExclusionConstraint,
    ForeignKey,
    IdentityOptions,
    Index,
    PrimaryKey,
    SchemaGraph,
    Sequence,
    Table,
    UniqueConstraint,
)
from zanith_core.schema.identity import default_options

SCHEMA = """
CREATE TYPE public.mood AS ENUM ('sad', 'ok');
CREATE TYPE public.unused AS ENUM ('a', 'b');
CREATE TABLE public.users (
    id serial PRIMARY KEY,
    email text NOT NULL,
    name text,
    "Display Name" varchar(50) DEFAULT 'x',
    score integer NOT NULL DEFAULT 0,
    feeling public.mood,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_score_check CHECK (score >= 0)
);
ALTER TABLE public.users ADD CONSTRAINT users_email_check CHECK (email <> '') NOT VALID;
CREATE INDEX users_name_idx ON public.users (lower(name)) WHERE name IS NOT NULL;
CREATE TABLE public."Order Items" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES public.users (id),
    "Unit Price" numeric(10,2) CHECK ("Unit Price" > 0),
    qty integer,
    note text
);
CREATE INDEX "Order Items_qty_idx" ON public."Order Items" (qty) INCLUDE (note);
CREATE TABLE public.tags (label text NOT NULL, hits integer, legacy text);
INSERT INTO public.users (email, name, score, feeling) VALUES ('a@x', 'Ann', 3, 'ok'), ('b@x', NULL, 0, 'sad');
INSERT INTO public."Order Items" (user_id, "Unit Price", qty, note) VALUES (1, 9.5, 2, 'n1'), (2, 1.25, NULL, NULL);
INSERT INTO public.tags VALUES ('red', 1, NULL), ('blue', 2, NULL);
"""

USERS, ITEMS, TAGS = "public.users", "public.Order Items", "public.tags"


def table(g: SchemaGraph, name: str) -> Table:
    found = g.table(name)
    assert found is not None, name
    return found


ITEMS_ID = default_options("public", "Order Items", "id", "bigint")
TAGS_HITS = default_options("public", "tags", "hits", "integer")
TAGS_EXCLUSION = ExclusionConstraint("tags_label_excl", "EXCLUDE USING btree (label WITH =)", ("label",))
NOTES_SEQ = Sequence("public", "notes_id_seq", "integer", max_value=2147483647, owned_by="public.notes.id")
NOTES = Table(
    "public",
    "notes",
    columns=(
        Column("id", "integer", False, "nextval('public.notes_id_seq'::regclass)"),
        Column("user_id", "integer"),
        Column("body", "character varying(200)", False, "''::character varying"),
    ),
    primary_key=PrimaryKey("notes_pkey", ("id",)),
    indexes=(Index("notes_body_idx", ("lower((body)::text)",), columns=("body",)),),
    foreign_keys=(ForeignKey("notes_user_id_fkey", ("user_id",), USERS, ("id",), on_delete="CASCADE"),),
    checks=(CheckConstraint("notes_body_check", "(length((body)::text) < 150)", columns=("body",)),),
)


MEASURES = Table(
    "public",
    "measures",
    columns=(Column("id", "integer", False), Column("k", "integer", False), Column("v", "text")),
    partition_by="RANGE (k)",
)
MEASURES_PARTS = (
    Table("public", "measures_a", partition_of="public.measures", partition_bound="FOR VALUES FROM (0) TO (10)"),
    Table(
        "public",
        "measures_b",
        partition_of="public.measures",
        partition_bound="FOR VALUES FROM (10) TO (20)",
        partition_by="LIST (id)",
    ),
    Table("public", "measures_b1", partition_of="public.measures_b", partition_bound="FOR VALUES IN (1)"),
)


def partitioned(g: SchemaGraph, last: Callable[[SchemaGraph], Operation]) -> list[Operation]:
    """Create the partitioned ``measures`` (a sub-partitioned partition too), then the op under test."""
    setup = [CreateTable(t) for t in (MEASURES, *MEASURES_PARTS)]
    for op in setup:
        g = op.apply_to(g)
    return [*setup, last(g)]
def replace_mood(g: SchemaGraph, values: tuple[str, ...]) -> ReplaceEnum:
    """``replace_enum`` of ``public.mood`` (its column ``users.feeling`` converted, default kept)."""
    mood = g.enum("public.mood")
    assert mood is not None
    users = enum_users(g, mood)
    return ReplaceEnum(Enum("public", "mood", values), mood, users, users)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[SchemaGraph], list[Operation]]
    """Ops from the starting graph: all but the last are set-up, the last is the op under test."""
    same_rows_after_reverse: bool = True
    reverse_restores_schema: bool = True
    """False where a reversal cannot be exact: a hard drop's dependents come back only by their own ops."""


CASES = [
    Case("create_table", lambda g: [CreateTable(NOTES, (NOTES_SEQ,))]),
    Case("drop_table", lambda g: [DropTable.from_graph(g, ITEMS)], same_rows_after_reverse=False),
    Case("drop_table_serial", lambda g: [DropTable.from_graph(g, ITEMS), DropTable.from_graph(g, USERS)], False),
    Case("soft_drop_table", lambda g: [SoftDropTable.from_graph(g, ITEMS)]),
    Case(
        "soft_drop_table_serial",
        lambda g: [DropForeignKey(ITEMS, table(g, ITEMS).foreign_keys[0]), SoftDropTable.from_graph(g, USERS)],
    ),
    Case("restore_table", lambda g: [op := SoftDropTable.from_graph(g, ITEMS), op.reverse()]),
    Case("rename_table", lambda g: [RenameTable(USERS, "People")]),
    Case("rename_table_partitioned", lambda g: partitioned(g, lambda _: RenameTable("public.measures", "metrics"))),
    Case(
        "rename_table_inherited",
        lambda g: [
            CreateTable(Table("public", "city", columns=(Column("name", "text"),))),
            CreateTable(Table("public", "capital", columns=(Column("state", "text"),), inherits=("public.city",))),
            RenameTable("public.city", "town"),
        ],
    ),
    Case(
        "add_column",
        lambda g: [AddColumn(USERS, Column("nickname", "character varying(20)", default="'anon'::character varying"))],
    ),
    Case(
        "add_column_serial",
        lambda g: [
            AddColumn(
                TAGS,
                Column("n", "bigint", False, "nextval('public.tags_n_seq'::regclass)"),
                (Sequence("public", "tags_n_seq", owned_by="public.tags.n"),),
            )
        ],
    ),
    Case("drop_column", lambda g: [DropColumn.from_graph(g, TAGS, "legacy")], same_rows_after_reverse=False),
    Case("drop_column_with_dependents", lambda g: [DropColumn.from_graph(g, ITEMS, "qty")], False, False),
    Case("soft_drop_column", lambda g: [SoftDropColumn.from_graph(g, TAGS, "label")]),
    Case(
        "soft_drop_column_serial",
        lambda g: [
            DropForeignKey(ITEMS, table(g, ITEMS).foreign_keys[0]),
            DropPrimaryKey(USERS, table(g, USERS).primary_key),  # type: ignore[arg-type]
            SoftDropColumn.from_graph(g, USERS, "id"),
        ],
    ),
    Case("restore_column", lambda g: [op := SoftDropColumn.from_graph(g, TAGS, "label"), op.reverse()]),
    Case("rename_column", lambda g: [RenameColumn(USERS, "id", "User Id")]),
    Case("rename_column_in_expressions", lambda g: [RenameColumn(USERS, "name", "lower")]),
    Case("rename_column_quoted", lambda g: [RenameColumn(ITEMS, "Unit Price", "price")]),
    Case("alter_column_type", lambda g: [AlterColumnType(ITEMS, "qty", "bigint", "integer")]),
    Case(
        "alter_column_type_using",
        lambda g: [AlterColumnType(TAGS, "hits", "text", "integer", using="hits::text", reverse_using="hits::integer")],
    ),
    Case("set_not_null", lambda g: [SetNotNull(TAGS, "hits")]),
    Case(
        "alter_identity",
        lambda g: [
            AlterIdentity(ITEMS, "id", "by default", "always", replace(ITEMS_ID, increment=5, cache=3), ITEMS_ID)
        ],
    ),
    Case(
        "alter_identity_bounds_and_name",
        lambda g: [
            AlterIdentity(ITEMS, "id", "always", "always", IdentityOptions("public.item_ids", 50, 2, 50, 900), ITEMS_ID)
        ],
    ),
    Case("alter_identity_drop", lambda g: [AlterIdentity(ITEMS, "id", None, "always", None, ITEMS_ID)]),
    Case(
        "alter_identity_add",
        lambda g: [SetNotNull(TAGS, "hits"), AlterIdentity(TAGS, "hits", "always", None, TAGS_HITS, None)],
    ),
    Case("rename_table_identity", lambda g: [RenameTable(ITEMS, "Line Items")]),
    Case("rename_column_identity", lambda g: [RenameColumn(ITEMS, "id", "item id")]),
    Case("drop_not_null", lambda g: [DropNotNull(USERS, "email")]),
    Case("set_default", lambda g: [SetDefault(USERS, "name", "'nobody'::text")]),
    Case("set_default_replacing", lambda g: [SetDefault(USERS, "score", "1", old_default="0")]),
    Case("drop_default", lambda g: [DropDefault(USERS, "score", "0")]),
    Case(
        "add_index", lambda g: [AddIndex(USERS, Index("users_email_lower_idx", ("lower(email)",), columns=("email",)))]
    ),
    Case(
        "add_index_plain",
        lambda g: [
            AddIndex(
                ITEMS,
                Index(
                    "Order Items partial",
                    ('"Unit Price" DESC', "qty"),
                    unique=True,
                    predicate="(note IS NOT NULL)",
                    include=("note",),
                    columns=("Unit Price", "note", "qty"),
                ),
                concurrently=False,
            )
        ],
    ),
    Case("drop_index", lambda g: [DropIndex(USERS, table(g, USERS).indexes[0])]),
    Case(
        "set_partition_bound",
        lambda g: partitioned(
            g,
            lambda _: SetPartitionBound(
                "public.measures_a", "public.measures", "FOR VALUES FROM (0) TO (9)", "FOR VALUES FROM (0) TO (10)"
            ),
        ),
    ),
    Case(
        "add_index_partitioned",
        lambda g: partitioned(
            g, lambda p: AddIndex.on(p, "public.measures", Index("measures_v_idx", ("v",), columns=("v",)))
        ),
    ),
    Case(
        "add_unique_partitioned",
        lambda g: partitioned(
            g, lambda p: AddUnique.on(p, "public.measures", UniqueConstraint("measures_k_id_key", ("k", "id")))
        ),
    ),
    Case(
        "add_primary_key_partitioned",
        lambda g: partitioned(
            g, lambda p: AddPrimaryKey.on(p, "public.measures", PrimaryKey("measures_pkey", ("id", "k")))
        ),
    ),
    Case("drop_table_partitioned", lambda g: partitioned(g, lambda p: DropTable.from_graph(p, "public.measures"))),
    Case("rename_index", lambda g: [RenameIndex(ITEMS, "Order Items_qty_idx", "oi qty")]),
    Case("add_primary_key", lambda g: [AddPrimaryKey(TAGS, PrimaryKey("tags_pkey", ("label",)))]),
    Case(
        "add_primary_key_plain",
        lambda g: [SetNotNull(TAGS, "hits"), AddPrimaryKey(TAGS, PrimaryKey("tags_pk", ("hits", "label")), False)],
    ),
    Case("drop_primary_key", lambda g: [DropPrimaryKey(ITEMS, table(g, ITEMS).primary_key)]),  # type: ignore[arg-type]
    Case(
        "drop_primary_key_plain_column",
        lambda g: [
            DropForeignKey(ITEMS, table(g, ITEMS).foreign_keys[0]),
            DropPrimaryKey(USERS, table(g, USERS).primary_key),  # type: ignore[arg-type]
        ],
    ),
    Case("add_foreign_key", lambda g: [AddForeignKey(TAGS, ForeignKey("tags_hits_fkey", ("hits",), USERS, ("id",)))]),
    Case(
        "add_foreign_key_validated",
        lambda g: [
            AddForeignKey(
                TAGS, ForeignKey("tags→users", ("hits",), USERS, ("id",), on_update="CASCADE"), not_valid=False
            )
        ],
    ),
    Case("drop_foreign_key", lambda g: [DropForeignKey(ITEMS, table(g, ITEMS).foreign_keys[0])]),
    Case("add_unique", lambda g: [AddUnique(TAGS, UniqueConstraint("tags_label_key", ("label",)))]),
    Case(
        "add_unique_plain",
        lambda g: [AddUnique(TAGS, UniqueConstraint("tags_pair", ("label", "hits"), deferrable=True), False)],
    ),
    Case("drop_unique", lambda g: [DropUnique(USERS, table(g, USERS).uniques[0])]),
    Case("add_check", lambda g: [AddCheck(TAGS, CheckConstraint("tags_hits_check", "(hits > 0)", columns=("hits",)))]),
    Case(
        "add_check_validated",
        lambda g: [AddCheck(ITEMS, CheckConstraint("qty positive", "(qty > 0)", columns=("qty",)), not_valid=False)],
    ),
    Case("drop_check", lambda g: [DropCheck(USERS, next(c for c in table(g, USERS).checks if c.validated))]),
    Case(
        "drop_check_not_valid", lambda g: [DropCheck(USERS, next(c for c in table(g, USERS).checks if not c.validated))]
    ),
    Case("validate_constraint", lambda g: [ValidateConstraint(USERS, "users_email_check")]),
    Case(
        "validate_foreign_key",
        lambda g: [
            AddForeignKey(TAGS, ForeignKey("tags_hits_fkey", ("hits",), USERS, ("id",))),
            ValidateConstraint(TAGS, "tags_hits_fkey"),
        ],
    ),
    Case("add_exclusion", lambda g: [AddExclusion(TAGS, TAGS_EXCLUSION)]),
    Case(
        "add_exclusion_partial",
        lambda g: [
            AddExclusion(
                ITEMS,
                ExclusionConstraint(
                    "Order Items excl",
                    'EXCLUDE USING btree ("Unit Price" WITH =) WHERE ((qty > 0))',
                    ("Unit Price", "qty"),
                ),
            )
        ],
    ),
    Case("drop_exclusion", lambda g: [AddExclusion(TAGS, TAGS_EXCLUSION), DropExclusion(TAGS, TAGS_EXCLUSION)]),
    Case("create_enum", lambda g: [CreateEnum(Enum("public", "Size", ("s", "m", "it's")))]),
    Case("add_enum_value", lambda g: [AddEnumValue("public.mood", "meh", after="sad")]),
    Case("add_enum_value_before", lambda g: [AddEnumValue("public.mood", "awful", before="sad")]),
    Case("replace_enum", lambda g: [replace_mood(g, ("ok", "sad", "new"))]),
    Case("drop_enum", lambda g: [DropEnum(g.enum("public.unused"))]),  # type: ignore[arg-type]
    Case(
        "backfill",
        lambda g: [Backfill(TAGS, "legacy", "label || '!'", where="legacy IS NULL", reverse_expression="NULL")],
    ),
    Case(
        "raw_sql",
        lambda g: [
            RawSql("UPDATE public.tags SET hits = hits + 1; SELECT ';'", "UPDATE public.tags SET hits = hits - 1")
        ],
    ),
    Case("add_dual_write", lambda g: [AddDualWrite(TAGS, "label", "legacy")]),
    Case("drop_dual_write", lambda g: [op := AddDualWrite(TAGS, "label", "legacy"), op.reverse()]),
    Case(
        "reorder_columns",
        lambda g: [ReorderColumns.from_graph(g, ITEMS, ("id", "note", "qty", "Unit Price", "user_id"))],
    ),
    Case(
        "set_storage_parameters", lambda g: [SetStorageParameters(TAGS, ("fillfactor=70", "autovacuum_enabled=false"))]
    ),
    Case(
        "set_storage_parameters",
        lambda g: [
            SetStorageParameters(USERS, ("fillfactor=90",), index="users_email_key"),
            SetStorageParameters(USERS, ("fillfactor=60",), ("fillfactor=90",), index="users_email_key"),
        ],
    ),
    Case("set_persistence", lambda g: [SetPersistence(TAGS, unlogged=True)]),
]


def rows(conn: psycopg.Connection, g: SchemaGraph) -> dict[str, list[str]]:
    """Every row of every table of ``g``, as sorted JSON text."""
    out = {}
    for t in g.tables:
        query = sql.SQL("SELECT to_jsonb(t)::text FROM {} AS t").format(sql.Identifier(t.schema, t.name))
        out[t.qualified_name] = sorted(r[0] for r in conn.execute(query))
    return out


def test_every_kind_has_a_case() -> None:
    covered = {case.id for case in CASES}
    # The definition family (functions, triggers, policies ...) has its own cases:
    # tests/test_definitions_ops.py holds every one of those kinds to the same rule.
    assert set(CATALOG) - set(DEFINITION_KINDS) <= covered


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_apply_to_matches_postgres_and_reverse_comes_back(zanith_db, case: Case) -> None:
    conn = zanith_db.conn
    conn.execute(SCHEMA)
    *setup, op = case.build(introspect(conn))
    for step in setup:
        execute(conn, step)
    before = introspect(conn)
    data_before = rows(conn, before)

    execute(conn, op)
    after = introspect(conn)
    assert op.apply_to(before) == after

    try:
        reverse = op.reverse()
    except Irreversible:
        assert op.kind == "add_enum_value"
        return
    execute(conn, reverse)
    restored = introspect(conn)
    assert reverse.apply_to(after) == restored
    if op.kind == "validate_constraint":
        assert restored == after  # a validated constraint stays validated (see ops/constraints.py)
        return
    if not case.reverse_restores_schema:
        assert restored != before
        return
    assert restored == before
    if case.same_rows_after_reverse:
        assert rows(conn, restored) == data_before


# -- what the ops do for clients ---------------------------------------------------------------------


def test_dual_write_keeps_old_and_new_columns_in_step(zanith_db) -> None:
    conn = zanith_db.conn
    conn.execute('CREATE TABLE public.t (id int PRIMARY KEY, "Price" text NOT NULL, amount numeric)')
    op = AddDualWrite("public.t", "Price", "amount", expression='"Price"::numeric', reverse_expression="amount::text")
    execute(conn, op)
    conn.execute("""INSERT INTO public.t (id, "Price") VALUES (1, '1.50')""")  # an old writer
    conn.execute("INSERT INTO public.t (id, amount) VALUES (2, 2.5)")  # a new writer
    conn.execute("""UPDATE public.t SET "Price" = '9' WHERE id = 1""")
    conn.execute("UPDATE public.t SET amount = 7 WHERE id = 2")
    assert conn.execute('SELECT id, "Price", amount FROM public.t ORDER BY id').fetchall() == [
        (1, "9", 9),
        (2, "7", 7),
    ]
    with conn.transaction():  # zanith's backfill marks its writes: the trigger leaves them alone
        conn.execute("SET LOCAL zanith.backfill = 'm/0'")
        conn.execute("UPDATE public.t SET amount = 8 WHERE id = 1")
    assert conn.execute('SELECT "Price", amount FROM public.t WHERE id = 1').fetchone() == ("9", 8)

    execute(conn, op.reverse())
    conn.execute("""UPDATE public.t SET "Price" = '3' WHERE id = 1""")
    assert conn.execute('SELECT "Price", amount FROM public.t WHERE id = 1').fetchone() == ("3", 8)
    assert conn.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE '\\_zanith\\_dw%'").fetchone() == (0,)


def test_soft_dropped_column_lets_writers_omit_it_and_comes_back_with_its_values(zanith_db) -> None:
    conn = zanith_db.conn
    conn.execute(SCHEMA)
    op = SoftDropColumn.from_graph(introspect(conn), TAGS, "label")
    execute(conn, op)
    conn.execute("INSERT INTO public.tags (hits) VALUES (3)")  # an old-style insert would fail with NOT NULL
    assert conn.execute("SELECT count(*) FROM public.tags").fetchone() == (3,)
    conn.execute("DELETE FROM public.tags WHERE hits = 3")
    execute(conn, op.reverse())
    assert conn.execute("SELECT label FROM public.tags ORDER BY hits").fetchall() == [("red",), ("blue",)]


def test_two_phase_unique_resumes_after_stopping_between_its_statements(zanith_db) -> None:
    conn = zanith_db.conn
    conn.execute(SCHEMA)
    before = introspect(conn)
    op = AddUnique(TAGS, UniqueConstraint("tags_label_key", ("label",)))
    build, _attach = op.statements()
    conn.execute(build)  # the process died after the concurrent build
    execute(conn, op)  # the re-run skips the finished build and attaches it
    assert introspect(conn) == op.apply_to(before)
