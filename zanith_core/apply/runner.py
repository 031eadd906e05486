"""The runner: one audited apply for the shadow, the test suite and production.

``apply_migrations`` holds the apply lock (:mod:`zanith_core.ledger.locks`) for the whole run, bootstraps the
ledger (:mod:`zanith_core.ledger`), refuses an applied migration that was edited since, then walks the
pending migrations step by step:

- a transactional step runs in its own transaction together with its ``done`` row, under ``SET LOCAL``
  ``lock_timeout``/``statement_timeout``. Before each try of a step whose lock blocks traffic, it waits
  without queuing for long transactions holding a conflicting lock to end (:mod:`.lock_wait`); a lock
  timeout (SQLSTATE 55P03) rolls the try back and retries it with exponential backoff and jitter, at
  most ``config.lock_retries`` times, all within ``config.lock_wait_budget`` seconds;
- a non-transactional step (``CREATE INDEX CONCURRENTLY``, a batched backfill) runs in autocommit
  between a committed ``running`` row and its ``done`` row; a crash leaves the ``running`` row, and the
  next run drops the INVALID index the crash left before running the step again. A step run by its
  statements is watched from a second connection while it waits for other transactions, and given up
  after ``config.concurrent_timeout`` seconds of such waiting (:mod:`.concurrent_index`);
- a failing step is recorded ``failed`` with PostgreSQL's message (in a fresh transaction, after the
  step's own rolled back); later steps do not run and the migration is not marked applied, so the next
  run resumes at that step — ``done`` steps are never run twice;
- after the last step, the migration row and the ``after`` snapshot commit in one transaction.

Failures a person must fix before a retry makes sense (a lock held by someone else, an edited migration,
a refused plan) are raised; a failed step is *returned* in :class:`ApplyResult` with everything the CLI
and the shadow verify render, and the CLI exits 5.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy
import psycopg

from .. import ledger
from ..config import Config
from ..errors import ChecksumMismatch, ConnectionFailed, PlanRefused, ZanithError
from ..hooks import hookimpl, plugin_manager
from ..ledger import StepRecord, StepRow
from ..ledger.locks import apply_lock
from ..migrations import Migration
from ..ops.base import Operation
from ..plan import Plan, PlanStep, check_fresh, read_target, require_ok
from ..read import introspect
from ..servers import connect
from .backfill import execute_backfill
from .capture import CAPTURED, capture
from .concurrent_index import BuildWatch, clean_interrupted_index_builds, concurrent_index_builds
from .executors import Executor, StepContext, executors, run_statements
from .lock_wait import Blocker, LockWait, describe, milliseconds, step_locks
from .observe import Observation, Observer
from .results import ApplyResult, PlannedStep, StepEvent, StepFailure

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
CLEANUP_SECONDS = 30.0
"""How long dropping the INVALID index of a build given up on may wait for other transactions."""
CLIENT_CHECK_INTERVAL = "1s"
"""How soon the server notices that a killed ``zanith apply`` is gone and aborts its running step."""


@dataclass(frozen=True)
class _State:
    """The ledger as the run found it, and the plan it implies."""

    already_applied: tuple[str, ...]
    pending: tuple[Migration, ...]
    waiting: tuple[str, ...]
    recorded: dict[str, dict[int, StepRecord]] = field(default_factory=dict)

    def planned(self) -> tuple[PlannedStep, ...]:
        return tuple(
            PlannedStep(m.id, i, op.kind, op.target, op.sql(), op.transactional)
            for m in self.pending
            for i, op in enumerate(m.operations, 1)
            if not _is_done(self.recorded.get(m.id, {}).get(i))
        )


class PlanStale(PlanRefused):
    """The plan handed to apply was made for a schema (or migrations) the target no longer has."""


class CoreExecutors:
    """zanith's own executors, added through the same hook a plugin uses (``add_executors``)."""

    @hookimpl
    def add_executors(self) -> dict[str, Executor]:
        return {"backfill": execute_backfill, **dict.fromkeys(CAPTURED, capture)}


