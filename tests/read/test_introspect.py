"""Introspection reads every object kind, exactly as Postgres prints it, in a constant number of queries."""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg
import pytest
from support import FIXTURES

from zanith_core.read import check_expression, index_keys, introspect
from zanith_core.schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Sequence,
    Table,
    UniqueConstraint,
)

RICH_SCHEMA = FIXTURES / "rich_schema.sql"
SCHEMAS = ("public", "app")


@pytest.fixture
def rich(zanith_db: Any) -> SchemaGraph:
    zanith_db.conn.execute(RICH_SCHEMA.read_text())
    return introspect(zanith_db.conn, SCHEMAS)


def table(graph: SchemaGraph, name: str) -> Table:
    found = graph.table(name)
    assert found is not None, name
    return found


def by_name(items: Any, name: str) -> Any:
    return next(i for i in items if i.name == name)


def test_rich_schema_survives_json_round_trip(rich: SchemaGraph) -> None:
    text = rich.to_json()
    assert SchemaGraph.from_json(text) == rich
    assert SchemaGraph.from_json(text).to_json() == text


def test_schemas_enums_sequences_extensions(rich: SchemaGraph) -> None:
    assert rich.schemas == ("app", "public")
    assert rich.extensions == (Extension("btree_gist", "public"),)
    assert rich.enums == (
        Enum("app", "status", ("new", "paid", "shipped")),
        Enum("public", "mood", ("happy", "meh", "sad")),  # enumsortorder, not creation order
    )
    # the identity columns' sequences are part of their columns, not listed
    assert rich.sequences == (
        Sequence("public", "invoice_no", "integer", 1000, 10, 1, 2147483647, 5, True, None),
        Sequence("public", "users_id_seq", "integer", 1, 1, 1, 2147483647, 1, False, "public.users.id"),
    )


def test_columns(rich: SchemaGraph) -> None:
    users, teams = table(rich, "public.users"), table(rich, "public.teams")
    assert users.column("id") == Column("id", "integer", False, "nextval('public.users_id_seq'::regclass)")
    assert users.column("mood") == Column("mood", "public.mood", False, "'happy'::public.mood")
    assert users.column("full_name") == Column(
        "full_name", "text", generated="((first_name || ' '::text) || last_name)"
    )
    assert users.column("tags") == Column("tags", "text[]", False, "'{}'::text[]")
    assert teams.column("id") == Column("id", "bigint", False, identity="always")
    assert table(rich, "public.bookings").column("id") == Column("id", "bigint", False, identity="by default")
    assert teams.column("DisplayName") == Column("DisplayName", "character varying(50)", collation='"C"')
    assert teams.column("name") == Column("name", "text", False)  # default collation is not spelled out
    assert [c.name for c in users.columns][:4] == ["id", "team_id", "backup_team_id", "email"]  # attnum order


def test_primary_unique_and_check_constraints(rich: SchemaGraph) -> None:
    users = table(rich, "public.users")
    assert users.primary_key == PrimaryKey("users_pkey", ("id",))
    assert table(rich, "public.events").primary_key == PrimaryKey("events_pkey", ("id", "happened_on"))
    assert by_name(users.uniques, "users_email_key") == UniqueConstraint("users_email_key", ("email",), deferrable=True)
    assert by_name(users.uniques, "users_team_nickname_key") == UniqueConstraint(
        "users_team_nickname_key", ("team_id", "nickname"), nulls_not_distinct=True
    )
    assert users.checks == (
        CheckConstraint("users_names_check", "(first_name <> last_name)", True, True, ("first_name", "last_name")),
        CheckConstraint("users_nickname_check", "(length((nickname)::text) > 2)", False, False, ("nickname",)),
        CheckConstraint("users_score_check", "(score >= (0)::numeric)", True, False, ("score",)),
    )


