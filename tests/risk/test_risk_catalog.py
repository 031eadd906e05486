"""The catalog: its counts, its consistency, its documentation, and its lock claims on a real server."""

from __future__ import annotations

import itertools
from pathlib import Path

from zanith_core.ops import (
    CATALOG,
    AddColumn,
    AddIndex,
    AlterColumnType,
    Backfill,
    Lock,
    RawSql,
    SetNotNull,
    SetPartitionBound,
)
from zanith_core.risk import RiskContext, TableStats, classify, classify_sql
from zanith_core.risk.catalog import GATES, LEVELS, OP_KINDS, REASONS, level_for
from zanith_core.risk.docs import render_markdown
from zanith_core.schema.graph import CheckConstraint, Column, Index, SchemaGraph, Table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "risk.md"


def test_catalog_counts() -> None:
    assert (len(LEVELS), len(REASONS), len(GATES)) == (6, 23, 7)
    # One entry per op kind the ops package defines (docs/risk.md states the count).
    assert set(OP_KINDS) == set(CATALOG)


def test_levels_cover_0_to_100_without_gaps_or_overlaps() -> None:
    assert LEVELS[0].low == 0 and LEVELS[-1].high == 100
    for lower, upper in itertools.pairwise(LEVELS):
        assert upper.low == lower.high + 1
    assert [level_for(s) for s in (0, 10, 11, 25, 26, 45, 46, 65, 66, 79, 80, 100)] == [
        "safe", "safe", "low", "low", "moderate", "moderate", "high", "high", "critical", "critical",
        "destructive", "destructive",
    ]  # fmt: skip
    assert level_for(-5) == "safe" and level_for(250) == "destructive"


def test_every_op_kind_has_a_default_score_reasons_and_an_explanation() -> None:
    for kind, entry in OP_KINDS.items():
        assert entry.kind == kind
        assert 0 <= entry.score <= 100
        assert set(entry.reasons) <= set(REASONS), kind
        assert len(entry.explanation) > 60 and entry.lock and entry.title


def test_every_entry_explains_itself() -> None:
    for reason in REASONS.values():
        assert reason.code.islower() and len(reason.explanation) > 100, reason.code
    for gate in GATES.values():
        assert len(gate.explanation) > 80, gate.name
    assert GATES["budget"].enforcing


def test_docs_risk_md_is_generated_from_the_catalog() -> None:
    assert DOCS.read_text() == render_markdown(), (
        "docs/risk.md is stale: run `python -m zanith_core.risk.docs > docs/risk.md`"
    )


def test_every_reason_code_is_reachable() -> None:
    users = Table("public", "users", columns=(Column("age", "integer"), Column("email", "text")))
    graph = SchemaGraph(tables=(users,))
    large = RiskContext(graph=graph, stats={"public.users": TableStats(rows=5_000_000, bytes=0)})
    small = RiskContext(graph=graph, stats={"public.users": TableStats(rows=10, bytes=8192)})
    parent = Table("public", "m", columns=(Column("k", "integer"),), partition_by="LIST (k)")
    partitioned = RiskContext(graph=SchemaGraph(tables=(parent,)))
    produced = {
        *classify(AlterColumnType("public.users", "age", "bigint", "integer"), large).reasons,
        *classify(AlterColumnType("public.users", "age", "bigint", "integer"), small).reasons,
        *classify(AddColumn("public.users", Column("t", "uuid", default="gen_random_uuid()"))).reasons,
        *classify(AddColumn("public.users", Column("n", "integer", nullable=False))).reasons,
        *classify(AddIndex("public.users", Index("i", ("age",), columns=("age",)), concurrently=False)).reasons,
        *classify(AddIndex("public.users", Index("i", ("age",), columns=("age",)))).reasons,
        *classify(Backfill("public.users", "age", "1")).reasons,
        *classify(SetNotNull("public.users", "email"), RiskContext(graph=graph)).reasons,
        *classify(
            SetNotNull("public.users", "email"),
            RiskContext(
                graph=SchemaGraph(
                    tables=(
                        Table(
                            "public",
                            "users",
                            columns=users.columns,
                            checks=(CheckConstraint("nn", "((email IS NOT NULL))", columns=("email",)),),
                        ),
                    )
                )
            ),
        ).reasons,
        *classify(RawSql("DROP TABLE users; DO $$ BEGIN END $$")).reasons,
        *classify_sql("ALTER TABLE orders ADD FOREIGN KEY (u) REFERENCES users (id) NOT VALID", RiskContext()).reasons,
        *classify_sql("ALTER TABLE users RENAME COLUMN a TO b", RiskContext()).reasons,
        *classify_sql("ALTER TABLE users ADD COLUMN", RiskContext()).reasons,
        *classify(SetPartitionBound("public.m_a", "public.m", "FOR VALUES IN (2)", "FOR VALUES IN (1)")).reasons,
        *classify(AddIndex("public.m", Index("m_k_idx", ("k",), columns=("k",)), partitions=()), partitioned).reasons,
    }
    assert set(REASONS) - produced == set()


