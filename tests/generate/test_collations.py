"""Collations: created before the columns, domains and types that use them, dropped after them; a
collation changed while nothing uses it is recreated, one changed while columns use it is refused. From
empty and in upgrades, judged by ``pg_dump`` (tests/judge.py); ICU cases only where the server has ICU."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from convergence import judged
from support import kinds, targets

from zanith_core.generate import GenerateError
from zanith_core.servers import Server, connect

LIBC = """
CREATE COLLATION posix_ci (provider = libc, locale = 'POSIX');
CREATE COLLATION split (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');
CREATE DOMAIN code AS text COLLATE split CHECK (VALUE <> '');
CREATE TYPE label AS (text text COLLATE split, n integer);
CREATE TABLE items (
    id bigint PRIMARY KEY,
    name text COLLATE posix_ci NOT NULL,
    sku code,
    tag label
);
CREATE INDEX items_name ON items (name COLLATE "C");
"""

ICU = """
CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE users (id bigint PRIMARY KEY, email text COLLATE case_insensitive UNIQUE);
"""


def _has_icu(server: Server) -> bool:
    with server.scratch_database(prefix="zanith_icu") as url, connect(url) as conn:
        try:
            conn.execute("CREATE COLLATION probe (provider = icu, locale = 'und')")
        except psycopg.errors.FeatureNotSupported:
            return False
    return True


def test_collations_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", LIBC)
    assert kinds(ops)[:2] == ["create_collation", "create_collation"]


def test_a_column_moves_to_a_new_collation_and_the_old_one_goes(zanith_shadow: Server, tmp_path: Path) -> None:
    other = "CREATE COLLATION other (provider = libc, locale = 'C')"
    new = LIBC.replace("CREATE COLLATION posix_ci (provider = libc, locale = 'POSIX')", other)
    new = new.replace("posix_ci", "other")
    ops = judged(zanith_shadow, tmp_path, LIBC, new)
    order = targets(ops)
    assert order.index(("create_collation", "public.other")) < order.index(("alter_column_type", "public.items.name"))
    assert order.index(("alter_column_type", "public.items.name")) < order.index(("drop_collation", "public.posix_ci"))


def test_a_collation_nothing_uses_is_recreated(zanith_shadow: Server, tmp_path: Path) -> None:
    old = "CREATE COLLATION spare (provider = libc, locale = 'C');"
    ops = judged(zanith_shadow, tmp_path, old, old.replace("'C'", "'POSIX'"))
    assert kinds(ops) == ["drop_collation", "create_collation"]


def test_a_collation_columns_use_is_not_changed_in_place(zanith_shadow: Server, tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match=r"collation public\.posix_ci changes in a way Postgres cannot apply in "
                       r"place .* while column public\.items\.name use it: write this change by hand"):  # fmt: skip
        judged(zanith_shadow, tmp_path, LIBC, LIBC.replace("locale = 'POSIX'", "locale = 'C'"))


def test_icu_collations(zanith_shadow: Server, tmp_path: Path) -> None:
    if not _has_icu(zanith_shadow):
        pytest.skip("this server was built without ICU")
    judged(zanith_shadow, tmp_path, "", ICU)
    judged(zanith_shadow, tmp_path, "CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE);", ICU)
