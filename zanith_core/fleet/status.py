"""``zanith status --fleet`` and ``zanith history --fleet``: where every target stands, in one view.

Each target is read as ``zanith status`` reads one database (:func:`zanith_core.apply.history.status`:
its ledger, the step a failed apply stopped at, and its live schema against the snapshot taken after its
last migration), ``parallel`` at a time. The matrix has a cell per target and migration:

- ``applied``; ``pending`` (the next apply runs it); ``waiting`` (held behind a contract phase);
- ``failed at step N`` (the step the next apply resumes at);
- and per target, ``drifted`` when its live schema differs from its last snapshot (a hand change).

A target's state, for the one-line summary: ``unreachable``, ``failed``, ``drifted``, ``pending`` (or
waiting), else ``current`` — the first that holds.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..apply import history as ledger_history
from ..config import Config
from ..errors import ZanithError
from ..migrations import Migration
from ..parallel import each
from .targets import Target
from .tenancy import target_config, target_migrations

STATES = ("current", "pending", "drifted", "failed", "unreachable")


@dataclass(frozen=True)
class TargetStatus:
    target: str
    cells: tuple[tuple[str, str], ...] = ()
    """Migration id → ``applied``, ``pending``, ``waiting`` or ``failed at step N``."""
    drifted: bool = False
    error: str = ""

    @property
    def state(self) -> str:
        if self.error:
            return "unreachable"
        values = {v for _, v in self.cells}
        if any(v.startswith("failed") for v in values):
            return "failed"
        if self.drifted:
            return "drifted"
        return "pending" if values & {"pending", "waiting"} else "current"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "state": self.state,
            "migrations": dict(self.cells),
            "drifted": self.drifted,
            "error": self.error or None,
        }


@dataclass(frozen=True)
class FleetStatus:
    migrations: tuple[str, ...]
    targets: tuple[TargetStatus, ...]

    def counts(self) -> dict[str, int]:
        return {s: n for s in STATES if (n := sum(t.state == s for t in self.targets))}

    def summary(self) -> str:
        """``118 current, 2 pending, 1 failed``."""
        return ", ".join(f"{n} {state}" for state, n in self.counts().items()) or "no targets"

    @property
    def ok(self) -> bool:
        return all(t.state == "current" for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "migrations": list(self.migrations),
            "targets": [t.to_dict() for t in self.targets],
            "summary": self.counts(),
            "line": self.summary(),
        }


def fleet_status(
    config: Config, targets: Sequence[Target], migrations: Sequence[Migration], parallel: int
) -> FleetStatus:
    def one(target: Target) -> TargetStatus:
        cfg = target_config(config, target)
        moved = target_migrations(config, target, migrations)
        assert cfg.database_url is not None
        try:
            state = ledger_history.status(cfg.database_url, moved, cfg)
        except ZanithError as exc:
            return TargetStatus(target.name, error=str(exc))
        failed = state.unfinished
        cells = []
        for m in moved:
            if failed is not None and failed.migration_id == m.id:
                cells.append((m.id, f"failed at step {failed.step_index}"))
            elif m.id in state.pending:
                cells.append((m.id, "pending"))
            elif m.id in state.waiting:
                cells.append((m.id, "waiting"))
            else:
                cells.append((m.id, "applied"))
        return TargetStatus(target.name, tuple(cells), state.drifted)

    return FleetStatus(tuple(m.id for m in migrations), tuple(each(one, targets, parallel, "zanith-status")))


@dataclass(frozen=True)
class MigrationAcross:
    """One migration's history over the fleet."""

    id: str
    targets: int
    """Targets that applied it."""
    seconds_median: float
    seconds_max: float
    slowest: str
    max_risk: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "targets": self.targets,
            "seconds_median": round(self.seconds_median, 4),
            "seconds_max": round(self.seconds_max, 4),
            "slowest": self.slowest,
            "max_risk_score": self.max_risk,
        }


def fleet_history(
    config: Config, targets: Sequence[Target], parallel: int
) -> tuple[tuple[MigrationAcross, ...], tuple[tuple[str, str], ...]]:
    """Per migration, over the targets that applied it: how many, the median and slowest time (and
    where), the highest risk score; and the targets that could not be read, with why."""

    def one(target: Target) -> tuple[str, Any]:
        cfg = target_config(config, target)
        assert cfg.database_url is not None
        try:
            return target.name, ledger_history.history(cfg.database_url, cfg)
        except ZanithError as exc:
            return target.name, str(exc)

    read = each(one, targets, parallel, "zanith-history")
    per: dict[str, list[tuple[str, float, int | None]]] = {}
    for name, found in read:
        if isinstance(found, str):
            continue
        for item in found:
            if item.applied_at is not None:
                per.setdefault(item.id, []).append((name, item.seconds, item.max_risk))
    rows = []
    for mid, seen in per.items():
        slowest = max(seen, key=lambda s: s[1])
        risks = [r for _, _, r in seen if r is not None]
        rows.append(
            MigrationAcross(
                mid,
                len(seen),
                statistics.median(s for _, s, _ in seen),
                slowest[1],
                slowest[0],
                max(risks, default=None),
            )
        )
    errors = tuple((name, found) for name, found in read if isinstance(found, str))
    return tuple(sorted(rows, key=lambda r: r.id)), errors