def apply_migrations(
    url: str,
    migrations: Sequence[Migration],
    *,
    config: Config,
    plan: Plan | None = None,
    replan: bool = True,
    budget: int | None = None,
    dry_run: bool = False,
    wait: float = 0,
    contract: bool = False,
    allow_destructive: bool = True,
    on_step: Callable[[StepEvent], None] | None = None,
    progress: bool = False,
    snapshots: bool = True,
    batch: int = 1,
    observe: bool = False,
    pm: pluggy.PluginManager | None = None,
) -> ApplyResult:
    """Apply the pending ``migrations`` to the database at ``url``; see the module docstring.

    The run consumes one plan: ``plan`` when given (``zanith apply --plan FILE``), else one made under
    the apply lock. A given plan is checked under the lock against the target's schema and pending steps
    (:func:`~zanith_core.plan.check_fresh`); a stale one is planned again when ``replan`` is true, and
    refused (:class:`PlanStale`, nothing written) otherwise. A given plan, ``budget`` and
    ``allow_destructive=False`` enforce the plan's gates first (:class:`PlanRefused`, nothing written).
    ``dry_run`` reads the ledger, if any, and returns the SQL it would run, writing nothing.
    ``progress`` lets long steps (backfills) draw a progress bar on a terminal. ``snapshots=False``
    skips the ``after`` snapshot of each migration: for a disposable shadow, where nobody reads them and
    the introspection per migration is most of the apply's time. ``batch`` > 1 (the shadow again) lets
    up to that many consecutive steps that run by their statements share one transaction with their
    ``done`` rows, sent in one round trip; a batch that fails is rolled back and its steps run one by one,
    so a failure is found and reported exactly as without batching. Production keeps one transaction
    per step: a step's audit row commits with the step, and each step takes its locks alone.
    ``observe`` reads what each step really did (:mod:`.observe`; a step outside a transaction from a
    second connection) into its ``done`` event; it turns batching off.
    """
    schema = config.ledger_schema
    manager = pm or plugin_manager(config)
    if manager.get_plugin(_CORE_EXECUTORS) is None:
        manager.register(CoreExecutors(), name=_CORE_EXECUTORS)
    gated = plan is not None or budget is not None or not allow_destructive
    options = _Planning(config, plan, replan, budget, allow_destructive, manager)
    with connect(url, application_name="zanith apply") as conn:
        if dry_run:
            state = _read_state(conn, schema, migrations, contract)
            if gated:
                require_ok(options.consumed(conn, state)[0])
            return ApplyResult(
                already_applied=state.already_applied, waiting=state.waiting, planned=state.planned(), dry_run=True
            )
        _abort_when_client_dies(conn)
        with apply_lock(conn, schema, wait=wait):
            state = _read_state(conn, schema, migrations, contract)
            scored, replanned = options.consumed(conn, state)
            if gated:
                require_ok(scored)
            ledger.ensure_ledger(conn, schema)
            observer = Observer(config.schemas) if observe else None
            run = _Run(url, conn, config, scored, executors(manager), on_step, progress, snapshots, batch, observer)
            return replace(run.run(state), replanned=replanned)


_CORE_EXECUTORS = "zanith.executors"


@dataclass(frozen=True)
class _Planning:
    """How this run gets the plan it consumes."""

    config: Config
    given: Plan | None
    replan: bool
    budget: int | None
    allow_destructive: bool
    pm: pluggy.PluginManager

    def consumed(self, conn: psycopg.Connection, state: _State) -> tuple[Plan, bool]:
        """The plan to run (and whether it was made again because the given one was stale), scored with
        the target's live statistics: the ledger records these scores."""
        target = read_target(conn, state.pending, self.config)
        if self.given is not None:
            fresh = check_fresh(self.given, target.graph, state.pending)
            if fresh.passed:
                return (self.given if self.budget is None else self.given.with_budget(self.budget)), False
            if not self.replan:
                raise PlanStale(
                    f"the plan is stale: {fresh.detail}; nothing was written — make a new plan "
                    "(`zanith plan --json`), or pass --replan to plan again under the apply lock"
                )
        budget = self.budget if self.budget is not None else (self.given.budget if self.given else None)
        scored = target.plan(
            state.pending, budget=budget, config=self.config, allow_destructive=self.allow_destructive, pm=self.pm
        )
        return scored, self.given is not None