def test_foreign_keys(rich: SchemaGraph) -> None:
    users, orders = table(rich, "public.users"), table(rich, "app.orders")
    assert by_name(users.foreign_keys, "users_team_id_fkey") == ForeignKey(
        "users_team_id_fkey",
        ("team_id",),
        "public.teams",
        ("id",),
        on_delete="CASCADE",
        deferrable=True,
        initially_deferred=True,
    )
    assert by_name(users.foreign_keys, "users_backup_team_fkey") == ForeignKey(
        "users_backup_team_fkey", ("backup_team_id",), "public.teams", ("id",), on_update="SET NULL", validated=False
    )
    assert orders.foreign_keys == (
        ForeignKey("orders_team_fkey", ("team_id",), "public.teams", ("id",), on_delete="SET NULL"),
        ForeignKey(
            "orders_user_fkey",
            ("user_id",),
            "public.users",
            ("id",),
            on_delete="SET DEFAULT",
            on_update="RESTRICT",
            match="FULL",
        ),
    )


def test_indexes_keep_every_key_detail_and_skip_constraint_indexes(rich: SchemaGraph) -> None:
    users = table(rich, "public.users")
    indexes = {i.name: i for i in users.indexes}
    assert "users_pkey" not in indexes and "users_email_key" not in indexes
    assert indexes["users_lower_email_idx"] == Index(
        "users_lower_email_idx", ("lower(email) DESC NULLS LAST",), columns=("email",)
    )
    assert indexes["users_active_idx"] == Index(
        "users_active_idx",
        ("created_at",),
        predicate="(mood <> 'sad'::public.mood)",
        include=("score",),
        columns=("created_at", "mood", "score"),
    )
    assert indexes["users_nickname_pattern_idx"].keys == ("nickname varchar_pattern_ops", 'email COLLATE "POSIX"')
    assert indexes["users_tags_idx"] == Index("users_tags_idx", ("tags",), method="gin", columns=("tags",))
    assert indexes["users_team_email_idx"].unique
    assert indexes["users_team_email_idx"].predicate == "(team_id IS NOT NULL)"
    assert indexes["users_nickname_nnd_idx"] == Index(
        "users_nickname_nnd_idx", ("nickname",), unique=True, nulls_not_distinct=True, columns=("nickname",)
    )


def test_exclusion_constraint(rich: SchemaGraph) -> None:
    assert table(rich, "public.bookings").exclusions == (
        ExclusionConstraint(
            "bookings_no_overlap",
            "EXCLUDE USING gist (room WITH =, during WITH &&) WHERE ((room > 0))",
            ("during", "room"),
        ),
    )


def test_partitions_keep_only_what_is_their_own(rich: SchemaGraph) -> None:
    parent = table(rich, "public.events")
    assert parent.partition_by == "RANGE (happened_on)"
    assert [i.name for i in parent.indexes] == ["events_payload_idx"]
    p2024, p2025, other = (table(rich, f"public.events_{s}") for s in ("2024", "2025", "other"))
    assert p2024.partition_of == "public.events"
    assert p2024.partition_bound == "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
    assert other.partition_bound == "DEFAULT"
    # columns, the PK and the parent's index are inherited: the parent declares them once
    assert p2024 == Table("public", "events_2024", partition_of="public.events", partition_bound=p2024.partition_bound)
    assert [i.name for i in p2025.indexes] == ["events_2025_happened_idx"]
    assert [c.name for c in p2025.checks] == ["events_2025_id_check"]


def test_unlogged_tables_and_views(rich: SchemaGraph) -> None:
    assert table(rich, "public.cache").unlogged
    assert not table(rich, "public.users").unlogged
    views = {v.qualified_name: v for v in rich.views}
    assert set(views) == {"public.active_users", "public.active_user_count", "app.team_sizes"}
    assert views["app.team_sizes"].materialized and not views["public.active_users"].materialized
    assert "FROM public.active_users" in views["public.active_user_count"].definition


def test_text_is_qualified_whatever_the_callers_search_path(zanith_db: Any, rich: SchemaGraph) -> None:
    zanith_db.conn.execute("SET search_path = public, app")
    assert introspect(zanith_db.conn, SCHEMAS) == rich
    assert zanith_db.conn.execute("SHOW search_path").fetchone() == ("public, app",)


