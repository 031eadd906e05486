"""Declared SQL runs ``CHUNK`` statements per round trip, and still behaves as if sent one by one.

A chunk is one implicit transaction. Anything that cannot share one (a new enum value used at once, a
``CREATE INDEX CONCURRENTLY``) and any error must end exactly as statement by statement: loaded, or
the failing statement named by file, line and column.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zanith_core.errors import SourceError
from zanith_core.servers import Server
from zanith_core.sources import load_schema
from zanith_core.sources.loading_role import CHUNK


def tables(count: int) -> list[str]:
    return [f"CREATE TABLE t{n} (id int PRIMARY KEY, note text);" for n in range(count)]


def declared(folder: Path, lines: list[str]) -> str:
    path = folder / "schema.sql"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_an_error_deep_in_a_chunk_names_its_line_and_column(tmp_path: Path, zanith_shadow: Server) -> None:
    lines = tables(CHUNK + 50)
    lines[CHUNK + 20] = "CREATE TABLE broken (id int REFERENCES nowhere (id));"
    lines[CHUNK + 30] = "CREATE TABLE typo (id int PRIMARY KEY, note txet);"  # never reached: the first error wins
    with pytest.raises(SourceError) as caught:
        load_schema(declared(tmp_path, lines), server=zanith_shadow)
    assert str(caught.value).startswith(f"{tmp_path / 'schema.sql'}:{CHUNK + 21}:1: ")  # the statement's start
    assert 'relation "nowhere" does not exist' in str(caught.value)


def test_statements_that_cannot_share_a_transaction_still_load(tmp_path: Path, zanith_shadow: Server) -> None:
    lines = [
        "CREATE TYPE mood AS ENUM ('ok');",
        "ALTER TYPE mood ADD VALUE 'great';",
        "CREATE TABLE days (id int PRIMARY KEY, mood mood DEFAULT 'great');",  # unsafe use in one transaction
        "CREATE INDEX CONCURRENTLY days_mood_idx ON days (mood);",  # refused in any transaction block
        *tables(3),
    ]
    graph = load_schema(declared(tmp_path, lines), server=zanith_shadow)
    days = next(t for t in graph.tables if t.name == "days")
    assert days.column("mood").default == "'great'::public.mood"
    assert [i.name for i in days.indexes] == ["days_mood_idx"]
    assert len(graph.tables) == 4


def test_a_large_script_loads_whole(tmp_path: Path, zanith_shadow: Server) -> None:
    lines = tables(3 * CHUNK + 7)
    lines[5] = lines[5].removesuffix(";") + " -- a comment inside a statement\n;"
    graph = load_schema(declared(tmp_path, lines), server=zanith_shadow)
    assert len(graph.tables) == 3 * CHUNK + 7