# -- the lock claims, checked against pg_locks on the real server ------------------------------------

_SETUP = """
CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE t (id int PRIMARY KEY, a int, b text NOT NULL, p_id int,
                CONSTRAINT fk FOREIGN KEY (p_id) REFERENCES p (id),
                CONSTRAINT ck CHECK (a > 0) NOT VALID, CONSTRAINT ex EXCLUDE USING btree (id WITH =));
CREATE INDEX t_a ON t (a);
CREATE TABLE solo (id int);
CREATE TYPE mood AS ENUM ('a');
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE pt (k int) PARTITION BY RANGE (k);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (10);
"""

# op kind → (statement of its default form, relations its op class's ``default_lock`` is the lock on)
LOCK_CASES = {
    "add_column": ("ALTER TABLE t ADD COLUMN c int", ("t",)),
    "drop_column": ("ALTER TABLE t DROP COLUMN b", ("t",)),
    "rename_column": ("ALTER TABLE t RENAME COLUMN b TO bb", ("t",)),
    "rename_table": ("ALTER TABLE t RENAME TO tt", ("t",)),
    "alter_column_type": ("ALTER TABLE t ALTER COLUMN a TYPE bigint", ("t",)),
    "set_not_null": ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", ("t",)),
    "drop_not_null": ("ALTER TABLE t ALTER COLUMN b DROP NOT NULL", ("t",)),
    "set_default": ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 1", ("t",)),
    "drop_default": ("ALTER TABLE t ALTER COLUMN a DROP DEFAULT", ("t",)),
    "add_index": ("CREATE INDEX t_b ON t (b)", ("t",)),
    "drop_index": ("DROP INDEX t_a", ("t",)),
    "rename_index": ("ALTER INDEX t_a RENAME TO t_a2", ("t_a",)),
    "add_foreign_key": ("ALTER TABLE t ADD CONSTRAINT fk2 FOREIGN KEY (p_id) REFERENCES p (id)", ("t", "p")),
    "drop_foreign_key": ("ALTER TABLE t DROP CONSTRAINT fk", ("t", "p")),
    "add_check": ("ALTER TABLE t ADD CONSTRAINT ck2 CHECK (a < 100) NOT VALID", ("t",)),
    "drop_check": ("ALTER TABLE t DROP CONSTRAINT ck", ("t",)),
    "validate_constraint": ("ALTER TABLE t VALIDATE CONSTRAINT ck", ("t",)),
    "add_exclusion": ("ALTER TABLE t ADD CONSTRAINT ex2 EXCLUDE USING btree (a WITH =)", ("t",)),
    "drop_exclusion": ("ALTER TABLE t DROP CONSTRAINT ex", ("t",)),
    "drop_table": ("DROP TABLE p CASCADE", ("p", "t")),
    "add_dual_write": ("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()", ("t",)),
    "backfill": ("UPDATE t SET a = 1 WHERE id = 1", ("t",)),
    "create_enum": ("CREATE TYPE color AS ENUM ('red')", ("t", "p")),
    "add_enum_value": ("ALTER TYPE mood ADD VALUE 'b'", ("t", "p")),
    "set_partition_bound": (
        "ALTER TABLE pt DETACH PARTITION pt1; ALTER TABLE pt ATTACH PARTITION pt1 FOR VALUES FROM (0) TO (20)",
        ("pt", "pt1"),
    ),
    "set_storage_parameters": ("ALTER TABLE t SET (fillfactor = 70, autovacuum_enabled = false)", ("t",)),
    "set_persistence": ("ALTER TABLE solo SET UNLOGGED", ("solo",)),
    "reorder_columns": ("LOCK TABLE p IN ACCESS EXCLUSIVE MODE", ("p",)),
}

_MODES = {
    "AccessExclusiveLock": "ACCESS EXCLUSIVE",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
    "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareLock": "SHARE",
    "RowExclusiveLock": "ROW EXCLUSIVE",
}
_ORDER = list(_MODES)


def test_catalog_lock_claims_match_pg_locks(zanith_db: object) -> None:
    """Run each op kind's default form in a rolled-back transaction and read the locks it holds: the
    strongest must be the mode the op class declares (the catalog's ``lock`` text starts with it)."""
    conn = zanith_db.conn  # type: ignore[attr-defined]
    conn.execute(_SETUP)
    mismatches = []
    for kind, (statement, relations) in sorted(LOCK_CASES.items()):
        oids = {r: conn.execute("SELECT %s::regclass::oid", (r,)).fetchone()[0] for r in relations}
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
            held = conn.execute(
                "SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = ANY(%s)",
                (list(oids.values()),),
            ).fetchall()
        declared = CATALOG[kind].default_lock
        claimed = None if declared is Lock.NONE else declared.value
        assert OP_KINDS[kind].lock.startswith(claimed or "none")
        for name, oid in oids.items():
            modes = [mode for rel, mode in held if rel == oid and mode in _MODES]
            strongest = _MODES[min(modes, key=_ORDER.index)] if modes else None
            if strongest != claimed:
                mismatches.append((kind, name, claimed, strongest))
    assert mismatches == []
