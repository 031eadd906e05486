"""``zanith resolve``: settle a migration the ledger is stuck on, the way a person decides.

A failed migration stays failed until someone says what happened; ``zanith apply`` resumes it at the
failed step, and ``zanith status`` shows it. When resuming is not the answer, one of three resolutions
settles it (as Prisma's ``migrate resolve``):

- **rolled back**: its ``done`` steps are undone by their reversals, newest first, each reversal in one
  transaction with its step row (``reversed``) and an event row, so an interrupted resolve picks up
  where it stopped; then the failed step is marked ``rolled_back``. With ``fixed_by_hand`` nothing runs:
  the person says the schema was put back by hand, and the done steps are recorded ``abandoned``. The
  next ``zanith apply`` runs the migration again from its first step.
- **applied**: the person finished it by hand; the steps that did not run are recorded ``resolved``
  and the migration is marked applied with its file's checksum and a snapshot of the schema as it is.
- **forgotten**: its file was deleted on purpose. Its unfinished step is recorded ``forgotten`` (a
  failed migration), or only the event is (an applied one), so neither ``status`` nor the "no silent
  no-op" check (:mod:`zanith_core.migrations.guard`) expects the file any more.

Everything runs under the apply lock, and every act writes a row of ``_zanith_ledger_events`` (who, when,
what it was before) in the same transaction as the change. No ledger row is ever deleted. A resolve
that cannot be done as asked is refused before anything changes (:class:`ResolveRefused`, exit 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pluggy
import psycopg

from .. import ledger
from ..apply.concurrent_index import clean_interrupted_index_builds
from ..apply.executors import StepContext, executors, run_statements
from ..apply.lock_wait import milliseconds
from ..apply.runner import CoreExecutors
from ..config import Config
from ..errors import Irreversible, StepFailed, ZanithError
from ..hooks import plugin_manager
from ..ledger import StepRecord
from ..ledger.events import FORGOTTEN, forgotten, record_event
from ..ledger.locks import apply_lock
from ..migrations import Migration
from ..ops.base import Operation
from ..read import introspect
from ..servers import connect

ROLLED_BACK = "rolled_back"
APPLIED = "applied"
RESOLUTIONS = (ROLLED_BACK, APPLIED, FORGOTTEN)
_UNFINISHED = ("failed", "running")


class ResolveRefused(ZanithError):
    """The migration cannot be settled as asked; nothing was changed."""

    exit_code = 3


@dataclass(frozen=True)
class SettledStep:
    """What one step row said before the resolve and says after it, and the reversal SQL that ran."""

    step_index: int
    before: str
    after: str
    sql: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"step_index": self.step_index, "before": self.before, "after": self.after, "sql": self.sql}


@dataclass(frozen=True)
class Resolution:
    """What ``zanith resolve`` did: the resolution, each step it settled and the event rows it wrote."""

    migration_id: str
    resolution: str
    fixed_by_hand: bool
    steps: tuple[SettledStep, ...]
    events: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "migration_id": self.migration_id,
            "resolution": self.resolution,
            "fixed_by_hand": self.fixed_by_hand,
            "steps": [s.to_dict() for s in self.steps],
            "events": list(self.events),
        }


@dataclass(frozen=True)
class _Found:
    """The migration as the ledger and the project know it."""

    migration_id: str
    applied: bool
    steps: tuple[StepRecord, ...]
    file: Migration | None
    forgotten: bool

    @property
    def unfinished(self) -> bool:
        return not self.applied and any(s.status in (*_UNFINISHED, "done") for s in self.steps)


def resolve(
    url: str,
    config: Config,
    migration_id: str,
    resolution: str,
    migrations: Sequence[Migration],
    *,
    fixed_by_hand: bool = False,
    wait: float = 0.0,
    pm: pluggy.PluginManager | None = None,
) -> Resolution:
    """Settle ``migration_id`` in the target's ledger as ``resolution``; see the module docstring."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {resolution!r}")
    if fixed_by_hand and resolution != ROLLED_BACK:
        raise ZanithError("--fixed-by-hand goes with --rolled-back: it says the schema was put back by hand")
    schema = config.ledger_schema
    with connect(url, application_name="zanith resolve") as conn, apply_lock(conn, schema, wait=wait):
        ledger.ensure_ledger(conn, schema)
        found = _find(conn, schema, migration_id, migrations)
        if resolution == FORGOTTEN:
            return _forget(conn, schema, found)
        _require_unfinished(found)
        if resolution == APPLIED:
            return _mark_applied(conn, config, found)
        if fixed_by_hand:
            return _abandon(conn, schema, found)
        manager = pm or plugin_manager(config)
        if manager.get_plugin(_CORE) is None:
            manager.register(CoreExecutors(), name=_CORE)
        return _Reversal(conn, config, found, manager).run()


