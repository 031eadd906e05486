"""Generate OLD → NEW, apply with the production runner, and let the independent judge (tests/judge.py)
say whether the migrated database is the declared one; the same from an empty database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from judge import assert_converges
from support import apply_ops, declared_from_sql, live

from zanith_core.generate import generate_operations
from zanith_core.ops import Operation
from zanith_core.servers import Server, connect


@contextmanager
def migrated(
    server: Server, old_sql: str, new_sql: str, folder: Path, *, rows: str = "", **options: Any
) -> Iterator[tuple[str, tuple[Operation, ...]]]:
    """A scratch database holding ``old_sql`` (and ``rows``, data inserted before the migration),
    migrated to ``new_sql`` by generated ops (``options`` go to ``generate_operations``, default
    ``hard_drop`` and ``accept_detected``) and judged converged: yields its URL and the ops."""
    with server.scratch_database(prefix="zanith_converge") as url:
        with connect(url) as conn:
            if old_sql.strip():
                conn.execute(old_sql.encode())
            if rows.strip():
                conn.execute(rows.encode())
        declared = declared_from_sql(server, new_sql, folder)
        settings = {"hard_drop": True, "accept_detected": True, **options}
        ops = generate_operations(live(url), declared, **settings)
        apply_ops(url, ops)
        assert_converges(server, url, new_sql)
        settings.pop("hints", None)  # renames are done
        assert generate_operations(live(url), declared, **settings) == (), "a second generate has work left"
        yield url, ops


def assert_round_trips(server: Server, old_sql: str, new_sql: str, folder: Path, **options: Any) -> None:
    """OLD → NEW and empty → NEW both converge (judged by pg_dump), and a second generate has nothing to do."""
    for before in (old_sql, ""):
        with migrated(server, before, new_sql, folder, **options):
            pass
