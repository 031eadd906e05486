"""Recovery artifacts, end to end: each kind is created by a real migration on a populated table and
restored with its data and schema identical; verify, purge, extend and refusals behave as documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support import LEDGER, apply_ops, assert_schema, live, zanith

from zanith_core import recovery
from zanith_core.ledger import artifacts as art
from zanith_core.ops.columns import AlterColumnType, SoftDropColumn
from zanith_core.ops.constraints import DropCheck
from zanith_core.ops.indexes import DropIndex
from zanith_core.ops.tables import SoftDropTable
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


def rows(conn: psycopg.Connection, query: str) -> list[tuple[Any, ...]]:
    return conn.execute(query).fetchall()  # type: ignore[arg-type]


def only_artifact(conn: psycopg.Connection) -> art.Artifact:
    (found,) = art.list_artifacts(conn, LEDGER)
    return found


def soft_drop_note(db: Any, tmp_path: Path) -> tuple[SchemaGraph, list[tuple[Any, ...]]]:
    before, data = live(db.url), rows(db.conn, "SELECT id, note FROM items ORDER BY id")
    apply_ops(db.url, [SoftDropColumn.from_graph(before, "public.items", "note")], project_dir=tmp_path)
    return before, data


def test_soft_dropped_column_round_trip(db: Any, tmp_path: Path) -> None:
    before, data = soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.row_count, a.status) == (art.SOFT_DROPPED_COLUMN, "public.items.note", ROWS, "kept")
    assert live(db.url).table("items").column("note") is None  # type: ignore[union-attr]
    db.conn.execute("INSERT INTO items (id, name, price) VALUES (-1, 'written while aside', 1)")
    db.conn.execute("DELETE FROM items WHERE id = -1")  # keep NOT NULL restorable

    restored = recovery.restore(db.conn, LEDGER, a.id)
    assert restored.status == "restored" and restored.status_changed_at is not None
    assert_schema(live(db.url), before, exact=True)
    assert rows(db.conn, "SELECT id, note FROM items ORDER BY id") == data
    assert art.data_checksum(db.conn, "public.items", ("note",))[0] == a.checksum


def test_soft_dropped_table_round_trip(db: Any, tmp_path: Path) -> None:
    before, data = live(db.url), rows(db.conn, "SELECT * FROM archive ORDER BY id")
    apply_ops(db.url, [SoftDropTable.from_graph(before, "public.archive")], project_dir=tmp_path)
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.row_count) == (art.SOFT_DROPPED_TABLE, "public.archive", ROWS)
    assert live(db.url).table("archive") is None

    recovery.restore(db.conn, LEDGER, a.id)
    assert_schema(live(db.url), before, exact=True)
    assert rows(db.conn, "SELECT * FROM archive ORDER BY id") == data
    assert art.data_checksum(db.conn, "public.archive")[0] == a.checksum


def test_column_backup_restores_values_lost_by_a_lossy_cast(db: Any, tmp_path: Path) -> None:
    before, data = live(db.url), rows(db.conn, "SELECT id, price FROM items ORDER BY id")
    change = AlterColumnType("public.items", "price", "integer", "numeric(10,2)", using="round(price)::integer")
    apply_ops(db.url, [change], project_dir=tmp_path)
    assert rows(db.conn, "SELECT price FROM items WHERE id = 1") == [(1,)]  # 1.25 was rounded away
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.row_count) == (art.COLUMN_BACKUP, "public.items.price", ROWS)
    # The backup lives in the recovery schema: the user's schema holds only the user's tables.
    assert a.physical_name is not None and a.physical_name.startswith("zanith_recovery._zanith_bak_")
    backups_in_public = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE %s"
    assert db.conn.execute(backups_in_public, ("\\_zanith\\_bak%",)).fetchone() == (0,)

    recovery.restore(db.conn, LEDGER, a.id)
    assert_schema(live(db.url), before, exact=True)
    assert rows(db.conn, "SELECT id, price FROM items ORDER BY id") == data


@pytest.mark.parametrize("concurrently", [True, False])
def test_dropped_index_definition_round_trip(db: Any, tmp_path: Path, concurrently: bool) -> None:
    before = live(db.url)
    table = before.table("items")
    assert table is not None
    apply_ops(db.url, [DropIndex("public.items", table.indexes[0], concurrently=concurrently)], project_dir=tmp_path)
    a = only_artifact(db.conn)
    assert (a.kind, a.source, a.physical_name) == (art.DROPPED_INDEX, "public.items.items_name_idx", None)
    assert live(db.url) != before

    recovery.restore(db.conn, LEDGER, a.id)
    assert_schema(live(db.url), before, exact=True)


def test_dropped_constraint_definition_round_trip(db: Any, tmp_path: Path) -> None:
    before = live(db.url)
    table = before.table("items")
    assert table is not None
    apply_ops(db.url, [DropCheck("public.items", table.checks[0])], project_dir=tmp_path)
    a = only_artifact(db.conn)
    assert (a.kind, a.source) == (art.DROPPED_CONSTRAINT, "public.items.items_price_check")

    recovery.restore(db.conn, LEDGER, a.id)
    assert_schema(live(db.url), before, exact=True)


def test_restore_onto_a_taken_name_is_refused_without_damage(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    db.conn.execute("ALTER TABLE items ADD COLUMN note text DEFAULT 'new'")
    taken = live(db.url)
    with pytest.raises(recovery.RestoreRefused, match="name is taken again"):
        recovery.restore(db.conn, LEDGER, a.id)
    assert live(db.url) == taken
    assert only_artifact(db.conn).status == "kept"
    assert recovery.verify(db.conn, LEDGER, a.id)[0].state == "intact"


def test_verify_catches_tampered_and_missing_artifacts(db: Any, tmp_path: Path) -> None:
    before, _ = soft_drop_note(db, tmp_path)
    table = before.table("items")
    assert table is not None
    apply_ops(db.url, [DropIndex("public.items", table.indexes[0], concurrently=False)], project_dir=tmp_path)
    column, index = art.list_artifacts(db.conn, LEDGER)
    assert [c.state for c in recovery.verify(db.conn, LEDGER)] == ["intact", "intact"]

    assert column.physical_name is not None
    physical = column.physical_name.rsplit(".", 1)[1]
    db.conn.execute(f'UPDATE items SET "{physical}" = \'changed\' WHERE id = 7')
    db.conn.execute("UPDATE zanith._zanith_migration_artifacts SET recovery_sql = recovery_sql || ' ' WHERE id = %s",
                    (index.id,))
    assert [c.state for c in recovery.verify(db.conn, LEDGER)] == ["tampered", "tampered"]

    db.conn.execute(f'ALTER TABLE items DROP COLUMN "{physical}"')
    assert recovery.verify(db.conn, LEDGER, column.id)[0].state == "missing"
    with pytest.raises(recovery.RestoreRefused, match="no longer exists"):
        recovery.restore(db.conn, LEDGER, column.id)


def test_purge_leaves_unexpired_artifacts_alone(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    assert recovery.purge(db.conn, LEDGER, expired=True) == ()
    with pytest.raises(recovery.ZanithError, match="has not expired"):
        recovery.purge(db.conn, LEDGER, artifact_id=a.id)
    assert recovery.verify(db.conn, LEDGER, a.id)[0].state == "intact"

    db.conn.execute("UPDATE zanith._zanith_migration_artifacts SET expires_at = now() - interval '1 day'")
    (purged,) = recovery.purge(db.conn, LEDGER, expired=True)
    assert purged.status == "purged"
    assert a.physical_name is not None
    assert not recovery.column_exists(db.conn, "public.items", a.physical_name.rsplit(".", 1)[1])


def test_forced_purge_and_extend(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    a = only_artifact(db.conn)
    extended = recovery.extend(db.conn, LEDGER, a.id, 30)
    assert extended.expires_at is not None and a.expires_at is not None
    assert (extended.expires_at - a.expires_at).days >= 29
    (purged,) = recovery.purge(db.conn, LEDGER, artifact_id=a.id, force=True)
    assert purged.status == "purged"


def test_cli_verbs_and_json_shapes(db: Any, tmp_path: Path) -> None:
    soft_drop_note(db, tmp_path)
    url = ["--database-url", db.url]
    listed = zanith("recover", "list", "--json", *url)
    assert listed.exit_code == 0
    (entry,) = json.loads(listed.output)["artifacts"]
    assert set(entry) == {"id", "kind", "source", "physical_name", "checksum", "created_at", "expires_at", "status"}
    human = zanith("recover", "list", *url)
    assert "soft_dropped_column" in human.output and "public.items.note" in human.output

    shown = json.loads(zanith("recover", "show", str(entry["id"]), "--json", *url).output)
    assert "RENAME COLUMN" in shown["recovery_sql"] and shown["row_count"] == ROWS

    exported = zanith("recover", "export", str(entry["id"]), *url)
    assert exported.output.startswith("-- zanith recovery script") and "BEGIN;" in exported.output

    assert zanith("recover", "verify", *url).exit_code == 0
    assert zanith("recover", "extend", str(entry["id"]), "--days", "3", "--json", *url).exit_code == 0
    assert zanith("recover", "purge", str(entry["id"]), *url).exit_code == 1

    restored = zanith("recover", "restore", str(entry["id"]), "--json", *url)
    assert restored.exit_code == 0 and json.loads(restored.output)["restored"]["status"] == "restored"
    again = zanith("recover", "restore", str(entry["id"]), *url)
    assert again.exit_code == 3 and again.output.startswith("error:") and "restored" in again.output

    db.conn.execute("UPDATE zanith._zanith_migration_artifacts SET status = 'kept', checksum = 'x'")
    assert zanith("recover", "verify", *url).exit_code == 4
    assert zanith("recover", "show", "999", *url).exit_code == 1
