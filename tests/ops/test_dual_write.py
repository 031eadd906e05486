"""Dual write under concurrency: application threads write through both names while expand runs.

Writers insert and update through the old name from the start, and through the new name as soon as
the dual-write trigger exists; the expand migration (add column, trigger, batched backfill) runs at the
same time through the real runner. Afterwards both columns agree on every row.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable

import psycopg
import pytest
from backfill_support import audited_keys, install_audit
from support import config

from zanith_core.apply.runner import apply_migrations
from zanith_core.authoring.expand_contract import expand_contract_rename, expand_contract_type_change
from zanith_core.read import introspect

pytestmark = pytest.mark.slow

ROWS = 20_000
WRITERS = 4

Write = Callable[[psycopg.Connection, random.Random, int], None]


def slow_batches(conn: psycopg.Connection) -> None:
    """A few milliseconds per backfill batch, so the writers really overlap it on any machine."""
    conn.execute(
        "CREATE FUNCTION pace() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF coalesce(current_setting('zanith.backfill', true), '') <> '' THEN PERFORM pg_sleep(0.005); END IF;"
        " RETURN NULL; END $$; CREATE TRIGGER pace AFTER UPDATE ON users FOR EACH STATEMENT EXECUTE FUNCTION pace()"
    )


def trigger_installed(conn: psycopg.Connection) -> bool:
    found = conn.execute(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = 'users'::regclass AND tgname LIKE '\\_zanith\\_dw%'"
    ).fetchone()
    return found is not None


def backfilling(conn: psycopg.Connection) -> bool:
    """Whether the backfill has started and not finished (its checkpoint says ``running``)."""
    if conn.execute("SELECT to_regclass('zanith._zanith_migration_checkpoints')").fetchone() == (None,):
        return False
    running = conn.execute("SELECT 1 FROM zanith._zanith_migration_checkpoints WHERE status = 'running'").fetchone()
    return running is not None


def run_concurrently(db, tmp_path, migration, old_writes: list[Write], new_writes: list[Write]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Apply ``migration`` while WRITERS threads loop over the writes; return how many of each ran."""
    stop = threading.Event()
    counts = {"old": 0, "new": 0, "new_during_backfill": 0}
    failures: list[BaseException] = []
    lock = threading.Lock()
    ids = itertools.count(ROWS + 1)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with psycopg.connect(db.url, autocommit=True) as conn:
                while not stop.is_set():
                    ready = trigger_installed(conn)
                    side = "new" if ready and rng.random() < 0.5 else "old"
                    write = rng.choice(new_writes if side == "new" else old_writes)
                    with lock:
                        new_id = next(ids)
                    write(conn, rng, new_id)
                    during = side == "new" and backfilling(conn)
                    with lock:
                        counts[side] += 1
                        counts["new_during_backfill"] += during
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        result = apply_migrations(db.url, [migration], config=config(tmp_path, lock_timeout=5.0, lock_retries=5))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures
    assert result.failure is None, result.failure
    return counts


def test_rename_both_columns_agree_after_concurrent_writes_through_both_names(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL DEFAULT 'none', visits int NOT NULL DEFAULT 0);"
        f"INSERT INTO users SELECT i, 'u' || i, 0 FROM generate_series(1, {ROWS}) i"
    )
    install_audit(conn, "users")
    slow_batches(conn)
    expand, _contract = expand_contract_rename(introspect(conn), "users", "email", "mail", batch_size=100)

    def old_insert(c: psycopg.Connection, rng: random.Random, new_id: int) -> None:
        c.execute("INSERT INTO users (id, email) VALUES (%s, %s)", (new_id, f"old-{new_id}"))

    def old_update(c: psycopg.Connection, rng: random.Random, _new_id: int) -> None:
        c.execute(
            "UPDATE users SET email = %s, visits = visits + 1 WHERE id = %s", (f"o{rng.random()}", rng.randint(1, ROWS))
        )

    def new_insert(c: psycopg.Connection, rng: random.Random, new_id: int) -> None:
        c.execute("INSERT INTO users (id, mail) VALUES (%s, %s)", (new_id, f"new-{new_id}"))

    def new_update(c: psycopg.Connection, rng: random.Random, _new_id: int) -> None:
        c.execute("UPDATE users SET mail = %s WHERE id = %s", (f"n{rng.random()}", rng.randint(1, ROWS)))

    counts = run_concurrently(zanith_db, tmp_path, expand, [old_insert, old_update], [new_insert, new_update])
    assert counts["old"] > 0 and counts["new"] > 0 and counts["new_during_backfill"] > 0

    assert conn.execute("SELECT count(*) FROM users WHERE mail IS DISTINCT FROM email").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM users WHERE mail LIKE 'new-%' AND email NOT LIKE 'new-%'").fetchone() == (
        0,
    )
    keys = audited_keys(conn, "users")
    assert len(keys) == len(set(keys))  # the backfill wrote no row twice


def test_type_change_both_columns_agree_after_concurrent_writes_through_both_names(zanith_db, tmp_path):
    conn = zanith_db.conn
    conn.execute(
        "CREATE TABLE users (id bigint PRIMARY KEY, score int NOT NULL);"
        f"INSERT INTO users SELECT i, i % 1000 FROM generate_series(1, {ROWS}) i"
    )
    slow_batches(conn)
    expand, _contract = expand_contract_type_change(introspect(conn), "users", "score", "bigint", batch_size=100)

    def old_insert(c: psycopg.Connection, rng: random.Random, new_id: int) -> None:
        c.execute("INSERT INTO users (id, score) VALUES (%s, %s)", (new_id, rng.randint(0, 10**6)))

    def old_update(c: psycopg.Connection, rng: random.Random, _new_id: int) -> None:
        c.execute("UPDATE users SET score = score + 1 WHERE id = %s", (rng.randint(1, ROWS),))

    def new_insert(c: psycopg.Connection, rng: random.Random, new_id: int) -> None:
        c.execute("INSERT INTO users (id, score_new) VALUES (%s, %s)", (new_id, rng.randint(0, 10**6)))

    def new_update(c: psycopg.Connection, rng: random.Random, _new_id: int) -> None:
        c.execute("UPDATE users SET score_new = score_new + 7 WHERE id = %s", (rng.randint(1, ROWS),))

    counts = run_concurrently(zanith_db, tmp_path, expand, [old_insert, old_update], [new_insert, new_update])
    assert counts["old"] > 0 and counts["new"] > 0 and counts["new_during_backfill"] > 0
    assert conn.execute("SELECT count(*) FROM users WHERE score_new IS DISTINCT FROM score::bigint").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM users WHERE score_new IS NULL").fetchone() == (0,)
