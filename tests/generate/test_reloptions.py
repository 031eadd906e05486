"""Storage parameters, LOGGED ↔ UNLOGGED and exclusion constraints: never silently lost.

Each shape goes OLD → NEW and empty → NEW, judged by pg_dump (tests/judge.py); a second generate has
nothing left to do. Storage parameters change in place (``set_storage_parameters``), not by a rebuild.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from convergence import assert_round_trips, migrated
from support import graph_of, live

from zanith_core.ops import SetStorageParameters
from zanith_core.servers import Server, connect

PLAIN = """
CREATE TABLE item (id int PRIMARY KEY, code text UNIQUE, name text, r int4range);
CREATE INDEX item_name_idx ON item (name);
ALTER TABLE item ADD CONSTRAINT item_r_excl EXCLUDE USING gist (r WITH &&);
CREATE TABLE scratch (id int, note text);
"""
TUNED = """
CREATE TABLE item (id int, code text, name text, r int4range)
    WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.01, toast.autovacuum_enabled = false);
ALTER TABLE item ADD CONSTRAINT item_pkey PRIMARY KEY (id) WITH (fillfactor = 90);
ALTER TABLE item ADD CONSTRAINT item_code_key UNIQUE (code) WITH (fillfactor = 85);
CREATE INDEX item_name_idx ON item (name) WITH (fillfactor = 70, deduplicate_items = off);
ALTER TABLE item ADD CONSTRAINT item_r_excl EXCLUDE USING gist (r WITH -|-) WITH (fillfactor = 60);
CREATE UNLOGGED TABLE scratch (id int, note text);
"""
RETUNED = """
CREATE TABLE item (id int, code text, name text, r int4range) WITH (autovacuum_enabled = false, fillfactor = 75);
ALTER TABLE item ADD CONSTRAINT item_pkey PRIMARY KEY (id);
ALTER TABLE item ADD CONSTRAINT item_code_key UNIQUE (code) WITH (fillfactor = 50);
CREATE INDEX item_name_idx ON item (name) WITH (deduplicate_items = on);
CREATE INDEX item_new_idx ON item (code) WITH (fillfactor = 40);
ALTER TABLE item ADD CONSTRAINT item_r_excl EXCLUDE USING gist (r WITH &&);
CREATE TABLE scratch (id int, note text);
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [(PLAIN, TUNED), (TUNED, RETUNED), (TUNED, PLAIN), (RETUNED, TUNED)],
    ids=["set", "changed and reordered", "reset", "back"],
)
def test_storage_persistence_and_exclusions_converge(zanith_shadow: Server, tmp_path: Path, old: str, new: str) -> None:
    assert_round_trips(zanith_shadow, old, new, tmp_path)


def test_parameters_change_in_place_and_rows_stay(zanith_shadow: Server, tmp_path: Path) -> None:
    rows = "INSERT INTO item VALUES (1, 'a', 'n', '[1,2)'); INSERT INTO scratch VALUES (1, 'kept');"
    with migrated(zanith_shadow, PLAIN, TUNED, tmp_path, rows=rows) as (url, ops):
        by_kind = sorted((op.kind, op.target) for op in ops)
        assert by_kind == [
            ("add_exclusion", "public.item.item_r_excl"),
            ("drop_exclusion", "public.item.item_r_excl"),
            ("set_persistence", "public.scratch"),
            ("set_storage_parameters", "public.item"),
            ("set_storage_parameters", "public.item.item_code_key"),
            ("set_storage_parameters", "public.item.item_name_idx"),
            ("set_storage_parameters", "public.item.item_pkey"),
        ]
        with connect(url) as conn:
            assert conn.execute("SELECT note FROM scratch").fetchall() == [("kept",)]
            assert conn.execute("SELECT relpersistence FROM pg_class WHERE relname = 'scratch'").fetchone() == ("u",)


def test_storage_parameters_round_trip_through_the_graph(zanith_shadow: Server) -> None:
    item = graph_of(zanith_shadow, TUNED).table("item")
    assert item is not None
    assert item.options == ("fillfactor=80", "autovacuum_vacuum_scale_factor=0.01", "toast.autovacuum_enabled=false")
    assert item.primary_key is not None and item.primary_key.options == ("fillfactor=90",)
    assert [u.options for u in item.uniques] == [("fillfactor=85",)]
    assert [i.options for i in item.indexes] == [("fillfactor=70", "deduplicate_items=off")]
    assert "WITH (fillfactor='60')" in item.exclusions[0].definition


def test_set_storage_parameters_reverses_to_the_old_ones(zanith_shadow: Server, tmp_path: Path) -> None:
    with migrated(zanith_shadow, TUNED, RETUNED, tmp_path) as (url, ops):
        before = graph_of(zanith_shadow, TUNED)
        with connect(url) as conn:
            for op in reversed(ops):
                if isinstance(op, SetStorageParameters):
                    with conn.transaction():
                        for statement in op.reverse().statements():
                            conn.execute(statement)
        after = live(url).table("item")
        tuned = before.table("item")
        assert after is not None and tuned is not None
        assert after.options == tuned.options
        assert [u.options for u in after.uniques] == [u.options for u in tuned.uniques]