_CORE = "zanith.executors"


def _find(conn: psycopg.Connection, schema: str, migration_id: str, migrations: Sequence[Migration]) -> _Found:
    applied = any(a.id == migration_id for a in ledger.applied_migrations(conn, schema))
    records = tuple(sorted(ledger.steps(conn, schema, migration_id), key=lambda r: r.step_index))
    if not applied and not records:
        raise ZanithError(f"migration {migration_id!r} is not in the target's ledger (see `zanith history`)")
    file = next((m for m in migrations if m.id == migration_id), None)
    return _Found(migration_id, applied, records, file, migration_id in forgotten(conn, schema))


def _require_unfinished(found: _Found) -> None:
    if found.applied:
        raise ResolveRefused(
            f"migration {found.migration_id} is applied; resolve settles a failed migration — to undo an "
            "applied one, write a new migration"
        )
    if not found.unfinished:
        said = ", ".join(f"step {s.step_index} {s.status}" for s in found.steps)
        raise ResolveRefused(f"migration {found.migration_id} is not failed ({said}); there is nothing to resolve")


def _settle(conn: psycopg.Connection, schema: str, found: _Found, changes: dict[int, str]) -> tuple[SettledStep, ...]:
    """Change step rows as ``changes`` says and write the event of the act; call inside a transaction."""
    settled = tuple(
        SettledStep(s.step_index, s.status, changes[s.step_index]) for s in found.steps if s.step_index in changes
    )
    for step in settled:
        ledger.set_step_status(conn, schema, found.migration_id, step.step_index, step.after)
    return settled


def _forget(conn: psycopg.Connection, schema: str, found: _Found) -> Resolution:
    if found.file is not None:
        raise ResolveRefused(
            f"migration {found.migration_id}'s file is still in the project ({found.file.path or 'defined in code'}); "
            "--forget is for a migration whose file was deleted: use --rolled-back or --applied, or delete the file"
        )
    if found.forgotten:
        raise ResolveRefused(f"migration {found.migration_id} is already forgotten (see `zanith history`)")
    with conn.transaction():
        changes = {s.step_index: FORGOTTEN for s in found.steps if s.status in _UNFINISHED}
        settled = _settle(conn, schema, found, changes)
        event = record_event(
            conn, schema, found.migration_id, FORGOTTEN, detail={"applied": found.applied, "steps": _dicts(settled)}
        )
    return Resolution(found.migration_id, FORGOTTEN, False, settled, (event,))


def _mark_applied(conn: psycopg.Connection, config: Config, found: _Found) -> Resolution:
    if found.file is None:
        raise ResolveRefused(
            f"migration {found.migration_id}'s file is gone: restore it (the ledger records its checksum), "
            f"or `zanith resolve {found.migration_id} --forget`"
        )
    schema = config.ledger_schema
    with conn.transaction():
        changes = {s.step_index: "resolved" for s in found.steps if s.status != "done"}
        settled = _settle(conn, schema, found, changes)
        ledger.mark_applied(conn, schema, found.migration_id, found.file.checksum, introspect(conn, config.schemas))
        event = record_event(conn, schema, found.migration_id, APPLIED, detail={"steps": _dicts(settled)})
    return Resolution(found.migration_id, APPLIED, False, settled, (event,))


def _abandon(conn: psycopg.Connection, schema: str, found: _Found) -> Resolution:
    changes = {
        s.step_index: "abandoned" if s.status == "done" else ROLLED_BACK
        for s in found.steps
        if s.status in (*_UNFINISHED, "done")
    }
    with conn.transaction():
        settled = _settle(conn, schema, found, changes)
        event = record_event(
            conn, schema, found.migration_id, ROLLED_BACK, detail={"fixed_by_hand": True, "steps": _dicts(settled)}
        )
    return Resolution(found.migration_id, ROLLED_BACK, True, settled, (event,))


