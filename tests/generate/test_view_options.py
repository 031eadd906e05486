"""View and materialized view options (``reloptions``): a materialized view's storage parameters, a
view's ``security_barrier`` / ``check_option``, read, created and changed (a scored replace), judged by
``pg_dump``."""

from __future__ import annotations

from pathlib import Path

from judged import converge
from support import kinds

from zanith_core.risk import classify
from zanith_core.servers import Server

VIEWS = """
CREATE TABLE t (id integer PRIMARY KEY, v integer);
CREATE MATERIALIZED VIEW totals WITH (fillfactor = 70) AS SELECT v, count(*) AS n FROM t GROUP BY v;
CREATE UNIQUE INDEX totals_v ON totals (v);
CREATE VIEW positive WITH (security_barrier) AS SELECT id, v FROM t WHERE v > 0;
"""


def test_options_are_created_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = converge(zanith_shadow, tmp_path, "", VIEWS)
    assert "WITH (fillfactor = '70')" in next(op.sql() for op in ops if op.target == "public.totals")


def test_changed_options_replace_the_view(zanith_shadow: Server, tmp_path: Path) -> None:
    new = VIEWS.replace("fillfactor = 70", "fillfactor = 50, autovacuum_enabled = false")
    new = new.replace("WITH (security_barrier) ", "").replace("v > 0;", "v > 0 WITH LOCAL CHECK OPTION;")
    ops = converge(zanith_shadow, tmp_path, VIEWS, new)
    assert kinds(ops) == ["replace_view", "replace_view"]
    scores = {op.target: classify(op).score for op in ops}
    assert scores["public.totals"] >= 50 > scores["public.positive"]  # a materialized view is recomputed
