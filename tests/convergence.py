"""Generate OLD → NEW on a real database, apply, and let the judge (``pg_dump``) say whether it converged.

The shape every real-schema test of generate follows: the old schema (with rows, where the change must
keep them) is loaded, the migration is generated against the declared SQL as ``zanith generate`` does
(hard drops, detected renames accepted, type changes checked for a cast on the server), applied with the
production runner, and judged by :func:`judge.assert_converges` — not by zanith's own diff. The reversal
is applied and judged against the old SQL the same way. :func:`from_empty` does the same from an empty
database.
"""

from __future__ import annotations

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
    server: Server, url: str, new_sql: str, folder: Path, *, hard_drop: bool = True, **options: Any
) -> tuple[Operation, ...]:
    """The ops ``zanith generate --hard-drop --yes`` (``hard_drop=False``: without ``--hard-drop``) writes
    to turn the database at ``url`` into ``new_sql``."""
    declared = declared_from_sql(server, new_sql, folder)
    with connect(server.url) as conn:
        return generate_operations(
            live(url),
            declared,
            hard_drop=hard_drop,
            accept_detected=True,
            castable=lambda old, new: castable(conn, old, new),
            **options,
        )


def converge(
    db: ZanithDatabase, old_sql: str, new_sql: str, folder: Path, *, reverse: bool = True
) -> tuple[Operation, ...]:
    """Load ``old_sql``, generate and apply to ``new_sql``, judge; then the reversal, judged against
    ``old_sql``. Returns the generated ops."""
    db.conn.execute(old_sql)  # type: ignore[arg-type]
    ops = generate_for(db.server, db.url, new_sql, folder)
    assert ops, "nothing was generated"
    apply_ops(db.url, ops, snapshots=False)
    assert_converges(db.server, db.url, new_sql)
    if reverse:
        apply_ops(db.url, reversal(ops), snapshots=False)
        assert_converges(db.server, db.url, old_sql)
    return ops


def from_empty(server: Server, new_sql: str, folder: Path) -> tuple[Operation, ...]:
    """Generate ``new_sql`` from an empty database, apply, judge."""
    with server.scratch_database(prefix="zanith_empty") as url:
        ops = generate_for(server, url, new_sql, folder)
        apply_ops(url, ops, snapshots=False)
        assert_converges(server, url, new_sql)
        return ops
