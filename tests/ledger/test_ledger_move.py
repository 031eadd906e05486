"""Ledger v4: a ledger an older zanith kept in ``public`` moves to its own schema on the first write.

The database here is built by zanith itself with ``ledger_schema = "public"`` and then stamped v3, which
is byte for byte what zanith before v4 left: v4 changed where the ledger lives, not its tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from judge import assert_converges, schema_dump
from support import LEDGER, live, project, write_sql_migration, zanith

from zanith_core import ledger
from zanith_core.errors import ZanithError
from zanith_core.migrations import Migration, write_migration
from zanith_core.ops.columns import SoftDropColumn


def ledger_rows(conn: psycopg.Connection[Any], schema: str) -> dict[str, list[str]]:
    """Every row of every ledger table in ``schema``, as JSON text, in a stable order."""
    found: dict[str, list[str]] = {}
    for table in ledger.TABLES:
        if conn.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone() == (None,):
            continue
        rows = conn.execute(f"SELECT row_to_json(t)::text FROM {schema}.{table} AS t ORDER BY 1").fetchall()
        found[table] = [r[0] for r in rows]
    return found


def zanith_relations(conn: psycopg.Connection[Any], schema: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT relname::text, relkind::text FROM pg_class WHERE relnamespace = %s::regnamespace"
        " AND relname LIKE '\\_zanith\\_%%' ORDER BY 1",
        (schema,),
    ).fetchall()


def configure(folder: Path, **settings: Any) -> None:
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    (folder / "pyproject.toml").write_text(f'[tool.zanith]\nschema = "schema.sql"\n{table}\n')


@pytest.fixture
def legacy(zanith_db: Any, tmp_path: Path) -> Path:
    """A project whose database zanith before v4 migrated: a baseline, an apply, a soft drop, a failure
    (their ids extend the baseline's, so they sort after it and before anything generated later)."""
    conn = zanith_db.conn
    conn.execute("CREATE TABLE legacy (id int PRIMARY KEY, note text)")
    conn.execute("INSERT INTO legacy SELECT i, 'n' || i FROM generate_series(1, 20) i")
    proj = project(tmp_path / "proj", schema_sql="CREATE TABLE legacy (id int PRIMARY KEY);", ledger_schema="public")
    url = ["--database-url", zanith_db.url]
    assert zanith("baseline", *url, project=proj).exit_code == 0
    migrations = proj / "migrations"
    (baseline,) = (path.stem for path in migrations.glob("*.py"))
    write_sql_migration(migrations, f"{baseline}_1_users", "CREATE TABLE users (id int PRIMARY KEY)")
    before = live(zanith_db.url)
    drop = SoftDropColumn.from_graph(before, "public.legacy", "note")
    write_migration(Migration(f"{baseline}_2_drop_note", (drop,)), migrations)
    assert zanith("apply", *url, project=proj).exit_code == 0
    write_sql_migration(migrations, f"{baseline}_3_broken", "SELECT 1", "SELECT 1/0")
    assert zanith("apply", *url, project=proj).exit_code == 5
    (migrations / f"{baseline}_3_broken.py").unlink()
    assert zanith("resolve", f"{baseline}_3_broken", "--forget", *url, project=proj).exit_code == 0
    conn.execute("COMMENT ON TABLE public._zanith_migrations IS 'zanith ledger v3'")
    configure(proj)  # the user upgrades zanith and keeps the default ledger_schema
    return proj


def test_reads_find_the_old_ledger_where_it_is_and_move_nothing(zanith_db: Any, legacy: Path) -> None:
    conn = zanith_db.conn
    before = ledger_rows(conn, "public")
    status = zanith("status", "--database-url", zanith_db.url, project=legacy)
    assert status.exit_code == 0, status.output
    assert "applied: 3 (last: " in status.output and "_2_drop_note)" in status.output
    assert "pending: none" in status.output
    assert zanith("plan", "--database-url", zanith_db.url, project=legacy).exit_code == 0
    assert ledger_rows(conn, "public") == before and ledger.ledger_version(conn, "public") == 3
    assert conn.execute("SELECT to_regnamespace(%s)", (LEDGER,)).fetchone() == (None,)


def test_first_apply_moves_every_row_and_leaves_the_schema_as_it_was(zanith_db: Any, legacy: Path) -> None:
    conn = zanith_db.conn
    rows, dump, graph = ledger_rows(conn, "public"), schema_dump(zanith_db.url), live(zanith_db.url)
    assert all(rows[t] for t in (ledger.MIGRATIONS, ledger.STEPS, ledger.SNAPSHOTS, ledger.ARTIFACTS, ledger.EVENTS))

    applied = zanith("apply", "--database-url", zanith_db.url, project=legacy)
    assert applied.exit_code == 0, applied.output

    moved = ledger_rows(conn, LEDGER)
    (event,) = [json.loads(r) for r in moved[ledger.EVENTS] if '"ledger_moved"' in r]
    assert event["migration_id"] == "*"
    assert event["detail"] == {"from": "public", "to": LEDGER, "from_version": 3, "to_version": ledger.VERSION}
    moved[ledger.EVENTS] = [r for r in moved[ledger.EVENTS] if '"ledger_moved"' not in r]
    assert moved == rows  # no row lost, none changed
    assert ledger.ledger_version(conn, LEDGER) == ledger.VERSION
    # The user's schema is untouched: the same dump (the judge's), the same graph, the same data.
    assert schema_dump(zanith_db.url) == dump and live(zanith_db.url) == graph
    assert conn.execute("SELECT count(*) FROM legacy").fetchone() == (20,)
    # public holds the user's objects and the marker; the ledger's sequences moved with their tables.
    assert zanith_relations(conn, "public") == [(ledger.MIGRATIONS, "v")]
    assert {name for name, _ in zanith_relations(conn, LEDGER)} >= {*ledger.TABLES, f"{ledger.ARTIFACTS}_id_seq"}
    # The soft-dropped column's artifact still restores: its recorded place did not move.
    listed = zanith("recover", "list", "--json", "--database-url", zanith_db.url, project=legacy)
    (artifact,) = json.loads(listed.output)["artifacts"]
    assert artifact["physical_name"].startswith("public.legacy._zanith_")

    # A next declared change generates, plans and applies as usual, into the moved ledger.
    declared = "CREATE TABLE legacy (id int PRIMARY KEY);\nCREATE TABLE users (id int PRIMARY KEY);\n"
    declared += "CREATE TABLE orders (id int);"
    (legacy / "schema.sql").write_text(declared)
    url = ["--database-url", zanith_db.url]
    generated = zanith("generate", "--name", "orders", "--from", zanith_db.url, project=legacy)
    assert generated.exit_code == 0, generated.output
    assert zanith("apply", *url, project=legacy).exit_code == 0
    assert ledger.applied_migrations(conn, LEDGER)[-1].id.endswith("_orders")
    assert_converges(zanith_db.server, zanith_db.url, declared)


def test_an_older_zanith_meets_a_marker_it_refuses(zanith_db: Any, legacy: Path) -> None:
    conn = zanith_db.conn
    assert zanith("apply", "--database-url", zanith_db.url, project=legacy).exit_code == 0
    # What zanith v3 reads first: the version comment on public._zanith_migrations — newer than it knows.
    stamped = conn.execute("SELECT obj_description('public._zanith_migrations'::regclass, 'pg_class')").fetchone()
    assert stamped == (f"zanith ledger v{ledger.VERSION}",) and ledger.VERSION > 3
    # Had it skipped that check, reading the marker fails saying where the ledger went.
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match=f"moved to schema {LEDGER}"):
        conn.execute("SELECT id, checksum, applied_at, how, applied_by FROM public._zanith_migrations").fetchall()


def test_this_zanith_pointed_at_the_marker_names_where_the_ledger_went(zanith_db: Any, legacy: Path) -> None:
    assert zanith("apply", "--database-url", zanith_db.url, project=legacy).exit_code == 0
    configure(legacy, ledger_schema="public")
    result = zanith("status", "--database-url", zanith_db.url, project=legacy)
    assert result.exit_code == 1
    assert "marker zanith left when it moved the ledger" in result.output and f"'{LEDGER}'" in result.output
    with pytest.raises(ZanithError, match="set ledger_schema"):
        ledger.ensure_ledger(zanith_db.conn, "public")


def test_a_ledger_kept_in_public_by_choice_is_restamped_not_moved(zanith_db: Any, legacy: Path) -> None:
    conn = zanith_db.conn
    configure(legacy, ledger_schema="public")
    rows = ledger_rows(conn, "public")
    assert zanith("apply", "--database-url", zanith_db.url, project=legacy).exit_code == 0
    assert ledger_rows(conn, "public") == rows and ledger.ledger_version(conn, "public") == ledger.VERSION
    assert conn.execute("SELECT to_regnamespace(%s)", (LEDGER,)).fetchone() == (None,)