def _dicts(settled: Sequence[SettledStep]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in settled]


class _Reversal:
    """Undo a failed migration's done steps by their reversals, newest first, then mark it rolled back."""

    def __init__(self, conn: psycopg.Connection, config: Config, found: _Found, pm: pluggy.PluginManager) -> None:
        self.conn = conn
        self.config = config
        self.schema = config.ledger_schema
        self.found = found
        self.executors = executors(pm)

    def run(self) -> Resolution:
        found = self.found
        if found.file is None:
            raise ResolveRefused(
                f"migration {found.migration_id}'s file is gone, so its reversals are unknown: restore the file, "
                f"say the schema was put back by hand (--rolled-back --fixed-by-hand), or --forget it"
            )
        done = [s for s in reversed(found.steps) if s.status == "done"]
        reversals = [(s, self._reversal(found.file, s)) for s in done]  # every check before any change
        settled: list[SettledStep] = []
        events: list[int] = []
        for record, op in reversals:
            step, event = self._reverse(record, op)
            settled.append(step)
            events.append(event)
        for record in found.steps:
            if record.status in _UNFINISHED and record.step_index <= len(found.file.operations):
                op = found.file.operations[record.step_index - 1]
                if not op.transactional:
                    clean_interrupted_index_builds(self.conn, op)
        with self.conn.transaction():
            changes = {s.step_index: ROLLED_BACK for s in found.steps if s.status in _UNFINISHED}
            rest = _settle(self.conn, self.schema, found, changes)
            settled.extend(rest)
            events.append(
                record_event(
                    self.conn,
                    self.schema,
                    found.migration_id,
                    ROLLED_BACK,
                    detail={"fixed_by_hand": False, "steps": _dicts(settled)},
                )
            )
        return Resolution(found.migration_id, ROLLED_BACK, False, tuple(settled), tuple(events))

    def _reversal(self, file: Migration, record: StepRecord) -> Operation:
        where = f"migration {file.id} step {record.step_index}"
        if record.step_index > len(file.operations) or file.operations[record.step_index - 1].sql() != record.sql:
            raise ResolveRefused(
                f"{where} ran SQL its file no longer has; restore the file as it was applied, or put the schema "
                "back by hand and use --rolled-back --fixed-by-hand"
            )
        op = file.operations[record.step_index - 1]
        try:
            return op.reverse()
        except Irreversible as exc:
            raise ResolveRefused(
                f"{where} ({op.kind} {op.target}) cannot be undone automatically: {exc}; put the schema back by "
                "hand and use --rolled-back --fixed-by-hand"
            ) from None

    def _reverse(self, record: StepRecord, op: Operation) -> tuple[SettledStep, int]:
        """Run one reversal with its step row and event: together in one transaction when it can be."""
        ctx = StepContext(
            migration_id=self.found.migration_id,
            step_index=record.step_index,
            ledger_schema=self.schema,
            retention_days=self.config.retention_days,
            lock_timeout=self.config.lock_timeout,
        )
        executor = self.executors.get(op.kind, run_statements)
        step = SettledStep(record.step_index, record.status, "reversed", op.sql())
        try:
            if op.transactional:
                with self.conn.transaction():
                    lock_timeout = str(milliseconds(self.config.lock_timeout))
                    self.conn.execute("SELECT set_config('lock_timeout', %s, true)", (lock_timeout,))
                    executor(op, self.conn, ctx)
                    return step, self._record(step)
            executor(op, self.conn, ctx)
        except (psycopg.Error, ZanithError) as exc:
            raise StepFailed(
                f"the reversal of migration {self.found.migration_id} step {record.step_index} ({op.kind} "
                f"{op.target}) failed: {str(exc).strip().splitlines()[0]}; the steps reversed so far are recorded — "
                "fix the cause and run `zanith resolve` again"
            ) from None
        with self.conn.transaction():
            return step, self._record(step)

    def _record(self, step: SettledStep) -> int:
        ledger.set_step_status(self.conn, self.schema, self.found.migration_id, step.step_index, step.after)
        return record_event(
            self.conn,
            self.schema,
            self.found.migration_id,
            "reversed",
            step_index=step.step_index,
            detail={"before": step.before, "sql": step.sql},
        )
