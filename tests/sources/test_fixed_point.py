"""Expressions PostgreSQL reprints differently once executed are compared at their fixed point.

``status IN ('a', 'b')`` on a varchar column prints as ``... ANY ((ARRAY[...])::text[])``, which executed
prints as ``... ANY (ARRAY[(...)::text, ...])``: a migration can only execute printed text, so without the
fixed point every generate would "fix" the check, the view and the index predicate again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import apply_ops, declared_from_sql, live

from zanith_core.diff import diff
from zanith_core.generate import generate_operations
from zanith_core.servers import Server, connect

REPRINTED = """
CREATE TABLE t (id int, status varchar(10) CHECK (status IN ('a', 'b')), x int DEFAULT -1);
CREATE INDEX t_open ON t (id) WHERE status IN ('a');
CREATE VIEW v AS SELECT id, status FROM t WHERE status IN ('a', 'b');
"""


@pytest.mark.parametrize("old", ["", "CREATE TABLE t (id int, status varchar(10), x int);"], ids=["empty", "old"])
def test_a_second_generate_has_nothing_to_do(zanith_shadow: Server, tmp_path: Path, old: str) -> None:
    declared = declared_from_sql(zanith_shadow, REPRINTED, tmp_path)
    check = declared.tables[0].checks[0].expression
    assert "ARRAY[('a'::character varying)::text" in check, "the declared side is read at its fixed point"
    with zanith_shadow.scratch_database(prefix="zanith_fixed") as url:
        if old:
            with connect(url) as conn:
                conn.execute(old)
        apply_ops(url, generate_operations(live(url), declared, hard_drop=True))
        assert diff(live(url), declared) == ()
        assert generate_operations(live(url), declared, hard_drop=True) == ()


def test_loading_twice_gives_the_same_graph(zanith_shadow: Server, tmp_path: Path) -> None:
    first = declared_from_sql(zanith_shadow, REPRINTED, tmp_path)
    with zanith_shadow.scratch_database(prefix="zanith_fixed") as url:
        apply_ops(url, generate_operations(live(url), first))
        assert live(url) == first