def _read_state(conn: psycopg.Connection, schema: str, migrations: Sequence[Migration], contract: bool) -> _State:
    applied = {a.id: a for a in ledger.applied_migrations(conn, schema)}
    for m in migrations:
        if m.id in applied and applied[m.id].checksum != m.checksum:
            raise ChecksumMismatch(
                f"migration {m.id} ({m.path or 'defined in code'}) was edited after it was applied "
                f"(ledger checksum {applied[m.id].checksum[:12]}, file {m.checksum[:12]}); restore the "
                "file and put the change in a new migration"
            )
    pending = [m for m in migrations if m.id not in applied]
    runnable, waiting = (tuple(pending), ()) if contract else split_at_contract(pending)
    recorded = {m.id: {r.step_index: r for r in ledger.steps(conn, schema, m.id)} for m in runnable}
    for m in runnable:
        _refuse_edited_done_steps(m, recorded[m.id])
    return _State(
        already_applied=tuple(m.id for m in migrations if m.id in applied),
        pending=runnable,
        waiting=tuple(m.id for m in waiting),
        recorded=recorded,
    )


def split_at_contract(pending: Sequence[Migration]) -> tuple[tuple[Migration, ...], tuple[Migration, ...]]:
    """Pending migrations that may run now, and those held back from the first contract phase on.

    A contract phase removes what old readers still use, so a plain apply stops in front of it (and
    keeps the order: nothing after it runs either) until ``apply --contract`` says readers switched.
    """
    cut = next((i for i, m in enumerate(pending) if m.phase == "contract"), len(pending))
    return tuple(pending[:cut]), tuple(pending[cut:])


def _refuse_edited_done_steps(migration: Migration, recorded: dict[int, StepRecord]) -> None:
    """A step that already ran must not change: resuming would skip the edit silently."""
    for i, op in enumerate(migration.operations, 1):
        record = recorded.get(i)
        if _is_done(record) and record is not None and record.sql != op.sql():
            raise ChecksumMismatch(
                f"migration {migration.id} ({migration.path or 'defined in code'}) step {i} already ran "
                "and was edited since; restore that step and put the change in a later step or migration"
            )


def _is_done(record: StepRecord | None) -> bool:
    return record is not None and record.status == "done"


