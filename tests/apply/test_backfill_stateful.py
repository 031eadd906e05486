"""Hypothesis state machine: applies, crashes, resumes and application writes, in any order.

The system under test is the expand phase of a rename (add column, dual-write trigger, batched backfill)
applied by the real runner. Crashes are injected by the database: a one-shot failure of the next DDL
statement (a crash at a step) or of the backfill's k-th row write (a crash inside a batch, which rolls
the batch back with its checkpoint). Between applies, the application inserts, updates and deletes
through the old name and — once the trigger exists — the new one.

Invariants: the table always holds exactly what the application wrote (the model); a filled new
column always equals the old one; the backfill never writes a row twice. In the end, after a final
uninterrupted apply, every row has ``w = v``: the state an uninterrupted run gives for the same writes.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
import pytest
from backfill_support import audited_keys, install_audit
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from support import LEDGER, apply, config, examples

from zanith_core.apply.runner import apply_migrations
from zanith_core.authoring.expand_contract import expand_contract_rename
from zanith_core.ledger import ensure_ledger
from zanith_core.migrations import Migration
from zanith_core.read import introspect
from zanith_core.servers import Server, connect

pytestmark = pytest.mark.slow

CRASH_HOOKS = """
CREATE TABLE crash_plan (kind text, at bigint);
CREATE SEQUENCE backfill_writes;
CREATE FUNCTION crash_in_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('zanith.backfill', true), '') <> ''
       AND nextval('backfill_writes') >= (SELECT min(at) FROM crash_plan WHERE kind = 'batch') THEN
        RAISE EXCEPTION 'injected crash inside a backfill batch';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER crash_in_batch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION crash_in_batch();
CREATE FUNCTION crash_at_step() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM crash_plan WHERE kind = 'step') THEN
        RAISE EXCEPTION 'injected crash at a step';
    END IF;
END $$;
CREATE EVENT TRIGGER crash_at_step ON ddl_command_start WHEN TAG IN ('ALTER TABLE', 'CREATE FUNCTION')
    EXECUTE FUNCTION crash_at_step();
