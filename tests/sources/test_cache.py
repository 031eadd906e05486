"""The declared-graph cache: a hit skips the scratch database, and anything that changes the graph misses.

A cache that returns a stale graph would make generate and verify lie, so most of these tests change
one input of the key and prove the next load sees the change.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from verify_support import SCHEMA_SQL, make_project, project_config

from zanith_core.diff import diff
from zanith_core.servers import Server
from zanith_core.sources import cache as cache_module
from zanith_core.sources import declared_cache, load_declared, load_schema
from zanith_core.sources.cache import KEEP, GraphCache
from zanith_core.verify import verify_on_shadow


@dataclass(frozen=True)
class CountingServer(Server):
    """The session's real server, counting the scratch databases a load asks it for."""

    made: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def scratch_database(self, prefix: str = "zanith_scratch", *, template: str | None = None) -> Iterator[str]:
        with super().scratch_database(prefix, template=template) as url:
            self.made.append(url)
            yield url


def counting(server: Server) -> CountingServer:
    return CountingServer(url=server.url, kind=server.kind)


def test_a_second_load_of_the_same_schema_runs_nothing(tmp_path: Path, zanith_shadow: Server) -> None:
    config = project_config(make_project(tmp_path))
    server = counting(zanith_shadow)
    first = load_declared(config.schema, config, server=server)
    second = load_declared(config.schema, config, server=server)
    assert len(server.made) == 1
    assert second == first
    assert second.tables and not diff(first, second)
    folder = tmp_path / ".zanith"
    assert len(list((folder / "declared").glob("*.json"))) == 1
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"


def test_an_edited_schema_is_loaded_again(tmp_path: Path, zanith_shadow: Server) -> None:
    project = make_project(tmp_path)
    config = project_config(project)
    server = counting(zanith_shadow)
    before = load_declared(config.schema, config, server=server)
    (project / "schema.sql").write_text(SCHEMA_SQL.replace("email text NOT NULL", "email varchar(100) NOT NULL"))
    after = load_declared(config.schema, config, server=server)
    assert len(server.made) == 2
    changed = [d.render() for d in diff(before, after)]
    assert any("email" in line and "character varying(100)" in line for line in changed), changed


def test_the_options_the_graph_is_read_with_are_part_of_the_key(tmp_path: Path, zanith_shadow: Server) -> None:
    config = project_config(make_project(tmp_path))
    server = counting(zanith_shadow)
    load_declared(config.schema, config, server=server)
    load_declared(config.schema, project_config(tmp_path, privileges=True), server=server)
    load_declared(config.schema, project_config(tmp_path, schemas=["public", "extra"]), server=server)
    assert len(server.made) == 3


def test_zanith_code_changes_start_over(tmp_path: Path, zanith_shadow: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "read.py").write_text("X = 1\n")
    monkeypatch.setattr(cache_module, "_CODE", code)
    config = project_config(make_project(tmp_path / "project"))
    server = counting(zanith_shadow)
    load_declared(config.schema, config, server=server)
    load_declared(config.schema, config, server=server)
    (code / "read.py").write_text("X = 22\n")  # an upgrade, or an edit in a development checkout
    load_declared(config.schema, config, server=server)
    assert len(server.made) == 2


def test_the_server_is_part_of_the_key(tmp_path: Path, zanith_shadow: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = GraphCache(tmp_path)
    texts = [("schema.sql", SCHEMA_SQL)]
    key = cache.key(texts, ("public",), False, zanith_shadow.url)
    assert cache.key(texts, ("public",), False, zanith_shadow.url) == key
    identity = cache_module.server_identity(zanith_shadow.url)
    with psycopg.connect(zanith_shadow.url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
    assert version is not None and identity[0] == version[0]
    assert len(identity) == 6  # version, encoding, role, superuser, template0's collation, extensions
    for field_index in range(len(identity)):  # another server differs in one of them: another key
        other = [*identity]
        other[field_index] += "'"
        monkeypatch.setattr(cache_module, "server_identity", lambda url, other=other: other)
        assert cache.key(texts, ("public",), False, zanith_shadow.url) != key


def test_a_damaged_entry_is_a_miss_and_is_written_again(tmp_path: Path, zanith_shadow: Server) -> None:
    config = project_config(make_project(tmp_path))
    server = counting(zanith_shadow)
    first = load_declared(config.schema, config, server=server)
    (entry,) = (tmp_path / ".zanith" / "declared").glob("*.json")
    entry.write_text('{"tables": [{"name": ')  # a command killed mid-write by an older zanith, a full disk
    assert load_declared(config.schema, config, server=server) == first
    assert len(server.made) == 2
    assert json.loads(entry.read_text())["tables"]


def test_the_folder_keeps_the_most_recent_entries(tmp_path: Path, zanith_shadow: Server) -> None:
    cache = GraphCache(tmp_path / "declared")
    for n in range(KEEP + 2):
        sql = f"CREATE TABLE t{n} (id int PRIMARY KEY);"
        load_schema(sql_file(tmp_path, n, sql), server=zanith_shadow, cache=cache)
    assert len(list(cache.folder.glob("*.json"))) == KEEP


def sql_file(folder: Path, n: int, text: str) -> str:
    path = folder / f"schema_{n}.sql"
    path.write_text(text)
    return str(path)


def test_no_cache_outside_a_project_or_when_switched_off(tmp_path: Path) -> None:
    assert declared_cache(project_config(tmp_path)) is None  # no pyproject.toml with [tool.zanith]
    project = make_project(tmp_path / "p")
    assert declared_cache(project_config(project, cache=False)) is None
    found = declared_cache(project_config(project))
    assert found is not None and found.folder == project / ".zanith" / "declared"


def test_verify_after_the_declared_schema_changed_reports_the_drift(tmp_path: Path, zanith_shadow: Server) -> None:
    """The cache must never turn a drift into ok: the edited schema is a new key."""
    project = make_project(tmp_path)
    config = project_config(project)
    assert verify_on_shadow(config, server=zanith_shadow).verdict == "ok"
    assert verify_on_shadow(config, server=zanith_shadow).verdict == "ok"  # from the cache
    (project / "schema.sql").write_text(SCHEMA_SQL.replace("email text NOT NULL", "email varchar(100) NOT NULL"))
    verdict = verify_on_shadow(config, server=zanith_shadow)
    assert verdict.verdict == "drift", verdict.render()
    assert "email" in verdict.detail
