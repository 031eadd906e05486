"""Declarative partitioning and table inheritance, end to end, judged by pg_dump (tests/judge.py).

Each shape is a pair of SQL files in tests/fixtures/partitions: generate old → new, apply with the
runner, and the migrated database must dump exactly as the new SQL loaded directly; the same from an
empty database. The pg_dump-style fixture (tests/fixtures/partitioned_dump.sql: partitions attached
with ATTACH PARTITION, partition indexes attached to the parent's, FKs on partitions, a sub-partitioned
partition, hash partitions, an INHERITS child) round-trips from empty and back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from judge import assert_converges
from support import apply_ops, declared_from_sql, kinds, live

from zanith_core.generate import GenerateError, generate_operations, reversal
from zanith_core.ops import (
    AddIndex,
    AddPrimaryKey,
    AddUnique,
    AlterColumnType,
    CreateTable,
    DropColumn,
    DropTable,
    Operation,
    RenameColumn,
    SetDefault,
    SetNotNull,
    SetPartitionBound,
)
from zanith_core.schema.graph import SchemaGraph
from zanith_core.schema.queries import all_columns
from zanith_core.servers import Server

FIXTURES = Path(__file__).parent.parent / "fixtures"
SHAPES = FIXTURES / "partitions"
DUMP = (FIXTURES / "partitioned_dump.sql").read_text()


def _migrate(
    db: Any, server: Server, new_sql: str, folder: Path, *, hard: bool = True, schemas: tuple[str, ...] = ("public",)
) -> tuple[Any, ...]:
    """Generate from the database to ``new_sql``, apply with the runner, judge; the ops."""
    declared = declared_from_sql(server, new_sql, folder, schemas)
    ops = generate_operations(live(db.url, schemas), declared, hard_drop=hard)
    apply_ops(db.url, ops, snapshots=False, schemas=schemas)
    assert_converges(server, db.url, new_sql)
    return ops


def _shape(name: str) -> tuple[str, str]:
    return (SHAPES / f"{name}_old.sql").read_text(), (SHAPES / f"{name}_new.sql").read_text()


SHAPE_NAMES = ["fk", "keys", "bounds", "inherits", "subpart", "columns", "second_index", "identity"]


@pytest.mark.parametrize("name", SHAPE_NAMES)
def test_each_shape_converges_from_old(zanith_db: Any, zanith_shadow: Server, tmp_path: Path, name: str) -> None:
    old, new = _shape(name)
    zanith_db.conn.execute(old)
    ops = _migrate(zanith_db, zanith_shadow, new, tmp_path)
    assert ops
    assert generate_operations(live(zanith_db.url), declared_from_sql(zanith_shadow, new, tmp_path)) == ()


@pytest.mark.parametrize("name", [n for n in SHAPE_NAMES if n != "second_index"])  # see the test below
def test_each_shape_converges_from_empty(zanith_db: Any, zanith_shadow: Server, tmp_path: Path, name: str) -> None:
    _migrate(zanith_db, zanith_shadow, _shape(name)[1], tmp_path)


def test_what_a_partition_overrides_of_its_parents_columns_is_created_and_changes_are_refused(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    new = (SHAPES / "overrides_new.sql").read_text()
    _migrate(zanith_db, zanith_shadow, new, tmp_path)
    graph = live(zanith_db.url)
    one, two, three = (graph.table(f"public.p_{n}") for n in (1, 2, 3))
    assert one is not None and two is not None and three is not None
    assert [(c.name, c.default, c.nullable) for c in one.columns] == [("v", "'one'::text", True), ("w", None, False)]
    assert two.columns == ()  # it takes everything from its parent
    assert [(c.name, c.default) for c in three.columns] == [("v", None), ("s", None)]  # their defaults dropped
    changed = declared_from_sql(zanith_shadow, (SHAPES / "overrides_changed.sql").read_text(), tmp_path)
    with pytest.raises(GenerateError, match=r"table public.p_1: column v: default 'one'::text → 'uno'::text"):
        generate_operations(graph, changed)


def test_the_pg_dump_style_fixture_round_trips_from_empty_and_back(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    ops = _migrate(zanith_db, zanith_shadow, DUMP, tmp_path)
    created = [op.target for op in ops if isinstance(op, CreateTable)]
    assert created.index("public.event_click") < created.index("public.event_click_2024")
    assert created.index("public.city") < created.index("public.capital")
    apply_ops(zanith_db.url, reversal(ops), snapshots=False)
    assert live(zanith_db.url).tables == ()


def test_a_partition_holds_no_columns_of_its_own_and_finds_its_parents(zanith_shadow: Server, tmp_path: Path) -> None:
    graph = declared_from_sql(zanith_shadow, DUMP, tmp_path)
    partition, capital = graph.table("public.payment_p2022_01"), graph.table("public.capital")
    assert partition is not None and capital is not None
    assert partition.columns == () and partition.partition_of == "public.payment"
    assert [c.name for c in all_columns(graph, partition)] == [
        "payment_id", "customer_id", "amount", "payment_date", "note"
    ]  # fmt: skip
    # an INHERITS child keeps only its own columns ("name" is declared in both: it is its own too)
    assert capital.inherits == ("public.city",)
    assert [c.name for c in capital.columns] == ["name", "state"]
    assert [c.name for c in all_columns(graph, capital)] == ["id", "name", "population", "state"]
    assert capital.checks == () and capital.primary_key is None  # the parent's check is inherited


def test_an_index_on_an_existing_partitioned_table_is_built_piece_by_piece(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    old, new = _shape("keys")
    zanith_db.conn.execute(old)
    ops = _migrate(zanith_db, zanith_shadow, new, tmp_path)
    index = next(op for op in ops if isinstance(op, AddIndex) and op.index.name == "events_lower_idx")
    text = index.sql()
    assert 'CREATE INDEX IF NOT EXISTS "events_lower_idx" ON ONLY "public"."events"' in text
    assert 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_2024_lower_idx" ON "public"."events_2024"' in text
    # the sub-partitioned partition's index is ON ONLY it too, its leaves attached to it first
    assert 'CREATE INDEX IF NOT EXISTS "events_2025_lower_idx" ON ONLY "public"."events_2025"' in text
    assert text.index(
        'ALTER INDEX "public"."events_2025_lower_idx" ATTACH PARTITION "public"."events_2025_a_lower_idx"'
    ) < (text.index('ALTER INDEX "public"."events_lower_idx" ATTACH PARTITION "public"."events_2025_lower_idx"'))
    assert not index.transactional
    pk = next(op for op in ops if isinstance(op, AddPrimaryKey))
    assert 'ALTER TABLE "public"."events_2024" ADD CONSTRAINT "events_2024_pkey" PRIMARY KEY USING INDEX' in pk.sql()
    uq = next(op for op in ops if isinstance(op, AddUnique))
    assert "events_2025_a_tenant_id_at_kind_key" in uq.sql()
    assert uq.sql().rstrip(";").endswith('UNIQUE ("tenant", "id", "at", "kind")')
    # and the reversal drops them (a partitioned index is not dropped concurrently)
    apply_ops(zanith_db.url, reversal(ops), snapshots=False)
    assert_converges(zanith_shadow, zanith_db.url, old)


def test_a_foreign_key_on_a_partitioned_table_is_added_validated(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    old, new = _shape("fk")
    zanith_db.conn.execute(old)
    ops = _migrate(zanith_db, zanith_shadow, new, tmp_path)
    assert "validate_constraint" not in kinds(ops)
    assert "NOT VALID" not in next(op for op in ops if op.kind == "add_foreign_key").sql()


def test_dropping_a_partitioned_table_drops_its_partitions_once_and_back(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    zanith_db.conn.execute(DUMP)
    before = live(zanith_db.url)
    kept = "CREATE TABLE customer (customer_id serial PRIMARY KEY, name text NOT NULL, email text);"
    ops = _migrate(zanith_db, zanith_shadow, kept, tmp_path)
    drops = [op for op in ops if isinstance(op, DropTable)]
    assert sorted(op.target for op in drops) == [
        "public.bucket", "public.capital", "public.city", "public.event", "public.payment"
    ]  # fmt: skip
    event = next(op for op in drops if op.target == "public.event")
    assert [p.name for p in event.partitions] == ["event_click", "event_click_2024", "event_click_rest", "event_other"]
    apply_ops(zanith_db.url, reversal(ops), snapshots=False)
    assert live(zanith_db.url).tables == before.tables


def test_bounds_change_by_detach_and_attach_after_the_dropped_partition(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    old, new = _shape("bounds")
    zanith_db.conn.execute(old)
    zanith_db.conn.execute("INSERT INTO m VALUES (1, 5, 'a'), (2, 25, 'c')")
    ops = _migrate(zanith_db, zanith_shadow, new, tmp_path)
    assert kinds(ops) == ["drop_table", "set_partition_bound", "set_partition_bound", "create_table", "create_table"]
    bound = next(op for op in ops if isinstance(op, SetPartitionBound))
    assert bound.sql().split(";")[0] == 'ALTER TABLE "public"."m" DETACH PARTITION "public"."m_a"'
    assert zanith_db.conn.execute("SELECT count(*) FROM m").fetchone() == (2,)
    apply_ops(zanith_db.url, reversal(ops), snapshots=False)
    assert_converges(zanith_shadow, zanith_db.url, old)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "CREATE TABLE t (id int NOT NULL, at int NOT NULL);",
            "CREATE TABLE t (id int NOT NULL, at int NOT NULL) PARTITION BY RANGE (at);",
            "turning a table into a partitioned one or back",
        ),
        (
            "CREATE TABLE t (a int) PARTITION BY LIST (a); CREATE TABLE t1 (a int);",
            "CREATE TABLE t (a int) PARTITION BY LIST (a); CREATE TABLE t1 PARTITION OF t FOR VALUES IN (1);",
            "attaching or detaching a partition",
        ),
        (
            "CREATE TABLE p (a int); CREATE TABLE c (b int);",
            "CREATE TABLE p (a int); CREATE TABLE c (b int) INHERITS (p);",
            "zanith new --name NAME --sql SQL",
        ),
    ],
    ids=["plain to partitioned", "attach a table", "inherit"],
)
def test_repartitioning_is_refused_with_what_to_do(
    zanith_shadow: Server, tmp_path: Path, old: str, new: str, message: str
) -> None:
    current = declared_from_sql(zanith_shadow, old, tmp_path)
    with pytest.raises(GenerateError, match=message):
        generate_operations(current, declared_from_sql(zanith_shadow, new, tmp_path))


def test_soft_dropping_an_attached_partition_is_refused(zanith_shadow: Server, tmp_path: Path) -> None:
    old, new = _shape("bounds")
    current = declared_from_sql(zanith_shadow, old, tmp_path)
    with pytest.raises(GenerateError, match=r"stay attached to .*pass --hard-drop"):
        generate_operations(current, declared_from_sql(zanith_shadow, new, tmp_path))


def test_a_graph_without_the_new_field_still_reads(zanith_shadow: Server, tmp_path: Path) -> None:
    graph = declared_from_sql(zanith_shadow, DUMP, tmp_path)
    data = graph.to_dict()
    for table in data["tables"]:
        del table["inherits"]
    assert SchemaGraph.from_dict(data).table("public.capital").inherits == ()  # type: ignore[union-attr]


def test_inherits_children_are_dropped_before_their_parent(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    zanith_db.conn.execute("CREATE TABLE a_parent (id int); CREATE TABLE b_child (x int) INHERITS (a_parent);")
    ops = _migrate(zanith_db, zanith_shadow, "CREATE TABLE other (note text, at date);", tmp_path)
    assert [op.target for op in ops if op.kind == "drop_table"] == ["public.b_child", "public.a_parent"]


def test_a_second_index_on_the_same_columns_takes_the_names_postgres_gives(
    zanith_shadow: Server, tmp_path: Path
) -> None:
    old, new = _shape("second_index")
    ops = generate_operations(
        declared_from_sql(zanith_shadow, old, tmp_path), declared_from_sql(zanith_shadow, new, tmp_path)
    )
    index = next(op for op in ops if isinstance(op, AddIndex))
    assert [p.name for p in index.partitions or ()] == ["m_a_v_idx1", "m_b_v_idx1"]  # m_a_v_idx is m_v_idx's
    # From empty the numbering follows the order the parent's indexes were created in, which the graph
    # does not keep (a known limit, docs/real-schemas.md): the second one may take the first one's name.


def test_partitions_in_another_schema_get_and_attach_their_index_there(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    old, new = _shape("cross_schema")
    zanith_db.conn.execute(old)
    ops = _migrate(zanith_db, zanith_shadow, new, tmp_path, schemas=("public", "archive"))
    index = next(op for op in ops if isinstance(op, AddIndex))
    assert 'ALTER INDEX "archive"."m_old_v_idx" ATTACH PARTITION "archive"."m_old_1_v_idx"' in index.sql()
    assert 'ALTER INDEX "public"."m_v_idx" ATTACH PARTITION "archive"."m_old_v_idx"' in index.sql()


def test_a_dropped_key_of_a_partitioned_table_comes_back_piece_by_piece(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    old, new = _shape("keys")
    zanith_db.conn.execute(new)
    ops = _migrate(zanith_db, zanith_shadow, old, tmp_path)  # drops the primary key and the unique
    back = reversal(ops)
    assert {op.kind for op in back} >= {"add_primary_key", "add_unique"}
    pk = next(op for op in back if isinstance(op, AddPrimaryKey))
    assert [p.name for p in pk.partitions or ()] == [
        "events_2024_pkey", "events_2025_pkey", "events_2025_a_pkey", "events_2025_other_pkey", "events_default_pkey"
    ]  # fmt: skip
    apply_ops(zanith_db.url, back, snapshots=False)
    assert_converges(zanith_shadow, zanith_db.url, new)


def test_a_parents_column_changes_reach_what_its_partitions_override(
    zanith_db: Any, zanith_shadow: Server, tmp_path: Path
) -> None:
    new = (SHAPES / "overrides_new.sql").read_text()
    zanith_db.conn.execute(new + "CREATE INDEX p_1_v_idx ON p_1 (v);")
    # each op, run on the server, leaves the graph its apply_to says (partitions included)
    ops: list[Operation] = [
        RenameColumn("public.p", "v", "label"),
        AlterColumnType("public.p", "w", "bigint", "integer"),
        SetDefault("public.p", "label", "'x'::text", "'parent'::text"),
        SetNotNull("public.p", "w"),
        DropColumn.from_graph(live(zanith_db.url), "public.p", "s"),
    ]
    for op in ops:
        before = live(zanith_db.url)
        if isinstance(op, DropColumn):
            op = DropColumn.from_graph(before, "public.p", "s")
        apply_ops(zanith_db.url, [op], snapshots=False)
        assert op.apply_to(before) == live(zanith_db.url), op.describe()
    p_1 = live(zanith_db.url).table("public.p_1")
    assert p_1 is not None and p_1.columns == () and p_1.indexes[0].keys == ("label",)
    # a retyped parent column takes the partitions' overrides with it; a parent default they override is refused
    zanith_db.conn.execute("DROP TABLE p")
    zanith_db.conn.execute(new)
    _migrate(zanith_db, zanith_shadow, (SHAPES / "overrides_retyped.sql").read_text(), tmp_path)
    zanith_db.conn.execute("DROP TABLE p")
    zanith_db.conn.execute(new)
    changed = declared_from_sql(zanith_shadow, (SHAPES / "overrides_parent_default.sql").read_text(), tmp_path)
    with pytest.raises(GenerateError, match=r"carry it to the partitions public.p_1, public.p_3, which override it"):
        generate_operations(live(zanith_db.url), changed)
