"""What the shadow saw a step do, and scoring the step from it instead of from prediction (issue 18, part 3).

``zanith verify --observe`` reads, inside each step's own transaction on the shadow, the locks the step
held, the tables it rewrote and its wall time (:class:`Observation`, read by
:mod:`zanith_core.apply.observe`). ``zanith plan --observed FILE`` takes those facts and scores each
observed step from them (:func:`observed_risk`), keeping the catalog's levels, reason codes and gates:

- **lock as observed**: of the modes the step held on existing tables, the strongest (the step ran alone
  in its transaction, so every lock in it is the step's). It decides the lock reason the catalog has for
  it: a mode that blocks reads (ACCESS EXCLUSIVE) or writes (SHARE and stronger) is
  ``lock_blocks_reads`` / ``lock_blocks_writes`` when the step works on the table's rows under it, else
  ``lock_brief``; a weaker mode, none;
- **rewrite as observed**: a rewritten table adds ``table_rewrite``; none observed removes it;
- **time**: the observed seconds scaled linearly from the rows the shadow held (seeded) to the target's
  live rows, ``seconds * live / seeded`` (:func:`scale`). With no seeded rows, or no live count, the
  observed seconds are only a floor. The estimate sizes the table like live statistics do
  (:func:`~zanith_core.risk.subject.sized`): under :data:`SMALL_SECONDS` small, from
  :data:`LARGE_SECONDS` large — never smaller than the statistics say, since a linear estimate is low for
  what grows faster (an index build is n log n) and leaves out the wait behind other transactions.

The score moves only where the observation differs from the prediction, and by the catalog's own bands
(:data:`~zanith_core.risk.catalog.LEVELS`): work under a traffic-blocking lock the prediction lacked
raises the step to at least the *high* band; a strong lock it lacked, to at least *low*; a predicted
blocking rewrite or scan that did not happen caps it at the top of *moderate* (unless it deletes data).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..ops.base import Lock
from ..schema.codec import encode
from .catalog import LEVELS
from .subject import BLOCKING_REASONS, SIZES, WORK_REASONS, Risk, TableStats, sized

SMALL_SECONDS = 1.0
"""Estimated work under a second: the table counts as small (clients see latency, not an outage)."""
LARGE_SECONDS = 60.0
"""Estimated work of a minute or more: the table counts as large (the *critical* level's "minutes")."""

_LOCK_REASONS = frozenset({"lock_brief", *BLOCKING_REASONS})
_DECIDED = _LOCK_REASONS | {"table_rewrite", "small_table", "large_table"}
"""Reasons the observation decides, dropped from the prediction's before it adds its own."""
_BAND = {level.name: level for level in LEVELS}


@dataclass(frozen=True)
class HeldLock:
    relation: str
    """The table, ``schema.name`` unquoted, as zanith names tables everywhere."""
    mode: str
    """As ``pg_locks`` names it (``AccessExclusiveLock``)."""
    partition_of: str | None = None
    """For a partition, the root of its partitioned table: DDL on a partitioned table takes the same lock
    on each of its partitions, so a partition's lock is judged against its root's prediction."""


@dataclass(frozen=True)
class Observation:
    """What PostgreSQL says one step did."""

    locks: tuple[HeldLock, ...]
    rewritten: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class Scaled:
    """An observation scaled to the target: the ``observed`` of a plan step scored from it."""

    lock: str | None
    """The strongest mode the step held, as the op catalog names it (``ACCESS EXCLUSIVE``); None: none."""
    rewritten: tuple[str, ...]
    seconds: float
    """Observed on the shadow."""
    estimated_seconds: float
    """``seconds * rows_live / rows_seeded``; ``seconds`` itself (a floor) when that cannot be computed."""
    rows_seeded: int
    """Rows the step's table held on the shadow (0: not seeded)."""
    rows_live: int | None
    """The table's estimated rows on the target (None: unknown — no target, never analysed, or new)."""

    @property
    def extrapolated(self) -> bool:
        """Whether :attr:`estimated_seconds` was scaled from rows, rather than the observed floor."""
        return self.rows_seeded > 0 and self.rows_live is not None

    def size(self, stats: TableStats | None) -> str | None:
        """The table's size for scoring: the larger of what live statistics and the estimated time say."""
        if self.extrapolated:
            by_time: str | None = (
                "small"
                if self.estimated_seconds < SMALL_SECONDS
                else "large"
                if self.estimated_seconds >= LARGE_SECONDS
                else "medium"
            )
        else:  # a floor can only prove a table large
            by_time = "large" if self.estimated_seconds >= LARGE_SECONDS else None
        known = [s for s in (stats.size if stats is not None else None, by_time) if s is not None]
        return max(known, key=SIZES.index) if known else None

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))

    def render(self) -> str:
        """``ACCESS EXCLUSIVE, rewrote public.users, 0.010s on 100 seeded rows → about 100s at 1,000,000 live rows``."""
        lock = self.lock or "no lock on an existing table"
        wrote = f"rewrote {', '.join(self.rewritten)}" if self.rewritten else "no rewrite"
        if self.extrapolated:
            scaled = (
                f"{_seconds(self.seconds)} on {self.rows_seeded:,} seeded rows → about "
                f"{_seconds(self.estimated_seconds)} at {self.rows_live:,} live rows"
            )
        else:
            scaled = f"{_seconds(self.seconds)} (a floor: {self.unscaled_because()})"
        return f"{lock}, {wrote}, {scaled}"

    def unscaled_because(self) -> str:
        """Why the time could not be scaled (meaningful when not :attr:`extrapolated`)."""
        if self.rows_seeded <= 0:
            return "no seeded rows to scale from"
        return "no live row count to scale to"


