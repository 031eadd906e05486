"""Recovery artifacts, end to end: each kind is created by a real migration on a populated table and
restored with its data and schema identical; verify, purge, extend and refusals behave as documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from zanith_core import recovery
from zanith_core.apply.runner import apply_migrations
from zanith_core.cli import main
from zanith_core.config import Config
from zanith_core.diff import diff, render
from zanith_core.ledger import artifacts as art
from zanith_core.migrations import Migration
from zanith_core.ops.base import Operation
from zanith_core.ops.columns import AlterColumnType, SoftDropColumn
from zanith_core.ops.constraints import DropCheck
from zanith_core.ops.indexes import DropIndex
from zanith_core.ops.tables import SoftDropTable
from zanith_core.read import introspect
from zanith_core.schema.graph import SchemaGraph

ROWS = 2000
SCHEMA = f"""
CREATE TABLE items (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    price numeric(10, 2) NOT NULL CHECK (price >= 0),
    note text NOT NULL
);
CREATE INDEX items_name_idx ON items (lower(name));
CREATE TABLE archive (id bigint PRIMARY KEY, payload jsonb, at timestamptz DEFAULT now());
INSERT INTO items SELECT g, 'item ' || g, g * 1.25, md5(g::text) FROM generate_series(1, {ROWS}) g;
INSERT INTO archive (id, payload) SELECT g, jsonb_build_object('n', g) FROM generate_series(1, {ROWS}) g;
"""


@pytest.fixture
def db(zanith_db: Any) -> Any:
    zanith_db.conn.execute(SCHEMA)
    return zanith_db


def run(db: Any, tmp_path: Path, *ops: Operation, mid: str = "0001_remove") -> Config:
    config = Config(project_dir=tmp_path)
    apply_migrations(db.url, [Migration(id=mid, operations=ops)], config=config)
    return config


def graph(conn: psycopg.Connection) -> SchemaGraph:
    return introspect(conn, ("public",))


def assert_same(conn: psycopg.Connection, before: SchemaGraph) -> None:
    after = graph(conn)
    assert render(diff(before, after)) == ""
    assert after == before


def rows(conn: psycopg.Connection, query: str) -> list[tuple[Any, ...]]:
    return conn.execute(query).fetchall()  # type: ignore[arg-type]


def only_artifact(conn: psycopg.Connection) -> art.Artifact:
    (found,) = art.list_artifacts(conn, "public")
    return found


def soft_drop_note(db: Any, tmp_path: Path) -> tuple[SchemaGraph, list[tuple[Any, ...]]]:
    before, data = graph(db.conn), rows(db.conn, "SELECT id, note FROM items ORDER BY id")
    run(db, tmp_path, SoftDropColumn.from_graph(before, "public.items", "note"))
    return before, data


def test_soft_dropped_column_round_trip(db: Any, tmp_path: Path) -> None:
    before, data = soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.row_count, a.status) == (art.SOFT_DROPPED_COLUMN, "public.items.note", ROWS, "kept")
    assert graph(db.conn).table("items").column("note") is None  # type: ignore[union-attr]
    db.conn.execute("INSERT INTO items (id, name, price) VALUES (-1, 'written while aside', 1)")
    db.conn.execute("DELETE FROM items WHERE id = -1")  # keep NOT NULL restorable

    restored = recovery.restore(db.conn, "public", a.id)
    assert restored.status == "restored" and restored.status_changed_at is not None
    assert_same(db.conn, before)
    assert rows(db.conn, "SELECT id, note FROM items ORDER BY id") == data
    assert art.data_checksum(db.conn, "public.items", ("note",))[0] == a.checksum


def test_soft_dropped_table_round_trip(db: Any, tmp_path: Path) -> None:
    before, data = graph(db.conn), rows(db.conn, "SELECT * FROM archive ORDER BY id")
    run(db, tmp_path, SoftDropTable.from_graph(before, "public.archive"))
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.row_count) == (art.SOFT_DROPPED_TABLE, "public.archive", ROWS)
    assert graph(db.conn).table("archive") is None

    recovery.restore(db.conn, "public", a.id)
    assert_same(db.conn, before)
    assert rows(db.conn, "SELECT * FROM archive ORDER BY id") == data
    assert art.data_checksum(db.conn, "public.archive")[0] == a.checksum


def test_column_backup_restores_values_lost_by_a_lossy_cast(db: Any, tmp_path: Path) -> None:
    before, data = graph(db.conn), rows(db.conn, "SELECT id, price FROM items ORDER BY id")
    change = AlterColumnType("public.items", "price", "integer", "numeric(10,2)", using="round(price)::integer")
    run(db, tmp_path, change)
    assert rows(db.conn, "SELECT price FROM items WHERE id = 1") == [(1,)]  # 1.25 was rounded away
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.row_count) == (art.COLUMN_BACKUP, "public.items.price", ROWS)

    recovery.restore(db.conn, "public", a.id)
    assert_same(db.conn, before)
    assert rows(db.conn, "SELECT id, price FROM items ORDER BY id") == data


@pytest.mark.parametrize("concurrently", [True, False])
def test_dropped_index_definition_round_trip(db: Any, tmp_path: Path, concurrently: bool) -> None:
    before = graph(db.conn)
    table = before.table("items")
    assert table is not None
    run(db, tmp_path, DropIndex("public.items", table.indexes[0], concurrently=concurrently))
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.physical_name) == (art.DROPPED_INDEX, "public.items.items_name_idx", None)
    assert graph(db.conn) != before

    recovery.restore(db.conn, "public", a.id)
    assert_same(db.conn, before)


def test_dropped_constraint_definition_round_trip(db: Any, tmp_path: Path) -> None:
    before = graph(db.conn)
    table = before.table("items")
    assert table is not None
    run(db, tmp_path, DropCheck("public.items", table.checks[0]))
    a = only_artifact(db.conn)
    assert (a.kind, a.source) == (art.DROPPED_CONSTRAINT, "public.items.items_price_check")

    recovery.restore(db.conn, "public", a.id)
    assert_same(db.conn, before)


def test_restore_onto_a_taken_name_is_refused_without_damage(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    db.conn.execute("ALTER TABLE items ADD COLUMN note text DEFAULT 'new'")
    taken = graph(db.conn)
    with pytest.raises(recovery.RestoreRefused, match="name is taken again"):
        recovery.restore(db.conn, "public", a.id)
    assert graph(db.conn) == taken
    assert only_artifact(db.conn).status == "kept"
    assert recovery.verify(db.conn, "public", a.id)[0].state == "intact"


def test_verify_catches_tampered_and_missing_artifacts(db: Any, tmp_path: Path) -> None:
    before, _ = soft_drop_note(db, tmp_path)
    table = before.table("items")
    assert table is not None
    run(db, tmp_path, DropIndex("public.items", table.indexes[0], concurrently=False), mid="0002_index")
    column, index = art.list_artifacts(db.conn, "public")
    assert [c.state for c in recovery.verify(db.conn, "public")] == ["intact", "intact"]

    assert column.physical_name is not None
    physical = column.physical_name.rsplit(".", 1)[1]
    db.conn.execute(f'UPDATE items SET "{physical}" = \'changed\' WHERE id = 7')
    db.conn.execute("UPDATE _zanith_migration_artifacts SET recovery_sql = recovery_sql || ' ' WHERE id = %s",
                    (index.id,))
    assert [c.state for c in recovery.verify(db.conn, "public")] == ["tampered", "tampered"]

    db.conn.execute(f'ALTER TABLE items DROP COLUMN "{physical}"')
    assert recovery.verify(db.conn, "public", column.id)[0].state == "missing"
    with pytest.raises(recovery.RestoreRefused, match="no longer exists"):
        recovery.restore(db.conn, "public", column.id)


def test_purge_leaves_unexpired_artifacts_alone(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    assert recovery.purge(db.conn, "public", expired=True) == ()
    with pytest.raises(recovery.ZanithError, match="has not expired"):
        recovery.purge(db.conn, "public", artifact_id=a.id)
    assert recovery.verify(db.conn, "public", a.id)[0].state == "intact"

    db.conn.execute("UPDATE _zanith_migration_artifacts SET expires_at = now() - interval '1 day'")
    (purged,) = recovery.purge(db.conn, "public", expired=True)
    assert purged.status == "purged"
    assert a.physical_name is not None
    assert not recovery.column_exists(db.conn, "public.items", a.physical_name.rsplit(".", 1)[1])


def test_forced_purge_and_extend(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    extended = recovery.extend(db.conn, "public", a.id, 30)
    assert extended.expires_at is not None and a.expires_at is not None
    assert (extended.expires_at - a.expires_at).days >= 29
    (purged,) = recovery.purge(db.conn, "public", artifact_id=a.id, force=True)
    assert purged.status == "purged"


def cli(db: Any, *args: str) -> Any:
    return CliRunner().invoke(main, ["recover", *args, "--database-url", db.url], catch_exceptions=False)


def test_cli_verbs_and_json_shapes(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    listed = cli(db, "list", "--json")
    assert listed.exit_code == 0
    (entry,) = json.loads(listed.output)["artifacts"]
    assert set(entry) == {"id", "kind", "source", "physical_name", "checksum", "created_at", "expires_at", "status"}
    human = cli(db, "list")
    assert "soft_dropped_column" in human.output and "public.items.note" in human.output

    shown = json.loads(cli(db, "show", str(entry["id"]), "--json").output)
    assert "RENAME COLUMN" in shown["recovery_sql"] and shown["row_count"] == ROWS

    exported = cli(db, "export", str(entry["id"]))
    assert exported.output.startswith("-- zanith recovery script") and "BEGIN;" in exported.output

    assert cli(db, "verify").exit_code == 0
    assert cli(db, "extend", str(entry["id"]), "--days", "3", "--json").exit_code == 0
    assert cli(db, "purge", str(entry["id"])).exit_code == 1

    restored = cli(db, "restore", str(entry["id"]), "--json")
    assert restored.exit_code == 0 and json.loads(restored.output)["restored"]["status"] == "restored"
    again = cli(db, "restore", str(entry["id"]))
    assert again.exit_code == 3 and again.output.startswith("error:") and "restored" in again.output

    db.conn.execute("UPDATE _zanith_migration_artifacts SET status = 'kept', checksum = 'x'")
    assert cli(db, "verify").exit_code == 4
    assert cli(db, "show", "999").exit_code == 1