def test_callers_transaction_and_search_path_are_left_alone(zanith_db: Any, rich: SchemaGraph) -> None:
    with psycopg.connect(zanith_db.url) as conn:  # not autocommit: introspect runs inside our transaction
        conn.execute("SET LOCAL search_path = app")
        assert introspect(conn, SCHEMAS) == rich
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SHOW search_path").fetchone() == ("app",)


def test_objects_owned_by_extensions_are_skipped(zanith_db: Any) -> None:
    zanith_db.conn.execute("CREATE EXTENSION pg_buffercache")  # installs a view in public
    graph = introspect(zanith_db.conn)
    assert graph.views == ()
    assert graph.extensions == (Extension("pg_buffercache", "public"),)


def test_zanith_objects_are_hidden(zanith_db: Any) -> None:
    zanith_db.conn.execute(
        """
        CREATE TABLE _zanith_migrations (id text PRIMARY KEY);
        CREATE TABLE _zanith_users_20240101 (id int PRIMARY KEY);
        CREATE TABLE users (
            id serial PRIMARY KEY,
            email text,
            _zanith_name_20240101 text UNIQUE CHECK (_zanith_name_20240101 <> ''),
            _zanith_old_id serial,
            old_ref int REFERENCES _zanith_users_20240101 (id)
        );
        CREATE INDEX users_old_name_idx ON users (lower(_zanith_name_20240101));
        CREATE INDEX users_email_idx ON users (email) WHERE _zanith_name_20240101 IS NULL;
        CREATE INDEX _zanith_users_email_idx ON users (email);
        CREATE VIEW _zanith_view AS SELECT 1 AS one;
        CREATE TYPE _zanith_mood AS ENUM ('x');
        """
    )
    graph = introspect(zanith_db.conn)
    assert [t.name for t in graph.tables] == ["users"]
    users = graph.tables[0]
    assert [c.name for c in users.columns] == ["id", "email", "old_ref"]
    assert users.indexes == users.uniques == users.checks == users.foreign_keys == ()
    assert [s.name for s in graph.sequences] == ["users_id_seq"]
    assert graph.views == graph.enums == ()


class CountingCursor(psycopg.Cursor[Any]):
    executed: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> CountingCursor:
        CountingCursor.executed.append(str(query))
        super().execute(query, params, **kwargs)
        return self


def _queries_for(conn: psycopg.Connection[Any]) -> int:
    CountingCursor.executed.clear()
    conn.cursor_factory = CountingCursor
    try:
        introspect(conn)
    finally:
        conn.cursor_factory = psycopg.Cursor
    return len(CountingCursor.executed)


def _tables(conn: psycopg.Connection[Any], start: int, stop: int) -> None:
    for n in range(start, stop):
        ref = f"REFERENCES t{n - 1} (id)" if n else ""
        conn.execute(
            f"CREATE TABLE t{n} (id serial PRIMARY KEY, parent int {ref}, name text UNIQUE CHECK (name <> ''));"
            f"CREATE INDEX t{n}_name_idx ON t{n} (lower(name)) WHERE parent IS NOT NULL"
        )


def test_query_count_does_not_grow_with_the_schema(zanith_db: Any) -> None:
    conn = zanith_db.conn
    _tables(conn, 0, 3)
    small = _queries_for(conn)
    assert len(table(introspect(conn), "t2").indexes) == 1
    _tables(conn, 3, 60)
    large = _queries_for(conn)
    graph = introspect(conn)
    assert len(graph.tables) == 60 and len(graph.sequences) == 60
    assert small == large < 60  # one query per object kind, none per table


def test_index_keys_split_only_at_top_level_commas() -> None:
    indexdef = (
        'CREATE INDEX "a(b" ON public."t,(" USING btree (coalesce(x, \',\'), "y,z" DESC, (a || \')\')) INCLUDE (q)'
    )
    assert index_keys(indexdef) == ("coalesce(x, ',')", '"y,z" DESC', "(a || ')')")


def test_check_expression_drops_the_keyword_and_flags() -> None:
    assert check_expression("CHECK ((price > (0)::numeric)) NO INHERIT NOT VALID") == "(price > (0)::numeric)"
    assert check_expression("CHECK (active)") == "active"
    assert check_expression("CHECK ((note <> ')'::text))") == "(note <> ')'::text)"
