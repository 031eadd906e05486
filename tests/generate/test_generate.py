"""generate(): differences become safe, reversible operations that reach the declared schema.

Each test builds the current and declared schemas from DDL (normalised by PostgreSQL), generates, and
where it matters runs the migration — and its reversal — on a real database holding rows.
"""

from __future__ import annotations

import psycopg
import pytest
from support import apply_ops, assert_schema, graph_of, kinds, live

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.errors import Irreversible
from zanith_core.generate import GenerateError, generate, generate_operations, reversal
from zanith_core.generate import tables as generate_tables
from zanith_core.generate.renames import RenameHints, RenameUndecided
from zanith_core.ops import AddEnumValue, Backfill, RenameIndex
from zanith_core.servers import Server

USERS = "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {columns});"


def users(columns: str, extra: str = "") -> str:
    return USERS.format(columns=columns) + extra


def rows(db: ZanithDatabase, query: str) -> list[tuple[object, ...]]:
    return db.conn.execute(query).fetchall()  # type: ignore[arg-type]


# -- the reference example -------------------------------------------------------------------------


def test_reference_example_rename_with_copy_gives_add_backfill_index_soft_drop(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = users("name character varying(100) NOT NULL")
    current = graph_of(server, before)
    declared = graph_of(server, users("full_name text", "CREATE INDEX users_full_name_idx ON users (full_name);"))
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO users (name) VALUES ('ada'), ('grace'), ('edsger')")

    migration = generate(current, declared, RenameHints.parse(["users.name=full_name"]), id="0001_full_name")

    assert kinds(migration.operations) == ["add_column", "backfill", "add_index", "soft_drop_column"]
    assert all(op.reversible for op in migration.operations)
    backfill = migration.operations[1]
    assert isinstance(backfill, Backfill)
    assert backfill.expression == 'CAST("name" AS text)'
    apply_ops(zanith_db.url, migration.operations)
    assert_schema(live(zanith_db.url), declared)
    assert rows(zanith_db, "SELECT full_name FROM users ORDER BY id") == [("ada",), ("grace",), ("edsger",)]

    apply_ops(zanith_db.url, reversal(migration.operations))
    assert_schema(live(zanith_db.url), current)
    assert rows(zanith_db, "SELECT name FROM users ORDER BY id") == [("ada",), ("grace",), ("edsger",)]


def test_copy_into_a_not_null_column_with_default_tightens_after_the_backfill(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = users("age text")
    current = graph_of(server, before)
    declared = graph_of(server, users("years integer NOT NULL DEFAULT 0"))
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO users (age) VALUES ('36'), ('85')")

    ops = generate_operations(current, declared, RenameHints.parse(["users.age=years"]))

    assert kinds(ops) == ["add_column", "backfill", "set_default", "set_not_null", "soft_drop_column"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    assert rows(zanith_db, "SELECT years FROM users ORDER BY id") == [(36,), (85,)]


# -- renames ---------------------------------------------------------------------------------------


def test_column_rename_is_rename_column_never_drop_and_add_and_data_survives(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = users("email text NOT NULL", "CREATE INDEX users_email_idx ON users (email);")
    current = graph_of(server, before)
    declared = graph_of(server, users("mail text NOT NULL", "CREATE INDEX users_email_idx ON users (mail);"))
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO users (email) VALUES ('a@x'), ('b@x')")

    ops = generate_operations(current, declared, accept_detected=True)

    assert kinds(ops) == ["rename_column"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    assert rows(zanith_db, "SELECT mail FROM users ORDER BY id") == [("a@x",), ("b@x",)]


def test_rename_without_a_decision_is_an_error_naming_the_flag(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, users("email text"))
    declared = graph_of(zanith_shadow, users("mail text"))
    with pytest.raises(RenameUndecided, match=r"--rename users\.email=mail"):
        generate_operations(current, declared)


def test_ambiguous_renames_need_hints_and_hints_settle_them(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, users("first text, last text"))
    declared = graph_of(zanith_shadow, users("given text, family text"))
    with pytest.raises(RenameUndecided, match="ambiguous"):
        generate_operations(current, declared, accept_detected=True)
    hints = RenameHints.parse(["users.first=given", "users.last=family"])
    ops = generate_operations(current, declared, hints)
    assert [(op.kind, op.column, op.new_name) for op in ops] == [  # type: ignore[attr-defined]
        ("rename_column", "first", "given"),
        ("rename_column", "last", "family"),
    ]


def test_declining_a_rename_drops_softly_and_adds(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, users("email text"))
    declared = graph_of(zanith_shadow, users("mail text"))
    ops = generate_operations(current, declared, confirm=lambda candidate: False)
    assert kinds(ops) == ["add_column", "soft_drop_column"]


def test_table_rename_follows_foreign_keys_and_rebuilds_the_renamed_key(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = (
        "CREATE TABLE users (id integer PRIMARY KEY, email text);"
        "CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES users);"
    )
    after = (
        "CREATE TABLE customers (id integer PRIMARY KEY, email text);"
        "CREATE TABLE orders (id integer PRIMARY KEY, user_id integer,"
        " CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES customers);"
    )
    current, declared = graph_of(server, before), graph_of(server, after)
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO users VALUES (1, 'a@x'); INSERT INTO orders VALUES (10, 1)")

    ops = generate_operations(current, declared, accept_detected=True)

    # the primary key keeps its old name through a rename, the declared one is customers_pkey: the FK
    # relying on it comes down first and goes back up (NOT VALID, then validated) after
    assert kinds(ops) == [
        "rename_table",
        "drop_foreign_key",
        "drop_primary_key",
        "add_primary_key",
        "add_foreign_key",
        "validate_constraint",
    ]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    assert rows(zanith_db, "SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.user_id") == [(10, "a@x")]
    apply_ops(zanith_db.url, reversal(ops))
    assert_schema(live(zanith_db.url), current)


def test_index_renamed_with_the_same_definition_is_rename_index(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, users("email text", "CREATE INDEX old_idx ON users (email);"))
    declared = graph_of(zanith_shadow, users("email text", "CREATE INDEX users_email_idx ON users (email);"))
    (op,) = generate_operations(current, declared)
    assert op == RenameIndex("public.users", "old_idx", "users_email_idx")


# -- drops -----------------------------------------------------------------------------------------


def test_drops_are_soft_by_default_and_hard_on_request(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, users("email text, age integer") + "CREATE TABLE logs (line text);")
    declared = graph_of(zanith_shadow, users("email text"))
    assert kinds(generate_operations(current, declared)) == ["soft_drop_column", "soft_drop_table"]
    assert kinds(generate_operations(current, declared, hard_drop=True)) == ["drop_column", "drop_table"]


def test_soft_dropped_column_and_table_come_back_with_their_rows(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = users("email text NOT NULL, age integer", "CREATE INDEX users_age_idx ON users (age);")
    before += "CREATE TABLE logs (line text NOT NULL);"
    current, declared = graph_of(server, before), graph_of(server, users("email text NOT NULL"))
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO users (email, age) VALUES ('a', 1), ('b', NULL); INSERT INTO logs VALUES ('x')")

    ops = generate_operations(current, declared)
    assert kinds(ops) == ["drop_index", "soft_drop_column", "soft_drop_table"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    zanith_db.conn.execute("INSERT INTO users (email) VALUES ('c')")  # writers that omit the column still work
    apply_ops(zanith_db.url, reversal(ops))
    assert_schema(live(zanith_db.url), current)
    assert rows(zanith_db, "SELECT email, age FROM users ORDER BY id") == [("a", 1), ("b", None), ("c", None)]
    assert rows(zanith_db, "SELECT line FROM logs") == [("x",)]


def test_soft_drop_of_a_table_whose_names_are_reused_is_refused(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, "CREATE TABLE logs (id integer CONSTRAINT entries_pkey PRIMARY KEY, a text);")
    declared = graph_of(zanith_shadow, "CREATE TABLE entries (id integer PRIMARY KEY, b integer, c integer);")
    with pytest.raises(GenerateError, match=r"keeps the names entries_pkey.*--rename logs=NEW.*--hard-drop"):
        generate_operations(current, declared, confirm=lambda c: False)


def test_a_hard_dropped_table_whose_names_are_reused_goes_before_the_new_table(zanith_db: ZanithDatabase) -> None:
    """Its key's index and its identity sequence hold names the new table takes over."""
    server = zanith_db.server
    before = "CREATE TABLE logs (id integer GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME logs_seq)"
    before += " CONSTRAINT logs_pkey PRIMARY KEY, a text); CREATE TABLE keep (id integer);"
    after = "CREATE TABLE keep (id integer); CREATE TABLE entries (id integer GENERATED ALWAYS AS IDENTITY"
    after += " (SEQUENCE NAME logs_seq) CONSTRAINT logs_pkey PRIMARY KEY, b integer);"
    current, declared = graph_of(server, before), graph_of(server, after)
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO logs (a) VALUES ('x')")

    ops = generate_operations(current, declared, hard_drop=True, confirm=lambda c: False)
    assert kinds(ops) == ["drop_table", "create_table"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    apply_ops(zanith_db.url, reversal(ops))
    assert_schema(live(zanith_db.url), current)


# -- columns, enums, replacements ------------------------------------------------------------------


def test_type_change_with_a_default_drops_and_sets_the_default_around_it(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = users("score integer DEFAULT 0")
    current, declared = graph_of(server, before), graph_of(server, users("score bigint DEFAULT 1 NOT NULL"))
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO users (score) VALUES (7)")
    ops = generate_operations(current, declared)
    assert kinds(ops) == ["alter_column_type", "set_not_null"]
    assert "DROP DEFAULT" in ops[0].sql() and "SET DEFAULT 1" in ops[0].sql()  # one statement, in that order
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    apply_ops(zanith_db.url, reversal(ops))
    assert_schema(live(zanith_db.url), current)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('code character varying(10) COLLATE "C"', 'code character varying(50) COLLATE "C"'),  # kept
        ('code text COLLATE "C"', "code text"),  # changed, same type
        ("code character varying(10)", 'code text COLLATE "POSIX"'),  # both at once
    ],
    ids=["type-keeps-collation", "collation-only", "type-and-collation"],
)
def test_a_type_change_carries_the_declared_collation(zanith_db: ZanithDatabase, before: str, after: str) -> None:
    """Without COLLATE, ALTER COLUMN TYPE resets the column to the new type's default collation."""
    server = zanith_db.server
    current, declared = graph_of(server, users(before)), graph_of(server, users(after))
    zanith_db.conn.execute(users(before))  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO users (code) VALUES ('b'), ('B'), ('a')")
    ops = generate_operations(current, declared)
    assert kinds(ops) == ["alter_column_type"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    apply_ops(zanith_db.url, reversal(ops))
    assert_schema(live(zanith_db.url), current)
    assert sorted(r[0] for r in rows(zanith_db, "SELECT code FROM users")) == ["B", "a", "b"]


def test_enum_is_created_before_its_column_and_values_are_inserted_in_place(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = "CREATE TYPE mood AS ENUM ('ok'); CREATE TABLE t (id integer);"
    after = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'meh', 'happy'); CREATE TYPE tone AS ENUM ('a');"
    after += "CREATE TABLE t (id integer, m mood, n tone);"
    current, declared = graph_of(server, before), graph_of(server, after)
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    ops = generate_operations(current, declared)
    assert kinds(ops) == [
        "create_enum",
        "add_enum_value",
        "add_enum_value",
        "add_enum_value",
        "add_column",
        "add_column",
    ]
    assert ops[1:4] == (
        AddEnumValue("public.mood", "sad", before="ok"),
        AddEnumValue("public.mood", "meh", after="ok"),
        AddEnumValue("public.mood", "happy", after="meh"),
    )
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    with pytest.raises(Irreversible):
        reversal(ops)


def test_enum_dropped_after_the_columns_using_it_and_refused_under_a_soft_drop(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = "CREATE TYPE mood AS ENUM ('ok'); CREATE TABLE t (id integer, m mood);"
    current, declared = graph_of(server, before), graph_of(server, "CREATE TABLE t (id integer);")
    with pytest.raises(
        GenerateError, match=r"enum public\.mood cannot be dropped: soft-dropped public\.t\.m.*--hard-drop"
    ):
        generate_operations(current, declared)
    ops = generate_operations(current, declared, hard_drop=True)
    assert kinds(ops) == ["drop_column", "drop_enum"]
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)


def test_generated_column_with_a_new_expression_is_dropped_and_added_again(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    before = "CREATE TABLE t (a integer, b integer GENERATED ALWAYS AS (a * 2) STORED); CREATE INDEX t_b ON t (b);"
    after = "CREATE TABLE t (a integer, b integer GENERATED ALWAYS AS (a * 3) STORED); CREATE INDEX t_b ON t (b);"
    current, declared = graph_of(server, before), graph_of(server, after)
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO t (a) VALUES (5)")
    ops = generate_operations(current, declared)
    assert kinds(ops) == ["drop_index", "soft_drop_column", "add_column", "add_index"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    assert rows(zanith_db, "SELECT b FROM t") == [(15,)]


@pytest.mark.parametrize(
    ("before", "after"),
    [("b integer GENERATED ALWAYS AS (a * 2) STORED", "b integer GENERATED ALWAYS AS (a * 3) STORED")],
    ids=["generated"],  # an identity changes in place (tests/generate/test_identity.py)
)
def test_an_exclusion_constraint_on_a_replaced_column_is_dropped_and_added_around_it(
    zanith_db: ZanithDatabase, before: str, after: str
) -> None:
    """Found by Hypothesis: the soft drop was refused while the exclusion constraint still used the column."""
    server = zanith_db.server
    table = "CREATE TABLE t (a integer, {b}, CONSTRAINT t_b_excl EXCLUDE USING btree (b WITH =) WHERE (b > 0));"
    current, declared = graph_of(server, table.format(b=before)), graph_of(server, table.format(b=after))
    zanith_db.conn.execute(table.format(b=before))  # type: ignore[arg-type]
    ops = generate_operations(current, declared)
    assert kinds(ops) == ["drop_exclusion", "soft_drop_column", "add_column", "add_exclusion"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    apply_ops(zanith_db.url, reversal(ops))
    assert_schema(live(zanith_db.url), current)


def test_exclusion_constraints_are_added_dropped_and_changed(zanith_db: ZanithDatabase) -> None:
    server = zanith_db.server
    table = "CREATE TABLE bookings (id integer, room integer, during tsrange);"
    before = table + (
        "ALTER TABLE bookings ADD CONSTRAINT one_per_id EXCLUDE USING btree (id WITH =);"
        "ALTER TABLE bookings ADD CONSTRAINT no_double_booking EXCLUDE USING gist (during WITH &&);"
    )
    after = table + (
        "ALTER TABLE bookings ADD CONSTRAINT no_double_booking EXCLUDE USING gist (during WITH &&) WHERE (room > 0);"
        "ALTER TABLE bookings ADD CONSTRAINT one_per_room EXCLUDE USING btree (room WITH =) WHERE (room < 100);"
    )
    current, declared = graph_of(server, before), graph_of(server, after)
    zanith_db.conn.execute(before)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO bookings VALUES (1, 1, '[2026-01-01, 2026-01-02)'), (2, 2, NULL)")
    ops = generate_operations(current, declared)
    assert sorted(kinds(ops)[:2]) == ["drop_exclusion", "drop_exclusion"]  # the changed one, the removed one
    assert kinds(ops)[2:] == ["add_exclusion", "add_exclusion"]
    apply_ops(zanith_db.url, ops)
    assert_schema(live(zanith_db.url), declared)
    with pytest.raises(psycopg.errors.ExclusionViolation):
        zanith_db.conn.execute("INSERT INTO bookings VALUES (3, 2, NULL)")
    apply_ops(zanith_db.url, reversal(ops))
    assert_schema(live(zanith_db.url), current)


# -- refusals and the self-check -------------------------------------------------------------------


def test_nothing_to_do_gives_no_operations(zanith_shadow: Server) -> None:
    graph = graph_of(zanith_shadow, users("email text"))
    assert generate(graph, graph, name="noop").operations == ()


def test_changes_without_an_op_kind_are_refused_together(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, "CREATE TABLE t (a integer, b text); CREATE TABLE u (a integer);")
    declared = graph_of(
        zanith_shadow,
        "CREATE UNLOGGED TABLE t (a integer, b text, EXCLUDE USING btree (a WITH =));"
        "CREATE UNLOGGED TABLE u (a integer);",
    )
    with pytest.raises(GenerateError) as err:
        generate_operations(current, declared)
    message = str(err.value)
    assert "table public.t: unlogged" in message and "table public.u: unlogged" in message
    assert "exclusion" not in message  # an exclusion constraint has op kinds of its own
    assert "zanith new --name NAME --sql SQL" in message


def test_a_mapping_that_misses_a_difference_is_caught_by_the_self_check(
    zanith_shadow: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = graph_of(zanith_shadow, "CREATE TABLE t (a integer);")
    declared = graph_of(zanith_shadow, "CREATE TYPE mood AS ENUM ('ok'); CREATE TABLE t (a integer);")
    monkeypatch.setattr(generate_tables, "enum_steps", lambda d, declared: [])
    with pytest.raises(GenerateError, match=r"internal error: .*\n\+ enum public\.mood"):
        generate_operations(current, declared)


def test_generate_names_the_migration(zanith_shadow: Server) -> None:
    current = graph_of(zanith_shadow, "CREATE TABLE t (a integer);")
    declared = graph_of(zanith_shadow, "CREATE TABLE t (a integer, b text);")
    migration = generate(current, declared, name="add b", phase="expand")
    assert migration.id.endswith("_add_b") and migration.id[:8].isdigit()
    assert (migration.name, migration.phase) == ("add b", "expand")