def _seconds(value: float) -> str:
    return f"{value:.3f}s" if value < 10 else f"{value:,.0f}s"


def strongest(locks: Iterable[HeldLock]) -> Lock | None:
    """The strongest mode among ``locks`` (None when there are none)."""
    modes = [Lock.of_pg_mode(held.mode) for held in locks]
    order = list(Lock)
    return max(modes, key=order.index) if modes else None


def scale(observation: Observation, rows_seeded: int, rows_live: int | None) -> Scaled:
    """``observation`` scaled linearly from ``rows_seeded`` on the shadow to ``rows_live`` on the target."""
    lock = strongest(observation.locks)
    seconds = observation.seconds
    estimated = seconds * rows_live / rows_seeded if rows_seeded > 0 and rows_live is not None else seconds
    return Scaled(lock.value if lock else None, observation.rewritten, seconds, estimated, rows_seeded, rows_live)


def observed_risk(base: Risk, seen: Scaled, stats: TableStats | None) -> Risk:
    """The risk of a step scored from what the shadow saw it do (see the module doc).

    ``base`` is the prediction without live statistics (rules, plan and plugins applied); ``stats`` the
    live statistics of the step's table, if any.
    """
    mode = Lock(seen.lock) if seen.lock else Lock.NONE
    kept = [r for r in base.reasons if r not in _DECIDED]
    works = bool(seen.rewritten) or bool(WORK_REASONS & set(kept))
    lock_reason = () if mode.blocks == "nothing" else (f"lock_blocks_{mode.blocks}",) if works else ("lock_brief",)
    reasons = (*lock_reason, *(("table_rewrite",) if seen.rewritten else ()), *kept)

    blocking_work = works and mode.blocks != "nothing"
    predicted_blocking_work = _blocking_work(base.reasons)
    score = base.score
    if blocking_work and not predicted_blocking_work:
        score = max(score, _BAND["high"].low)
    elif lock_reason and not _LOCK_REASONS & set(base.reasons):
        score = max(score, _BAND["low"].low)
    if predicted_blocking_work and not blocking_work and "data_loss" not in kept:
        score = min(score, _BAND["moderate"].high)
    return sized(Risk.of(score, reasons), seen.size(stats))


def _blocking_work(reasons: Iterable[str]) -> bool:
    found = set(reasons)
    return bool(BLOCKING_REASONS & found) and bool(WORK_REASONS & found)
