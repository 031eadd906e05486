"""Seeded shadows: rows in the shadow's tables before the pending migrations run (issue 18, part 2).

A shadow replayed on empty tables cannot find what fails on rows: a NOT NULL column without a default,
a unique index over duplicates, a CHECK that existing rows break, a cast that fails on one value. The
shadow verify therefore stops at the *seed point* — before the first pending migration — fills every
table of the project's schemas, and runs the pending migrations on those rows. Two kinds of rows:

- ``synthetic`` (:mod:`.values`, :mod:`.fill`): generated on the server from each column's type and the
  table's constraints and foreign keys, deterministic by ``seed``; ``rows`` per table, or with a
  ``source`` the table's live row estimate there, capped by ``rows``;
- ``sample`` (:mod:`.sample`): up to ``rows`` real rows per table copied from ``source``, keys kept
  consistent, the columns ``mask`` matches replaced by synthetic values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..redaction import mask_url
from ..risk.stats import live_stats
from ..servers import connect
from .catalog import fill_order, read_tables
from .fill import Filled, fill
from .sample import check_mask, sample_table

KINDS = ("synthetic", "sample")
DEFAULT_ROWS = 1000


@dataclass(frozen=True)
class SeedRequest:
    kind: str = "synthetic"
    rows: int = DEFAULT_ROWS
    """Rows per table at most."""
    source: str | None = None
    """``synthetic``: the database whose live row estimates scale each table (``--seed-from``); ``sample``:
    the database rows are copied from (``--sample-from``). Either way, its ledger sets the seed point."""
    seed: int = 0
    mask: tuple[str, ...] = ()
    before: str | None = None
    """The migration (id, or the start of one) the rows go in before; None: the source's first pending
    migration, or without a source the last one."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"seed kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "sample" and not self.source:
            raise ConfigError("a sample needs a database to copy rows from: --sample-from URL")
        if self.rows < 0:
            raise ConfigError(f"rows per table must be 0 or more, not {self.rows}")


@dataclass(frozen=True)
class SeedReport:
    """What the seed put in the shadow: the JSON ``seed`` of ``zanith verify --seed``."""

    kind: str
    seed: int
    before: str | None
    """The first migration that ran on the seeded rows (None: every migration was already applied)."""
    rows: tuple[tuple[str, int], ...]
    """Rows per table when the pending migrations started."""
    skipped: tuple[tuple[str, str], ...] = ()
    """Tables left with fewer rows than asked, and why."""
    seconds: float = 0.0
    source: str | None = None
    """The source database, password masked."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "before": self.before,
            "rows": dict(self.rows),
            "skipped": dict(self.skipped),
            "seconds": round(self.seconds, 4),
            "source": self.source,
        }

    def render(self) -> str:
        total = sum(n for _, n in self.rows)
        where = f" from {self.source}" if self.source else ""
        head = (
            f"seeded {total} {self.kind} rows in {len(self.rows)} tables{where} "
            f"before {self.before or 'no pending migration'} ({self.seconds:.3f}s)"
        )
        return "\n".join([head, *(f"  {table}: not filled: {why}" for table, why in self.skipped)])


def seed_shadow(url: str, schemas: Sequence[str], request: SeedRequest, *, before: str | None) -> SeedReport:
    """Fill the tables of ``schemas`` in the shadow at ``url`` as ``request`` asks (see the module doc)."""
    began = time.perf_counter()
    with connect(url) as shadow:
        tables = fill_order(read_tables(shadow, schemas))
        if request.kind == "sample" and request.mask:
            check_mask(request.mask, tables)
        results: list[Filled] = []
        if request.kind == "sample":
            assert request.source is not None
            with connect(request.source) as source:
                done: set[str] = set()
                for table in tables:
                    results.append(sample_table(shadow, source, table, request.rows, request.seed, request.mask, done))
                    done.add(table.qualified)
        else:
            counts = _scaled(request, [t.qualified for t in tables])
            results = [fill(shadow, t, counts.get(t.qualified, request.rows), request.seed) for t in tables]
        shadow.execute("ANALYZE")  # the steps then plan and run as on a live table
    return SeedReport(
        request.kind,
        request.seed,
        before,
        tuple((r.table, r.rows) for r in results),
        tuple((r.table, r.reason) for r in results if r.reason),
        time.perf_counter() - began,
        mask_url(request.source) if request.source else None,
    )


def _scaled(request: SeedRequest, tables: Sequence[str]) -> dict[str, int]:
    """Each table's live row estimate at the source, capped by ``request.rows`` (no source: the cap)."""
    if request.source is None:
        return {}
    with connect(request.source) as conn:
        stats = live_stats(conn, tables)
    return {t: min(s.rows, request.rows) for t, s in stats.items() if s.rows is not None}
