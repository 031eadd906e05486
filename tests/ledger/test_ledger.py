"""The ledger tables: exact columns, idempotent create and upgrade, readers, and docs/audit.md's SQL."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from support import LEDGER, config, migration

from zanith_core import ledger
from zanith_core.apply.runner import apply_migrations
from zanith_core.errors import ZanithError

DOC = Path(__file__).parents[2] / "docs" / "audit.md"

COLUMNS = {
    "_zanith_migrations": ["id", "checksum", "applied_at", "how", "applied_by"],
    "_zanith_migration_steps": [
        "migration_id",
        "step_index",
        "op_kind",
        "status",
        "sql",
        "risk_level",
        "risk_score",
        "risk_reasons",
        "error",
        "started_at",
        "finished_at",
    ],
    "_zanith_schema_snapshots": ["migration_id", "phase", "schema", "taken_at"],
    "_zanith_migration_artifacts": [
        "id",
        "migration_id",
        "step_index",
        "kind",
        "source",
        "physical_name",
        "checksum",
        "row_count",
        "recovery_sql",
        "created_at",
        "expires_at",
        "status",
        "status_changed_at",
    ],
    "_zanith_migration_checkpoints": [
        "migration_id",
        "step_index",
        "cursor",
        "processed_rows",
        "status",
        "started_at",
        "updated_at",
    ],
    "_zanith_ledger_events": ["id", "migration_id", "action", "step_index", "detail", "recorded_by", "recorded_at"],
}


def columns(conn, schema: str = "public") -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name LIKE '\\_zanith\\_%%' ORDER BY table_name, ordinal_position",
        (schema,),
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found


def test_creates_the_six_tables_with_exactly_the_documented_columns(zanith_db):
    ledger.ensure_ledger(zanith_db.conn, "public")
    assert columns(zanith_db.conn) == COLUMNS
    assert ledger.ledger_version(zanith_db.conn, "public") == ledger.VERSION == 4
    comment = zanith_db.conn.execute("SELECT obj_description('_zanith_migrations'::regclass, 'pg_class')")
    assert comment.fetchone() == ("zanith ledger v4",)


def test_every_table_and_column_is_documented_in_audit_md():
    text = DOC.read_text()
    for table, names in COLUMNS.items():
        section = text.split(f"## `{table}`", 1)[1].split("\n## ", 1)[0]
        for name in names:
            assert f"| `{name}` |" in section, f"{table}.{name} is not documented in docs/audit.md"


def test_bootstrap_is_idempotent_and_keeps_data(zanith_db):
    conn = zanith_db.conn
    ledger.ensure_ledger(conn, "public")
    conn.execute("INSERT INTO _zanith_migrations (id, checksum) VALUES ('x', 'c')")
    ledger.ensure_ledger(conn, "public")
    assert conn.execute("SELECT id FROM _zanith_migrations").fetchall() == [("x",)]
    assert columns(conn) == COLUMNS


def test_an_unversioned_ledger_is_upgraded_in_place(zanith_db):
    conn = zanith_db.conn
    ledger.ensure_ledger(conn, "public")
    conn.execute("INSERT INTO _zanith_migrations (id, checksum) VALUES ('x', 'c')")
    conn.execute("COMMENT ON TABLE _zanith_migrations IS NULL")
    assert ledger.ledger_version(conn, "public") == 0
    ledger.ensure_ledger(conn, "public")
    assert ledger.ledger_version(conn, "public") == ledger.VERSION
    assert [a.id for a in ledger.applied_migrations(conn, "public")] == ["x"]


def test_a_ledger_newer_than_this_zanith_is_refused(zanith_db):
    conn = zanith_db.conn
    ledger.ensure_ledger(conn, "public")
    conn.execute("COMMENT ON TABLE _zanith_migrations IS 'zanith ledger v99'")
    with pytest.raises(ZanithError, match="version 99, newer than this zanith"):
        ledger.ensure_ledger(conn, "public")


def test_readers_on_a_database_without_a_ledger_return_nothing_and_create_nothing(zanith_db):
    conn = zanith_db.conn
    assert ledger.applied_migrations(conn, "public") == ()
    assert ledger.steps(conn, "public") == ()
    assert ledger.failed_step(conn, "public") is None
    assert ledger.snapshot(conn, "public", "x") is None
    assert ledger.risk_profile(conn, "public") == ()
    assert columns(conn) == {}


def test_a_ledger_schema_that_does_not_exist_is_created(zanith_db):
    ledger.ensure_ledger(zanith_db.conn, "Audit Trail")
    assert columns(zanith_db.conn, "Audit Trail") == COLUMNS


def test_readers_return_values(zanith_db, tmp_path):
    ms = [migration("0001", "CREATE TABLE a (id int)"), migration("0002", "SELECT 1", "SELECT 1/0")]
    apply_migrations(zanith_db.url, ms, config=config(tmp_path))
    conn = zanith_db.conn
    (applied,) = ledger.applied_migrations(conn, LEDGER)
    assert (applied.id, applied.checksum) == ("0001", ms[0].checksum)
    records = ledger.steps(conn, LEDGER, "0002")
    assert [(r.step_index, r.status) for r in records] == [(1, "done"), (2, "failed")]
    assert records[0].seconds is not None and records[0].seconds >= 0
    failed = ledger.failed_step(conn, LEDGER)
    assert failed is not None and (failed.migration_id, failed.step_index) == ("0002", 2)
    assert failed.error is not None and "division by zero" in failed.error
    assert [r.op_kind for r in ledger.steps(conn, LEDGER)] == ["raw_sql"] * 3
    # Every done step counts once per reason code in the risk profile, under '(none)' when it has none.
    profile = ledger.risk_profile(conn, LEDGER)
    done = [r for r in ledger.steps(conn, LEDGER) if r.status == "done"]
    assert sum(r.steps for r in profile) == sum(max(1, len(r.risk_reasons)) for r in done)
    assert all(r.steps >= 1 and r.max_score is not None for r in profile)


def sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_risk_profile_in_the_docs_is_the_query_the_cli_runs():
    documented = [b for b in sql_blocks() if "unnest(coalesce(nullif(st.risk_reasons" in b]
    assert documented == [ledger.RISK_PROFILE_SQL.replace("{s}.", f"{LEDGER}.") + ";\n"]


@pytest.mark.parametrize("block", sql_blocks(), ids=lambda b: b.split("\n")[0][:40])
def test_every_post_mortem_query_in_the_docs_runs_on_a_real_ledger(zanith_db, tmp_path, block: str):
    ms = [
        migration("0001_users", "CREATE TABLE users (id bigint PRIMARY KEY, name text)"),
        migration("0002_email", "ALTER TABLE users ADD COLUMN email text"),
        migration("0003_broken", "SELECT 1/0"),
    ]
    apply_migrations(zanith_db.url, ms, config=config(tmp_path))
    rows = zanith_db.conn.execute(block.replace(":'migration_id'", "'0001_users'")).fetchall()
    if "_zanith_migration_artifacts" not in block and "_zanith_migration_checkpoints" not in block:
        assert rows, f"the query returned nothing on a populated ledger:\n{block}"


def test_a_v1_ledger_is_read_as_applied_and_upgraded_without_losing_a_row(zanith_db):
    conn = zanith_db.conn
    with conn.transaction():  # the ledger as zanith before v2 left it (v3 added how and applied_by)
        for text in ledger.UPGRADES[0]:
            conn.execute(text.format(s='"public"'))
        conn.execute("COMMENT ON TABLE _zanith_migrations IS 'zanith ledger v1'")
    conn.execute("INSERT INTO _zanith_migrations (id, checksum) VALUES ('0001_a', 'c1'), ('0002_b', 'c2')")
    assert ledger.ledger_version(conn, "public") == 1
    read = ledger.applied_migrations(conn, "public")  # readers never upgrade: v1 rows read as applied
    assert [(a.id, a.how, a.applied_by) for a in read] == [("0001_a", "applied", None), ("0002_b", "applied", None)]

    ledger.ensure_ledger(conn, "public")
    assert ledger.ledger_version(conn, "public") == ledger.VERSION and columns(conn) == COLUMNS
    upgraded = ledger.applied_migrations(conn, "public")
    assert [(a.id, a.checksum, a.how, a.applied_by) for a in upgraded] == [
        ("0001_a", "c1", "applied", None), ("0002_b", "c2", "applied", None)
    ]  # fmt: skip
    with conn.transaction():
        ledger.mark_applied(conn, "public", "0003_c", "c3", None, how="adopted")
    me = conn.execute("SELECT current_user::text").fetchone()
    assert [(a.how, a.applied_by) for a in ledger.applied_migrations(conn, "public")][-1] == ("adopted", me[0])
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO _zanith_migrations (id, checksum, how) VALUES ('x', 'c', 'stamped')")
    with pytest.raises(ValueError, match="how must be one of"):
        ledger.mark_applied(conn, "public", "0004_d", "c4", None, how="stamped")
def test_a_v1_ledger_is_upgraded_keeping_its_rows_and_accepting_resolve_statuses(zanith_db):
    conn = zanith_db.conn
    for statement in ledger.UPGRADES[0]:
        conn.execute(statement.format(s="public"))
    conn.execute("COMMENT ON TABLE _zanith_migrations IS 'zanith ledger v1'")
    conn.execute("INSERT INTO _zanith_migrations (id, checksum) VALUES ('x', 'c')")
    conn.execute("INSERT INTO _zanith_migration_steps (migration_id, step_index, op_kind, status, sql)"
                 " VALUES ('y', 1, 'raw_sql', 'failed', 'SELECT 1/0')")
    with pytest.raises(Exception, match="violates check constraint"):
        ledger.set_step_status(conn, "public", "y", 1, "rolled_back")  # v1 knows three statuses
    ledger.ensure_ledger(conn, "public")
    assert ledger.ledger_version(conn, "public") == ledger.VERSION and columns(conn) == COLUMNS
    assert [a.id for a in ledger.applied_migrations(conn, "public")] == ["x"]
    ledger.set_step_status(conn, "public", "y", 1, "rolled_back")
    assert [s.status for s in ledger.steps(conn, "public")] == ["rolled_back"]
    with pytest.raises(Exception, match="violates check constraint"):
        conn.execute("UPDATE _zanith_migration_steps SET status = 'bogus'")
