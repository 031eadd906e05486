"""View and materialized view options (``reloptions``): a materialized view's storage parameters, a
view's ``security_barrier`` / ``check_option``, read, created, altered in place when they alone change (a
scored replace when the definition changes too), judged by ``pg_dump``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from convergence import judged
from support import kinds, live

from zanith_core.ops.base import Lock
from zanith_core.ops.definitions import AlterViewOptions
from zanith_core.risk import classify
from zanith_core.servers import Server

VIEWS = """
CREATE TABLE t (id integer PRIMARY KEY, v integer);
CREATE MATERIALIZED VIEW totals WITH (fillfactor = 70) AS SELECT v, count(*) AS n FROM t GROUP BY v;
CREATE UNIQUE INDEX totals_v ON totals (v);
CREATE VIEW positive WITH (security_barrier) AS SELECT id, v FROM t WHERE v > 0;
"""


def test_options_are_created_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", VIEWS)
    assert "WITH (fillfactor = '70')" in next(op.sql() for op in ops if op.target == "public.totals")


def test_changed_options_are_altered_in_place(zanith_shadow: Server, tmp_path: Path) -> None:
    new = VIEWS.replace("fillfactor = 70", "autovacuum_enabled = false, fillfactor = 50")
    new = new.replace("WITH (security_barrier) ", "").replace("v > 0;", "v > 0 WITH LOCAL CHECK OPTION;")
    ops = judged(zanith_shadow, tmp_path, VIEWS, new)  # pg_dump prints options in stored order: kept
    assert kinds(ops) == ["alter_view_options", "alter_view_options"]
    totals = next(op for op in ops if op.target == "public.totals")
    assert totals.sql() == (
        'ALTER MATERIALIZED VIEW "public"."totals" RESET (fillfactor);\n'
        "ALTER MATERIALIZED VIEW \"public\".\"totals\" SET (autovacuum_enabled = 'false', fillfactor = '50');"
    )
    assert all(classify(op).score <= 10 for op in ops)  # no recompute, no dependent dropped


def test_the_declared_locks_are_the_ones_postgres_takes(zanith_db: Any) -> None:
    zanith_db.conn.execute(VIEWS)
    before = live(zanith_db.url)
    for name, option in (("totals", "fillfactor=50"), ("positive", "check_option=local")):
        view = before.view(name)
        assert view is not None
        op = AlterViewOptions(replace(view, options=(option,)), view)
        with zanith_db.conn.transaction(force_rollback=True):
            for statement in op.statements():
                zanith_db.conn.execute(statement)
            held = zanith_db.conn.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = %s::regclass", (name,)
            ).fetchall()
        assert {"ShareUpdateExclusiveLock": Lock.SHARE_UPDATE_EXCLUSIVE,
                "AccessExclusiveLock": Lock.ACCESS_EXCLUSIVE}[held[0][0]] is op.lock  # fmt: skip


def test_options_and_definition_changed_replace_the_view(zanith_shadow: Server, tmp_path: Path) -> None:
    new = VIEWS.replace("fillfactor = 70", "fillfactor = 50").replace("count(*) AS n", "count(*) AS total")
    ops = judged(zanith_shadow, tmp_path, VIEWS, new)
    assert kinds(ops) == ["replace_view"]
    assert classify(ops[0]).score >= 50  # a materialized view is recomputed under ACCESS EXCLUSIVE