def _abort_when_client_dies(conn: psycopg.Connection) -> None:
    """Make the server abort our running step soon after this process dies (``kill -9`` included).

    Without it a killed apply leaves its backend sleeping in a long statement, holding the step's
    locks and the apply lock until the statement ends. PostgreSQL 14+ on Linux supports the check.
    """
    if conn.info.server_version < 140000:
        return
    # On a platform without the check, the backend ends when its statement does.
    with contextlib.suppress(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT set_config('client_connection_check_interval', %s, false)", (CLIENT_CHECK_INTERVAL,))


def _error_text(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


class _Run:
    """One pass over the pending migrations on a locked connection."""

    def __init__(
        self,
        url: str,
        conn: psycopg.Connection,
        config: Config,
        scored: Plan,
        executors: dict[str, Executor],
        on_step: Callable[[StepEvent], None] | None,
        progress: bool,
        snapshots: bool = True,
        batch: int = 1,
        observer: Observer | None = None,
    ) -> None:
        self.url = url
        self.observer = observer
        self.batch = 1 if observer is not None else batch
        self.conn = conn
        self.snapshots = snapshots
        self.config = config
        self.risks: dict[tuple[str, int], PlanStep] = {(s.migration_id, s.index): s for s in scored.steps}
        self.executors = executors
        self.schema = config.ledger_schema
        self.on_step = on_step
        self.progress = progress
        self.events: list[StepEvent] = []

    def run(self, state: _State) -> ApplyResult:
        applied: list[str] = []
        failure = None
        for migration in state.pending:
            failure = self._migration(migration, state.recorded.get(migration.id, {}))
            if failure is not None:
                break
            applied.append(migration.id)
        return ApplyResult(
            applied=tuple(applied),
            already_applied=state.already_applied,
            waiting=state.waiting,
            planned=state.planned(),
            events=tuple(e for e in self.events if e.status in ("done", "skipped", "failed")),
            failure=failure,
        )

    def executor(self, op: Operation) -> Executor:
        return self.executors.get(op.kind, run_statements)

    def _emit(self, event: StepEvent) -> None:
        self.events.append(event)
        if self.on_step is not None:
            self.on_step(event)

    def _migration(self, migration: Migration, recorded: dict[int, StepRecord]) -> StepFailure | None:
        steps = tuple(enumerate(migration.operations, 1))
        done: list[int] = []
        position = 0
        while position < len(steps):
            group = self._batchable(steps[position:], recorded)
            if len(group) > 1 and self._together(migration, group):
                done += [index for index, _ in group]
                position += len(group)
                continue
            for index, op in group or steps[position : position + 1]:
                failure = self._step(migration, index, op, recorded.get(index), done)
                if failure is not None:
                    return failure
                done.append(index)
            position += max(1, len(group))
        with self.conn.transaction():
            graph = introspect(self.conn, self.config.schemas) if self.snapshots else None
            ledger.mark_applied(self.conn, self.schema, migration.id, migration.checksum, graph)
        return None

    def _step(
        self, migration: Migration, index: int, op: Operation, record: StepRecord | None, done: list[int]
    ) -> StepFailure | None:
        """Run one step in its own transaction (or in autocommit) with its ledger rows; None when done."""
        total = len(migration.operations)
        base = StepEvent(migration.id, index, total, op.kind, op.target, "running")
        if _is_done(record):
            self._emit(replace(base, status="skipped"))
            return None
        row = self._row(migration, index, op)
        ctx = self._context(migration, index)
        self._emit(base)
        started = time.monotonic()
        observed = None
        if op.transactional:
            error, observed = self._transactional(op, row, ctx, base)
        else:
            error, observed = self._autocommit(op, row, ctx, base, record is not None)
        seconds = time.monotonic() - started
        if error is not None and self.conn.broken:
            raise ConnectionFailed(
                f"lost the connection during migration {migration.id} step {index}: {error.splitlines()[0]}; "
                "run `zanith apply` again to resume"
            )
        if error is not None:
            ledger.record_step_failed(self.conn, self.schema, row, error, seconds)
            self._emit(replace(base, status="failed", seconds=seconds, error=error))
            return StepFailure(migration.id, index, total, op.kind, base.target, row.sql, error, tuple(done))
        self._emit(replace(base, status="done", seconds=seconds, observed=observed))
        return None

    def _row(self, migration: Migration, index: int, op: Operation) -> StepRow:
        risk = self.risks[(migration.id, index)]
        return StepRow(migration.id, index, op.kind, op.sql(), risk.level, risk.score, risk.reasons)

    def _context(self, migration: Migration, index: int) -> StepContext:
        return StepContext(
            migration_id=migration.id,
            step_index=index,
            ledger_schema=self.schema,
            recovery_schema=self.config.recovery_schema,
            retention_days=self.config.retention_days,
            lock_timeout=self.config.lock_timeout,
            progress=self.progress,
        )

    def _batchable(
        self, steps: Sequence[tuple[int, Operation]], recorded: dict[int, StepRecord]
    ) -> tuple[tuple[int, Operation], ...]:
        """The leading steps that may share one transaction: at most ``batch`` of them, none started
        before, each transactional and run by its statements alone (no executor reads as it goes)."""
        group: list[tuple[int, Operation]] = []
        for index, op in steps[: self.batch]:
            if recorded.get(index) is not None or not op.transactional or self.executor(op) is not run_statements:
                break
            group.append((index, op))
        return tuple(group)

    def _together(self, migration: Migration, group: Sequence[tuple[int, Operation]]) -> bool:
        """Run ``group`` and its ``done`` rows in one pipelined transaction; False (all rolled back) on any
        error, so that the caller runs the same steps one by one and reports the failure as usual."""
        rows = [self._row(migration, index, op) for index, op in group]
        started = time.monotonic()
        try:
            with self.conn.pipeline(), self.conn.transaction():
                self.conn.execute(
                    "SELECT set_config('statement_timeout', %s, true)",
                    (str(milliseconds(self.config.statement_timeout, least=0)),),
                )
                for (index, op), row in zip(group, rows, strict=True):
                    run_statements(op, self.conn, self._context(migration, index))
                    ledger.record_step_done(self.conn, self.schema, row)
        except psycopg.Error:
            if self.conn.broken:
                raise ConnectionFailed(
                    f"lost the connection during migration {migration.id}; run `zanith apply` again to resume"
                ) from None
            return False
        share = (time.monotonic() - started) / len(group)
        total = len(migration.operations)
        for index, op in group:
            self._emit(StepEvent(migration.id, index, total, op.kind, op.target, "done", seconds=share))
        return True

    def _transactional(
        self, op: Operation, row: StepRow, ctx: StepContext, base: StepEvent
    ) -> tuple[str | None, Observation | None]:
        """Run the step and its ``done`` row in one transaction; retry lock timeouts. Returns the error, or
        None and, in an observed run, what the observer read of the step.

        Each try first waits, without queuing, for old holders of a conflicting lock to leave; then it
        queues for at most ``lock_timeout``. Tries stop after ``lock_retries`` retries or when the step
        has spent ``lock_wait_budget`` seconds, whichever comes first.
        """
        tries = max(1, self.config.lock_retries + 1)
        executor = self.executor(op)
        started = time.monotonic()
        deadline = started + self.config.lock_wait_budget
        blockers = LockWait(self.conn, step_locks(op, row.risk_reasons or ()), patience=self.config.lock_timeout)
        settings = (milliseconds(self.config.lock_timeout), milliseconds(self.config.statement_timeout, least=0))
        for attempt in range(1, tries + 1):

            def report(waiting_for: tuple[Blocker, ...], attempt: int = attempt) -> None:
                detail = f"waiting for {describe(waiting_for)} to end (it holds a conflicting lock)"
                self._emit(replace(base, status="waiting", attempt=attempt, detail=detail))

            left = blockers.wait(deadline, report)
            if left:
                return (
                    f"waited {self.config.lock_wait_budget:g}s (lock_wait_budget) "
                    f"for {describe(left)} to release a lock this step needs, without queuing behind it; "
                    "end that transaction or run `zanith apply` again later"
                ), None
            try:
                # An op run by its statements alone is pipelined: BEGIN, the timeouts, the statements, the
                # ledger row and COMMIT travel together. Custom executors may read results as they go.
                observer = self.observer
                with self._pipelined(executor is run_statements and observer is None), self.conn.transaction():
                    self.conn.execute(
                        "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                        tuple(str(ms) for ms in settings),
                    )
                    before = observer.before(self.conn) if observer is not None else None
                    began = time.monotonic()
                    executor(op, self.conn, ctx)
                    observed = None
                    if observer is not None and before is not None:
                        observed = observer.after(self.conn, before, time.monotonic() - began)
                    ledger.record_step_done(self.conn, self.schema, row)
                return None, observed
            except psycopg.errors.LockNotAvailable:
                remaining = deadline - time.monotonic()
                if attempt == tries or not remaining > 0:
                    break
                self._emit(replace(base, status="retrying", attempt=attempt + 1))
                time.sleep(min(_backoff(attempt), remaining))
            except (psycopg.Error, ZanithError) as exc:
                return _error_text(exc), None
        holders = blockers.holders()
        who = f"{describe(holders)} holds a conflicting lock" if holders else "a long transaction holds it"
        return (
            f"could not get its lock within {self.config.lock_timeout:g}s after {attempt} tries "
            f"in {time.monotonic() - started:.1f}s; {who} — see pg_stat_activity"
        ), None

    def _pipelined(self, wanted: bool) -> contextlib.AbstractContextManager[Any]:
        return self.conn.pipeline() if wanted else contextlib.nullcontext()

    def _autocommit(
        self, op: Operation, row: StepRow, ctx: StepContext, base: StepEvent, resumed: bool
    ) -> tuple[str | None, Observation | None]:
        """Run a step PostgreSQL refuses inside a transaction between a ``running`` and a ``done`` row.
        Returns the error, or None and, in an observed run, what a second connection saw the step do."""
        if resumed:
            cleanup = self._watch(run_statements, base, self.config.concurrent_timeout)
            try:
                with cleanup or contextlib.nullcontext():
                    finished = clean_interrupted_index_builds(self.conn, op)
            except psycopg.Error as exc:
                if cleanup is None or not cleanup.gave_up:
                    return _error_text(exc), None
                return (
                    f"{self._waited(cleanup)} to drop the INVALID index an earlier run left; end that transaction "
                    "and run `zanith apply` again"
                ), None
            if finished:
                # The index build finished before the crash; only its final row is missing.
                ledger.finish_step(self.conn, self.schema, row.migration_id, row.step_index)
                return None, None
        ledger.record_step_running(self.conn, self.schema, row)
        executor = self.executor(op)
        watch = self._watch(executor, base, self.config.concurrent_timeout)
        seen = self.observer.outside(self.url, self.conn) if self.observer is not None else None
        try:
            self.conn.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                (str(milliseconds(self.config.statement_timeout, least=0)),),
            )
            with watch or contextlib.nullcontext(), seen or contextlib.nullcontext():
                executor(op, self.conn, ctx)
        except (psycopg.Error, ZanithError) as exc:
            if watch is not None and watch.gave_up and not self.conn.broken:
                return self._gave_up(op, watch, base), None
            return _error_text(exc), None
        finally:
            if not self.conn.closed:
                self.conn.execute("RESET statement_timeout")
        ledger.finish_step(self.conn, self.schema, row.migration_id, row.step_index)
        return None, seen.observation if seen is not None else None

    def _watch(self, executor: Executor, base: StepEvent, limit: float) -> BuildWatch | None:
        """A watch on a step run by its statements (a custom executor, like a backfill, bounds its own waits)."""
        if executor is not run_statements:
            return None

        def report(waiting_for: tuple[Blocker, ...]) -> None:
            detail = f"waiting for {describe(waiting_for)} to end (the step waits for older transactions)"
            self._emit(replace(base, status="waiting", detail=detail))

        return BuildWatch(self.url, self.conn.info.backend_pid, limit, report)

    def _gave_up(self, op: Operation, watch: BuildWatch, base: StepEvent) -> str:
        """The error of a step its watch cancelled, once the INVALID indexes its builds left are dropped.

        The drop (``DROP INDEX CONCURRENTLY``) waits for every transaction holding a lock on the table, so
        it is watched too, for at most :data:`CLEANUP_SECONDS`; an index still there is dropped by the
        next run before it builds again.
        """
        waited = f"{self._waited(watch)} to end"
        builds = concurrent_index_builds(op)[0]
        if not builds:
            return f"{waited}; end that transaction and run `zanith apply` again"
        cleanup = self._watch(run_statements, base, min(self.config.concurrent_timeout, CLEANUP_SECONDS))
        try:
            with cleanup or contextlib.nullcontext():
                clean_interrupted_index_builds(self.conn, op)
        except psycopg.Error:
            names = ", ".join(b.name for b in builds)
            return (
                f"{waited}; the INVALID index it left ({names}) cannot be dropped before that transaction ends — "
                "end it and run `zanith apply` again: it drops the index first, then builds it"
            )
        return f"{waited}; the INVALID index it left was dropped — end that transaction and run `zanith apply` again"

    def _waited(self, watch: BuildWatch) -> str:
        return (
            f"gave up after waiting {self.config.concurrent_timeout:g}s (concurrent_timeout) "
            f"for {describe(watch.seen) or 'older transactions'}"
        )


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter, so retrying deploys do not line up behind the same lock."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)
