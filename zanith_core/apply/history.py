"""History as data: what ``zanith status``, ``history`` and ``show`` report, read from the ledger.

Every function here only reads: it opens its own connection, never takes the apply lock and never
creates the ledger, so it is safe to run against production while a deploy is in progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import ledger
from ..config import Config
from ..errors import ZanithError
from ..ledger import AppliedMigration, RiskProfileRow, StepRecord
from ..ledger.locks import lock_holder
from ..migrations import Migration
from ..migrations.guard import NO_COVERAGE, Coverage, coverage
from ..schema.graph import SchemaGraph
from ..servers import connect
from ..sources.drift import LiveDrift, live_drift
from .runner import split_at_contract


@dataclass(frozen=True)
class Status:
    applied: tuple[AppliedMigration, ...]
    pending: tuple[str, ...]
    """Not applied yet, and the next ``zanith apply`` would run them."""
    waiting: tuple[str, ...]
    """Held back behind a contract phase: ``zanith apply --contract`` closes the window."""
    edited: tuple[str, ...]
    """Applied migrations whose file changed since (``zanith apply`` refuses to run)."""
    unfinished: StepRecord | None
    """The failed (or interrupted, or running) step the next apply resumes at."""
    lock_holder: tuple[int, str] | None
    """``(pid, since)`` of the apply running right now, if one is."""
    drift: LiveDrift | None = None
    """The live schema against the snapshot after the last applied migration: a change made by hand
    (``zanith adopt`` writes it down). None when there is no snapshot to compare with."""

    coverage: Coverage = NO_COVERAGE
    """Applied migrations against the project's: ``unknown`` lists those the project has no file of."""
    unfinished_file_missing: bool = False
    """The unfinished migration's file is gone from the project: only ``zanith resolve`` settles it."""

    @property
    def drifted(self) -> bool:
        return self.drift is not None and bool(self.drift.differences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": [
                {"id": a.id, "applied_at": a.applied_at.isoformat(), "how": a.how, "applied_by": a.applied_by}
                for a in self.applied
            ],
            "pending": list(self.pending),
            "waiting": list(self.waiting),
            "edited": list(self.edited),
            "failed_step": self.unfinished.to_dict() if self.unfinished else None,
            "apply_running": {"pid": self.lock_holder[0], "since": self.lock_holder[1]} if self.lock_holder else None,
            "drift": self.drift.to_dict() if self.drifted and self.drift is not None else None,
            "unknown": list(self.coverage.unknown),
            "ledger_ahead": self.coverage.ahead,
            "out_of_order": list(self.coverage.out_of_order),
            "failed_file_missing": self.unfinished_file_missing,
        }


@dataclass(frozen=True)
class MigrationHistory:
    """One migration as the ledger knows it; ``applied_at`` is None while it is unfinished."""

    id: str
    checksum: str | None
    applied_at: datetime | None
    steps: tuple[StepRecord, ...]
    how: str | None = None
    """``applied``, ``baselined`` or ``adopted`` (recorded without running); None while unfinished."""
    applied_by: str | None = None
    """The role that recorded it (None before ledger v3, or while unfinished)."""

    @property
    def seconds(self) -> float:
        return sum(s.seconds or 0.0 for s in self.steps)

    @property
    def max_risk(self) -> int | None:
        scores = [s.risk_score for s in self.steps if s.risk_score is not None]
        return max(scores) if scores else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "checksum": self.checksum,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "how": self.how,
            "applied_by": self.applied_by,
            "seconds": round(self.seconds, 6),
            "max_risk_score": self.max_risk,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class MigrationDetail:
    """``zanith show``: a migration's history and a summary of the schema right after it."""

    history: MigrationHistory
    snapshot: SchemaGraph | None

    def snapshot_summary(self) -> dict[str, Any] | None:
        graph = self.snapshot
        if graph is None:
            return None
        return {
            "schemas": list(graph.schemas),
            "tables": [t.qualified_name for t in graph.tables],
            "columns": sum(len(t.columns) for t in graph.tables),
            "indexes": sum(len(t.indexes) for t in graph.tables),
            "enums": [e.qualified_name for e in graph.enums],
            "views": [v.qualified_name for v in graph.views],
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.history.to_dict(), "snapshot": self.snapshot_summary()}


def status(url: str, migrations: Sequence[Migration], config: Config) -> Status:
    schema = config.ledger_schema
    with connect(url) as conn:
        applied = ledger.applied_migrations(conn, schema)
        unfinished = ledger.failed_step(conn, schema)
        holder = lock_holder(conn, schema)
        drift = live_drift(conn, config) if holder is None and unfinished is None else None
        covered = coverage(conn, config, migrations)
    checksums = {a.id: a.checksum for a in applied}
    runnable, waiting = split_at_contract([m for m in migrations if m.id not in checksums])
    return Status(
        applied=applied,
        pending=tuple(m.id for m in runnable),
        waiting=tuple(m.id for m in waiting),
        edited=tuple(m.id for m in migrations if m.id in checksums and checksums[m.id] != m.checksum),
        unfinished=unfinished,
        lock_holder=holder,
        drift=drift,
        coverage=covered,
        unfinished_file_missing=unfinished is not None and unfinished.migration_id not in {m.id for m in migrations},
    )


def history(url: str, config: Config) -> tuple[MigrationHistory, ...]:
    """Every migration with steps in the ledger, in the order they started."""
    schema = config.ledger_schema
    with connect(url) as conn:
        applied = {a.id: a for a in ledger.applied_migrations(conn, schema)}
        rows = ledger.steps(conn, schema)
    grouped: dict[str, list[StepRecord]] = {}
    for row in rows:
        grouped.setdefault(row.migration_id, []).append(row)
    for mid in applied:
        grouped.setdefault(mid, [])  # an applied migration with no operations still belongs here
    return tuple(
        _history(mid, applied.get(mid), tuple(sorted(records, key=lambda r: r.step_index)))
        for mid, records in sorted(grouped.items(), key=lambda kv: _started(kv[1], applied.get(kv[0])))
    )


def show(url: str, config: Config, migration_id: str) -> MigrationDetail:
    schema = config.ledger_schema
    with connect(url) as conn:
        applied = {a.id: a for a in ledger.applied_migrations(conn, schema)}
        records = ledger.steps(conn, schema, migration_id)
        graph = ledger.snapshot(conn, schema, migration_id)
    if migration_id not in applied and not records:
        raise ZanithError(f"migration {migration_id!r} is not in the ledger (see `zanith history`)")
    ordered = tuple(sorted(records, key=lambda r: r.step_index))
    return MigrationDetail(_history(migration_id, applied.get(migration_id), ordered), graph)


def risk_profile(url: str, config: Config) -> tuple[RiskProfileRow, ...]:
    with connect(url) as conn:
        return ledger.risk_profile(conn, config.ledger_schema)


def _history(mid: str, applied: AppliedMigration | None, steps: tuple[StepRecord, ...]) -> MigrationHistory:
    if applied is None:
        return MigrationHistory(mid, None, None, steps)
    return MigrationHistory(mid, applied.checksum, applied.applied_at, steps, applied.how, applied.applied_by)


def _started(steps: Sequence[StepRecord], applied: AppliedMigration | None) -> datetime:
    times = [s.started_at for s in steps] + ([applied.applied_at] if applied else [])
    return min(times)
