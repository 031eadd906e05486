"""Generate, apply, judge: the round trip every shape of a real schema must survive.

:func:`converge` migrates a database holding ``old`` to the declared ``new`` with generate and the
production runner, then asks the independent judge (``tests/judge.py``: ``pg_dump --schema-only`` of the
migrated database against one loaded straight from ``new``), never zanith's own diff.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from judge import assert_converges
from support import apply_ops, declared_from_sql, live

from zanith_core.generate import generate_operations
from zanith_core.ops.base import Operation
from zanith_core.servers import Server, connect


def converge(
    server: Server,
    folder: Path,
    old: str,
    new: str,
    *,
    schemas: Sequence[str] = ("public",),
    hard_drop: bool = True,
) -> tuple[Operation, ...]:
    """Load ``old`` (may be empty) on a scratch database, generate to ``new``, apply, judge; the ops."""
    with server.scratch_database(prefix="zanith_converge") as url:
        if old.strip():
            with connect(url) as conn:
                conn.execute(old)  # type: ignore[arg-type]
        declared = declared_from_sql(server, new, folder, schemas)
        ops = generate_operations(live(url, schemas), declared, hard_drop=hard_drop)
        if ops:
            apply_ops(url, ops, schemas=tuple(schemas), snapshots=False)
        assert_converges(server, url, new)
        return ops
