"""A real ``kill -9`` of a ``zanith apply`` in the middle of a 100k-row backfill; the next run resumes.

The audit trigger records every row a backfill batch writes (inside the batch's transaction, so a batch
rolled back by the kill leaves no record): after the resumed run, every key appears exactly once.
"""

from __future__ import annotations

import json
import os
import signal

import pytest
from backfill_support import audited_keys, checkpoint_row, install_audit
from support import applied_ids, apply_backends, project, step_rows, wait_until, zanith_process, zanith_spawn

from zanith_core.migrations import Migration
from zanith_core.migrations.writer import write_migration
from zanith_core.ops import Backfill, RawSql

pytestmark = pytest.mark.slow

ROWS = 100_000
BATCH = 500


def processed_so_far(conn) -> int:  # type: ignore[no-untyped-def]
    if conn.execute("SELECT to_regclass('zanith._zanith_migration_checkpoints')").fetchone() == (None,):
        return 0
    row = checkpoint_row(conn, "0001_backfill")
    return row[1] if row else 0


def test_sigkill_mid_backfill_then_the_next_run_resumes_from_the_checkpoint(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, w bigint)")
    conn.execute("INSERT INTO t SELECT i, i %% 1000, NULL FROM generate_series(1, %s) i", (ROWS,))
    install_audit(conn, "t")
    # Paces the batches (20 ms each, ~4 s in all) so the kill lands mid-run whatever the machine.
    conn.execute(
        "CREATE FUNCTION pace() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NULL;"
        " END $$; CREATE TRIGGER pace AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION pace()"
    )
    proj = project(tmp_path)
    ops = (Backfill("public.t", "w", "v * 2 + id", batch_size=BATCH), RawSql("CREATE TABLE after_backfill ()"))
    write_migration(Migration("0001_backfill", ops), proj / "migrations")

    child = zanith_spawn("apply", "--database-url", zanith_db.url, "--json", project=proj)
    wait_until(lambda: processed_so_far(conn) >= 30 * BATCH, what="30 batches")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    wait_until(lambda: not apply_backends(conn), timeout=30, what="the killed session to end")

    cursor, processed, status = checkpoint_row(conn, "0001_backfill")
    assert status == "running" and 30 * BATCH <= processed < ROWS
    # A batch and its checkpoint committed together: exactly the checkpointed rows are written.
    assert conn.execute("SELECT count(*), max(id) FROM t WHERE w IS NOT NULL").fetchone() == (processed, processed)
    assert cursor == {"after": [str(processed)], "until": [str(ROWS)]}
    assert step_rows(conn, "0001_backfill") == [("0001_backfill", 1, "running", None)]
    assert applied_ids(conn) == []

    rerun = zanith_process("apply", "--database-url", zanith_db.url, "--json", project=proj)
    assert rerun.returncode == 0, rerun.stderr
    steps = json.loads(rerun.stdout)["steps"]
    assert [(s["step_index"], s["status"]) for s in steps] == [(1, "done"), (2, "done")]

    assert conn.execute("SELECT count(*) FROM t WHERE w IS DISTINCT FROM v * 2 + id").fetchone() == (0,)
    keys = audited_keys(conn, "t")
    assert len(keys) == ROWS and len(set(keys)) == ROWS  # every row written, none twice
    resumed_from = conn.execute(
        "SELECT min(key::bigint) FROM backfill_audit WHERE txid > (SELECT max(txid) FROM backfill_audit"
        " WHERE key::bigint = %s)",
        (processed,),
    ).fetchone()
    assert resumed_from == (processed + 1,)  # the second run started right after the checkpoint
    assert checkpoint_row(conn, "0001_backfill") == ({"after": [str(ROWS)], "until": [str(ROWS)]}, ROWS, "done")
    assert [r[:3] for r in step_rows(conn)] == [("0001_backfill", 1, "done"), ("0001_backfill", 2, "done")]
    assert applied_ids(conn) == ["0001_backfill"]
