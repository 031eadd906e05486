"""What an apply reports: the events of its steps, the steps it set out to run, the failure, the result.

Frozen values the runner (:mod:`.runner`) returns and the CLI, the shadow verify and the tests render;
nothing here touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..schema.codec import encode
from .observe import Observation


@dataclass(frozen=True)
class StepEvent:
    """Something happened to a step; ``status`` is running, waiting, retrying, done, skipped or failed."""

    migration_id: str
    step_index: int
    steps: int
    kind: str
    target: str
    status: str
    seconds: float | None = None
    attempt: int = 1
    error: str | None = None
    detail: str | None = None
    """What a ``waiting`` step waits for: the sessions in its way."""
    observed: Observation | None = None
    """For a ``done`` step of an observed run (:mod:`.observe`): its locks, rewrites and time."""

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))


@dataclass(frozen=True)
class PlannedStep:
    """A step that will run (or, in a dry run, would run)."""

    migration_id: str
    step_index: int
    kind: str
    target: str
    sql: str
    transactional: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))


@dataclass(frozen=True)
class StepFailure:
    """The step that failed: what it ran, PostgreSQL's error, and which steps of its migration are done."""

    migration_id: str
    step_index: int
    steps: int
    kind: str
    target: str
    sql: str
    error: str
    done_steps: tuple[int, ...]

    @property
    def message(self) -> str:
        first = self.error.strip().splitlines()[0] if self.error.strip() else "unknown error"
        return (
            f"migration {self.migration_id} step {self.step_index}/{self.steps} ({self.kind} {self.target}) "
            f"failed: {first}; it is recorded in the ledger and the next `zanith apply` resumes at this step"
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did (or, with ``dry_run``, would do)."""

    applied: tuple[str, ...] = ()
    """Migrations this run marked applied."""
    already_applied: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    """Contract phases (and everything after them) held back until ``apply --contract``."""
    planned: tuple[PlannedStep, ...] = ()
    """The steps this run set out to run, in order (all of them in a dry run)."""
    events: tuple[StepEvent, ...] = ()
    """The final event of every step this run touched: done, skipped or failed."""
    failure: StepFailure | None = None
    dry_run: bool = False
    replanned: bool = False
    """The plan handed in was stale (the target changed since it was made) and was made again."""

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "replanned": self.replanned,
            "applied": list(self.applied),
            "already_applied": list(self.already_applied),
            "waiting": list(self.waiting),
            "planned": [p.to_dict() for p in self.planned],
            "steps": [e.to_dict() for e in self.events],
            "failure": self.failure.to_dict() if self.failure else None,
        }
