"""Generate OLD → NEW on a real database, apply, and let the judge (``pg_dump``) say whether it converged.

The shape every real-schema test of generate follows: the old schema (with rows, where the change must
keep them) is loaded, the migration is generated against the declared SQL as ``zanith generate`` does
(hard drops, detected renames accepted, type changes checked for a cast on the server), applied with the
production runner, and judged by :func:`judge.assert_converges` — not by zanith's own diff. A second
generate must then have nothing left to do (a "fix" that repeats forever is a difference hidden).

- :func:`migrated`: the round trip on a scratch database, which it yields;
- :func:`converge`: the same on the test's own database, then the reversal judged against the old SQL;
- :func:`judged`: the round trip from ``old`` (or empty) on a scratch database, returning the ops;
- :func:`from_empty` and :func:`assert_round_trips`: from empty, and from both old and empty.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from judge import assert_converges
from support import apply_ops, declared_from_sql, live

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.generate import generate_operations, reversal
from zanith_core.ops import Operation
from zanith_core.read.casts import castable
from zanith_core.servers import Server, connect


def generate_for(
    server: Server, url: str, new_sql: str, folder: Path, schemas: Sequence[str] = ("public",), **options: Any
) -> tuple[Operation, ...]:
    """The ops ``zanith generate --hard-drop --yes`` writes to turn the database at ``url`` into
    ``new_sql`` (``options`` override ``generate_operations``' arguments)."""
    declared = declared_from_sql(server, new_sql, folder, schemas)
    with connect(server.url) as conn:
        settings: dict[str, Any] = {
            "hard_drop": True,
            "accept_detected": True,
            "castable": lambda old, new: castable(conn, old, new),
            **options,
        }
        return generate_operations(live(url, schemas), declared, **settings)


def _apply_and_judge(
    server: Server, url: str, new_sql: str, folder: Path, schemas: Sequence[str], **options: Any
) -> tuple[Operation, ...]:
    ops = generate_for(server, url, new_sql, folder, schemas, **options)
    if ops:
        apply_ops(url, ops, schemas=tuple(schemas), snapshots=False)
    assert_converges(server, url, new_sql)
    settled = {k: v for k, v in options.items() if k != "hints"}  # a rename, once done, has nothing to hint
    again = generate_for(server, url, new_sql, folder, schemas, **settled)
    assert again == (), f"a second generate has work left: {[op.kind for op in again]}"
    return ops


@contextmanager
def migrated(
    server: Server,
    old_sql: str,
    new_sql: str,
    folder: Path,
    *,
    rows: str = "",
    schemas: Sequence[str] = ("public",),
    **options: Any,
) -> Iterator[tuple[str, tuple[Operation, ...]]]:
    """A scratch database holding ``old_sql`` (and ``rows``, data inserted before the migration),
    migrated to ``new_sql`` and judged converged: yields its URL and the ops."""
    with server.scratch_database(prefix="zanith_converge") as url:
        with connect(url) as conn:
            for text in (old_sql, rows):
                if text.strip():
                    conn.execute(text.encode())
        yield url, _apply_and_judge(server, url, new_sql, folder, schemas, **options)


def judged(
    server: Server, folder: Path, old_sql: str, new_sql: str, *, schemas: Sequence[str] = ("public",), **options: Any
) -> tuple[Operation, ...]:
    """:func:`migrated` from ``old_sql`` (may be empty), returning the ops once the database is gone."""
    with migrated(server, old_sql, new_sql, folder, schemas=schemas, **options) as (_url, ops):
        return ops


def converge(
    db: ZanithDatabase, old_sql: str, new_sql: str, folder: Path, *, reverse: bool = True
) -> tuple[Operation, ...]:
    """Load ``old_sql`` on the test's database, migrate to ``new_sql``, judge; then the reversal, judged
    against ``old_sql``. Returns the generated ops."""
    db.conn.execute(old_sql.encode())
    ops = _apply_and_judge(db.server, db.url, new_sql, folder, ("public",))
    assert ops, "nothing was generated"
    if reverse:
        apply_ops(db.url, reversal(ops), snapshots=False)
        assert_converges(db.server, db.url, old_sql)
    return ops


def from_empty(server: Server, new_sql: str, folder: Path) -> tuple[Operation, ...]:
    """Generate ``new_sql`` from an empty database, apply, judge."""
    return judged(server, folder, "", new_sql)


def assert_round_trips(server: Server, old_sql: str, new_sql: str, folder: Path, **options: Any) -> None:
    """OLD → NEW and empty → NEW both converge (judged by pg_dump), and a second generate has nothing to do."""
    for before in (old_sql, ""):
        judged(server, folder, before, new_sql, **options)
