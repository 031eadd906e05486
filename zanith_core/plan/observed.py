"""The facts a ``zanith verify --observe --json`` document holds, for ``zanith plan --observed FILE``.

Verify replays the migrations on a shadow and records, per step, what PostgreSQL saw it do
(:class:`~zanith_core.risk.observed.Observation`) and, when it seeded the shadow, how many rows each
table held (``seed.rows``). This module reads that document into one frozen :class:`Observations` value
and matches it to the plan's steps (:meth:`Observations.scaled`): an observation belongs to the step of
the same migration and index, and only while that step is still the same op — a step whose kind or
target differs from the observed one was edited since verify ran, so its observation is stale and is
ignored, with a note saying so; so is a step verify did not observe. Steps whose observed time could not
be scaled (no seeded rows, no live row count) are named in one note per cause (:func:`floors`). Scoring
from a match is the risk model's (:func:`~zanith_core.risk.observed.observed_risk`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidValue
from ..ops import Operation
from ..risk import locked_tables
from ..risk.observed import Observation, Scaled, scale
from ..risk.subject import TableStats
from ..schema.codec import decode
from .model import PlanStep

HOW = "run `zanith verify --observe --json > verify.json` first, then `zanith plan --observed verify.json`"


@dataclass(frozen=True)
class ObservedStep:
    """One step as verify observed it: which op it was, and what it did (None: not observed). Verify's own
    steps (:class:`zanith_core.verify.observed.ObservedStep`) add the prediction beside it."""

    migration: str
    index: int
    kind: str
    target: str
    observed: Observation | None


@dataclass(frozen=True)
class Seed:
    """How verify seeded the shadow: ``synthetic`` or ``sample`` rows, from ``seed``; rows by table."""

    kind: str
    seed: int
    rows: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """What the observations say of one plan step: its scaled observation, or (None) a note saying why
    the step is scored from prediction."""

    scaled: Scaled | None
    note: str | None = None


@dataclass(frozen=True)
class Observations:
    """Every observed step of a verify document, and its seed (None: not seeded, 0 rows everywhere)."""

    steps: tuple[ObservedStep, ...]
    seed: Seed | None = None
    origin: str = "<verify>"
    """Where the document came from, for notes and errors."""

    def rows_seeded(self, table: str | None) -> int:
        """Rows ``table`` held on the shadow when the pending migrations ran (0 when not seeded)."""
        return int(self.seed.rows.get(table, 0)) if self.seed is not None and table else 0

    def scaled(self, migration_id: str, index: int, op: Operation, table: str | None, live: TableStats | None) -> Found:
        """The observation of step ``index`` of ``migration_id`` (``op``), its time scaled from the rows
        ``table`` (:func:`step_table`) held on the shadow to its ``live`` statistics — or why not."""
        label = f"{migration_id} step {index} ({op.kind} {op.target})"
        seen = next((s for s in self.steps if (s.migration, s.index) == (migration_id, index)), None)
        if seen is None:
            return Found(None, f"{label}: not observed in {self.origin}; scored from prediction")
        if (seen.kind, seen.target) != (op.kind, op.target):
            return Found(
                None,
                f"{label}: stale observation ignored — {self.origin} observed {seen.kind} {seen.target} there; "
                "scored from prediction (run zanith verify --observe again)",
            )
        if seen.observed is None:
            return Found(None, f"{label}: not observed (outside a transaction, unwatched); scored from prediction")
        return Found(scale(seen.observed, self.rows_seeded(table), live.rows if live is not None else None))

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<verify>") -> Observations:
        """The observations of a ``zanith verify --observe --json`` document; :class:`InvalidValue` naming
        what to do when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise InvalidValue(
                f"{origin} has no `steps`: it is not the output of `zanith verify --observe --json`; {HOW}"
            )
        try:
            steps = tuple(
                ObservedStep(
                    str(s["migration"]),
                    int(s["index"]),
                    str(s["kind"]),
                    str(s["target"]),
                    decode(Observation, s["observed"]) if s["observed"] is not None else None,
                )
                for s in data["steps"]
            )
            seeded = data.get("seed")
            seed = (
                Seed(str(seeded["kind"]), int(seeded["seed"]), {str(t): int(n) for t, n in seeded["rows"].items()})
                if seeded is not None
                else None
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidValue(
                f"{origin} is not a `zanith verify --observe --json` document ({type(exc).__name__}: {exc}); {HOW}"
            ) from None
        return cls(steps, seed, origin)


def read_observed(path: Path) -> Observations:
    """The observations in the verify document at ``path``."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidValue(f"cannot read the observations {path}: {exc.strerror or exc}; {HOW}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidValue(f"{path} is not JSON ({exc}); {HOW}") from None
    return Observations.from_dict(data, origin=str(path))


def floors(steps: Sequence[PlanStep], limit: int = 3) -> list[str]:
    """One note per reason the observed time of some steps could not be scaled, naming them: their
    observed seconds stand as floors."""
    unscaled: dict[str, list[str]] = {}
    for s in steps:
        if s.observed is not None and not s.observed.extrapolated:
            unscaled.setdefault(s.observed.unscaled_because(), []).append(s.label)
    notes = []
    for why, labels in unscaled.items():
        named = "; ".join(labels[:limit]) + (f"; and {len(labels) - limit} more" if len(labels) > limit else "")
        notes.append(f"{len(labels)} observed step(s) with {why}, their observed seconds used as floors: {named}")
    return notes


def step_table(op: Operation, stats: Mapping[str, TableStats] | None) -> str | None:
    """The table whose rows a step's time scales with: the op's own table (the first it names) — for
    hand-written SQL, of the tables its statements act on, the one with the most live rows."""
    if op.kind != "raw_sql":
        return op.tables[0] if op.tables else None
    tables = locked_tables(op)
    known = stats or {}
    return max(tables, key=lambda t: known[t].rows or 0 if t in known else -1, default=None)