"""


def machine(server: Server, project: Path) -> type[RuleBasedStateMachine]:
    class ExpandWithCrashes(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.name = f"zanith_sm_{secrets.token_hex(4)}"
            self.url = server.create_database(self.name)
            self.conn = connect(self.url)
            self.model: dict[int, str] = {}
            self.next_id = 1
            self.expand: Migration | None = None
            self.applied = False

        # -- setup ---------------------------------------------------------------------------------

        @initialize(rows=st.integers(0, 40), batch_size=st.integers(1, 7))
        def populate(self, rows: int, batch_size: int) -> None:
            self.conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL DEFAULT 'd', n int)")
            for _ in range(rows):
                self._insert("v", f"r{self.next_id}")
            install_audit(self.conn, "t")
            ensure_ledger(self.conn, LEDGER)  # the hooks aim at steps, not at the ledger's bootstrap DDL
            self.conn.execute(CRASH_HOOKS)
            self.expand, _ = expand_contract_rename(introspect(self.conn), "t", "v", "w", batch_size=batch_size)

        # -- the runner ----------------------------------------------------------------------------

        @precondition(lambda self: not self.applied)  # once applied, an apply has nothing left to run
        @rule(crash=st.sampled_from([None, "step", 0, 1, 2, 3, 5, 8, 12]))
        def apply(self, crash: str | int | None) -> None:
            """Apply, possibly crashing at the next step or at the backfill's ``crash``-th next row write."""
            assert self.expand is not None
            if crash == "step":
                self.conn.execute("INSERT INTO crash_plan VALUES ('step', NULL)")
            elif crash is not None:
                now = self.conn.execute("SELECT nextval('backfill_writes')").fetchone()[0]
                self.conn.execute("INSERT INTO crash_plan VALUES ('batch', %s)", (now + crash,))
            result = apply_migrations(self.url, [self.expand], config=config(project))
            self.conn.execute("DELETE FROM crash_plan")  # each planned crash fires at most once
            self.applied = self.applied or result.failure is None

        # -- the application -----------------------------------------------------------------------

        @rule(new_name=st.booleans(), value=st.text("abc", min_size=1, max_size=3))
        def insert(self, new_name: bool, value: str) -> None:
            self._insert("w" if new_name and self._trigger_ready() else "v", value)

        @precondition(lambda self: bool(self.model))
        @rule(data=st.data(), new_name=st.booleans(), value=st.text("xyz", min_size=1, max_size=3))
        def update(self, data: st.DataObject, new_name: bool, value: str) -> None:
            key = data.draw(st.sampled_from(sorted(self.model)))
            column = "w" if new_name and self._trigger_ready() else "v"
            self.conn.execute(f"UPDATE t SET {column} = %s, n = coalesce(n, 0) + 1 WHERE id = %s", (value, key))
            self.model[key] = value

        @precondition(lambda self: bool(self.model))
        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            key = data.draw(st.sampled_from(sorted(self.model)))
            self.conn.execute("DELETE FROM t WHERE id = %s", (key,))
            del self.model[key]

        def _insert(self, column: str, value: str) -> None:
            self.conn.execute(f"INSERT INTO t (id, {column}) VALUES (%s, %s)", (self.next_id, value))
            self.model[self.next_id] = value
            self.next_id += 1

        def _trigger_ready(self) -> bool:
            found = self.conn.execute("SELECT 1 FROM pg_trigger WHERE tgname LIKE '\\_zanith\\_dw%'").fetchone()
            return found is not None

        def _has_w(self) -> bool:
            found = self.conn.execute(
                "SELECT 1 FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'w' AND NOT attisdropped"
            ).fetchone()
            return found is not None

        # -- invariants ----------------------------------------------------------------------------

        @invariant()
        def table_holds_what_the_application_wrote(self) -> None:
            if self.expand is None:
                return
            rows = dict(self.conn.execute("SELECT id, v FROM t").fetchall())
            assert rows == self.model

        @invariant()
        def a_filled_new_column_equals_the_old_one(self) -> None:
            if self.expand is None or not self._has_w():
                return
            stale = self.conn.execute("SELECT count(*) FROM t WHERE w IS NOT NULL AND w <> v").fetchone()[0]
            assert stale == 0
            if self.applied:
                assert self.conn.execute("SELECT count(*) FROM t WHERE w IS NULL").fetchone() == (0,)

        @invariant()
        def no_row_is_backfilled_twice(self) -> None:
            if self.expand is None:
                return
            keys = audited_keys(self.conn, "t")
            assert len(keys) == len(set(keys))

        def teardown(self) -> None:
            try:
                if self.expand is not None:
                    self.conn.execute("DELETE FROM crash_plan")
                    apply(self.url, self.expand, project_dir=project)
                    assert dict(self.conn.execute("SELECT id, v FROM t").fetchall()) == self.model
                    assert self.conn.execute("SELECT count(*) FROM t WHERE w IS DISTINCT FROM v").fetchone() == (0,)
                    steps = self.conn.execute(
                        "SELECT count(*) FROM zanith._zanith_migration_steps WHERE status = 'done'"
                    ).fetchone()
                    assert steps == (len(self.expand.operations),)  # no step recorded twice
            finally:
                self.conn.close()
                server.drop_database(self.name)

    return ExpandWithCrashes


def test_any_interleaving_of_apply_crash_resume_and_writes_ends_like_an_uninterrupted_run(zanith_shadow, tmp_path):
    run_state_machine_as_test(
        machine(zanith_shadow, tmp_path),
        settings=settings(max_examples=examples(15), stateful_step_count=12, deadline=None),
    )


def test_the_crash_hooks_really_crash(zanith_db, tmp_path):
    """The injected crashes fail the step they aim at (or the machine above would prove nothing)."""
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL DEFAULT 'd', n int)")
    conn.execute("INSERT INTO t (id, v) SELECT i, 'r' || i FROM generate_series(1, 20) i")
    ensure_ledger(conn, LEDGER)  # the hooks aim at steps, not at the ledger's bootstrap DDL
    conn.execute(CRASH_HOOKS)
    expand, _ = expand_contract_rename(introspect(conn), "t", "v", "w", batch_size=3)
    conn.execute("INSERT INTO crash_plan VALUES ('step', NULL)")
    first = apply_migrations(zanith_db.url, [expand], config=config(tmp_path))
    assert first.failure is not None and first.failure.step_index == 1 and "at a step" in first.failure.error
    conn.execute("DELETE FROM crash_plan; INSERT INTO crash_plan VALUES ('batch', 7)")
    second = apply_migrations(zanith_db.url, [expand], config=config(tmp_path))
    assert second.failure is not None and second.failure.step_index == 3 and "inside a backfill" in second.failure.error
    assert conn.execute("SELECT processed_rows FROM zanith._zanith_migration_checkpoints").fetchone() == (6,)
    with psycopg.connect(zanith_db.url) as check:
        assert check.execute("SELECT count(*) FROM t WHERE w IS NOT NULL").fetchone() == (6,)
