"""``zanith apply --fleet``: plan every target, then apply to a canary set, then to the rest.

The order of a fleet deploy, and why:

1. **plan** every target (its own ledger, schema and live statistics), ``parallel`` at a time. One
   target whose plan is refused (a step above the budget, a gate) or that cannot be read stops the fleet
   here, before anything writes anywhere.
2. **canary**: the canary targets (named, or the first ``canary``), ``parallel`` at a time. One failure
   stops the fleet: no other target is touched.
3. **rest**: the other targets, ``parallel`` at a time, each started as a slot frees. On the first
   failure no new target starts (``keep_going``: the independent others still do); those running finish.

Each target is applied by :func:`~zanith_core.apply.runner.apply_migrations`, exactly as ``zanith
apply`` applies one database: its own advisory lock (a second fleet waits for it, up to ``wait``
seconds, then finds the work done), its audit rows, its resume point. So a rerun — after a failure, an
interruption or a ``SIGKILL`` of the fleet — resumes every target where its ledger says it stopped, and
finds the finished ones current. At most ``parallel`` targets hold a connection at any moment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

import pluggy

from ..apply.runner import apply_migrations
from ..config import Config
from ..errors import ZanithError
from ..hooks import plugin_manager
from ..migrations import Migration
from ..migrations.guard import coverage, require_ledger_covered
from ..parallel import each
from ..plan import read_target
from ..servers import connect
from .targets import Target
from .tenancy import target_config, target_migrations


@dataclass(frozen=True)
class FleetEvent:
    """One line of the fleet's progress (``--json``: one JSON object per line)."""

    event: str
    """``planned``, ``refused``, ``started``, ``step``, ``done``, ``failed``, ``halted``."""
    target: str = ""
    wave: str = ""
    """``plan``, ``canary`` or ``rest``."""
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "target": self.target,
            "wave": self.wave,
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True)
class TargetOutcome:
    target: str
    status: str
    """``applied`` (this run applied migrations), ``current`` (nothing was pending), ``failed``,
    ``refused`` (its plan crossed the budget or a gate), ``error`` (its plan could not be made),
    ``planned`` (its plan was fine; another's stopped the fleet before anything wrote), ``not_started``
    (the fleet stopped first)."""
    wave: str = ""
    applied: tuple[str, ...] = ()
    steps: int = 0
    seconds: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "status": self.status,
            "wave": self.wave,
            "applied": list(self.applied),
            "steps": self.steps,
            "seconds": round(self.seconds, 4),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class FleetResult:
    outcomes: tuple[TargetOutcome, ...]
    stopped_at: str | None = None
    """``plan``, ``canary`` or ``rest``: where a problem stopped the fleet (None: it ran to its end)."""
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        statuses = {o.status for o in self.outcomes}
        if "refused" in statuses:
            return 3
        if "error" in statuses and self.stopped_at == "plan":
            return 1
        return 5 if statuses & {"failed", "error", "not_started"} else 0

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for outcome in self.outcomes:
            found[outcome.status] = found.get(outcome.status, 0) + 1
        return found

    def summary(self) -> str:
        order = ("applied", "current", "failed", "refused", "error", "planned", "not_started")
        counts = self.counts()
        text = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in order if counts.get(s))
        where = f"; stopped at {self.stopped_at}" if self.stopped_at else ""
        return f"{len(self.outcomes)} targets: {text}{where} ({self.seconds:.1f}s)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == 0,
            "stopped_at": self.stopped_at,
            "summary": self.counts(),
            "seconds": round(self.seconds, 4),
            "targets": [o.to_dict() for o in self.outcomes],
        }


@dataclass(frozen=True)
class FleetOptions:
    parallel: int = 4
    canary: int | tuple[str, ...] = 1
    """How many targets go first, or their names."""
    keep_going: bool = False
    budget: int | None = None
    wait: float = 300.0
    contract: bool = False
    pm: pluggy.PluginManager | None = None
    """The project's plugins (default: loaded from the config, once for the fleet)."""


Report = Callable[[FleetEvent], None]


def apply_fleet(
    config: Config,
    targets: Sequence[Target],
    migrations: Sequence[Migration],
    options: FleetOptions,
    report: Report | None = None,
) -> FleetResult:
    """Plan, then apply to the canaries, then to the rest (see the module doc)."""
    emit = _serialised(report)
    began = time.monotonic()
    options = replace(options, pm=options.pm or plugin_manager(config))  # loaded once, not per target
    canaries = choose_canaries(targets, options.canary)
    planned = each(lambda t: _plan(config, t, migrations, options, emit), targets, options.parallel, "zanith-plan")
    if any(o.status in ("refused", "error") for o in planned):
        return FleetResult(tuple(planned), "plan", time.monotonic() - began)
    others = [t for t in targets if t not in canaries]
    done = _wave("canary", canaries, config, migrations, options, emit, stop_on_failure=True)
    if any(o.status == "failed" for o in done):
        emit(FleetEvent("halted", wave="canary", detail="a canary failed: no other target was touched"))
        rest = [TargetOutcome(t.name, "not_started", "rest") for t in others]
        return FleetResult((*done, *rest), "canary", time.monotonic() - began)
    rest = _wave("rest", others, config, migrations, options, emit, stop_on_failure=not options.keep_going)
    failed = any(o.status in ("failed", "not_started") for o in rest)
    return FleetResult((*done, *rest), "rest" if failed else None, time.monotonic() - began)


def choose_canaries(targets: Sequence[Target], canary: int | tuple[str, ...]) -> list[Target]:
    """The canary targets: those named (each must be a target), or the first ``canary`` of them."""
    if isinstance(canary, int):
        return list(targets[: max(canary, 0)])
    by_name = {t.name: t for t in targets}
    missing = [n for n in canary if n not in by_name]
    if missing:
        raise ZanithError(f"canary {missing[0]!r} is not one of the fleet's {len(targets)} targets")
    return [by_name[n] for n in dict.fromkeys(canary)]


def _plan(
    config: Config, target: Target, migrations: Sequence[Migration], options: FleetOptions, emit: Report
) -> TargetOutcome:
    cfg = target_config(config, target)
    moved = target_migrations(config, target, migrations)
    assert cfg.database_url is not None
    try:
        with connect(cfg.database_url, application_name="zanith fleet plan") as conn:
            require_ledger_covered(coverage(conn, cfg, moved), cfg)
            result = read_target(conn, moved, cfg).plan(moved, budget=options.budget, config=cfg, pm=options.pm)
    except ZanithError as exc:
        emit(FleetEvent("failed", target.name, "plan", str(exc)))
        return TargetOutcome(target.name, "error", "plan", detail=str(exc))
    if result.verdict == "refused":
        why = "; ".join(f"{g.name}: {g.detail}" for g in result.gates if g.refuses)
        emit(FleetEvent("refused", target.name, "plan", why))
        return TargetOutcome(target.name, "refused", "plan", detail=why)
    emit(FleetEvent("planned", target.name, "plan", f"{len(result.steps)} steps"))
    return TargetOutcome(target.name, "planned", "plan", steps=len(result.steps))


def _apply(
    config: Config, target: Target, migrations: Sequence[Migration], options: FleetOptions, wave: str, emit: Report
) -> TargetOutcome:
    cfg = target_config(config, target)
    moved = target_migrations(config, target, migrations)
    assert cfg.database_url is not None
    emit(FleetEvent("started", target.name, wave))
    began = time.monotonic()
    steps = 0

    def on_step(event: Any) -> None:
        nonlocal steps
        if event.status == "done":
            steps += 1
            emit(
                FleetEvent(
                    "step", target.name, wave, f"{event.migration_id} step {event.step_index}", event.seconds or 0.0
                )
            )

    try:
        result = apply_migrations(
            cfg.database_url,
            moved,
            config=cfg,
            budget=options.budget,
            wait=options.wait,
            contract=options.contract,
            on_step=on_step,
            pm=options.pm,
        )
    except ZanithError as exc:
        seconds = time.monotonic() - began
        emit(FleetEvent("failed", target.name, wave, str(exc), seconds))
        return TargetOutcome(target.name, "failed", wave, steps=steps, seconds=seconds, detail=str(exc))
    seconds = time.monotonic() - began
    if result.failure is not None:
        emit(FleetEvent("failed", target.name, wave, result.failure.message, seconds))
        return TargetOutcome(target.name, "failed", wave, result.applied, steps, seconds, result.failure.message)
    status = "applied" if result.applied or steps else "current"
    emit(FleetEvent("done", target.name, wave, f"{len(result.applied)} migrations", seconds))
    return TargetOutcome(target.name, status, wave, result.applied, steps, seconds)


def _wave(
    wave: str,
    targets: Sequence[Target],
    config: Config,
    migrations: Sequence[Migration],
    options: FleetOptions,
    emit: Report,
    *,
    stop_on_failure: bool,
) -> list[TargetOutcome]:
    """Apply ``targets``, ``parallel`` at a time, each started as a slot frees; after a failure (when
    ``stop_on_failure``) start no more, let the running finish, and mark the rest ``not_started``."""
    outcomes: dict[str, TargetOutcome] = {}
    queue = list(targets)
    with ThreadPoolExecutor(max_workers=max(options.parallel, 1), thread_name_prefix="zanith-fleet") as pool:
        running: set[Future[TargetOutcome]] = set()
        stop = False
        while queue or running:
            while queue and not stop and len(running) < max(options.parallel, 1):
                target = queue.pop(0)
                running.add(pool.submit(_apply, config, target, migrations, options, wave, emit))
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                outcome = future.result()
                outcomes[outcome.target] = outcome
                if outcome.status == "failed" and stop_on_failure and not stop:
                    stop = True
                    emit(FleetEvent("halted", outcome.target, wave, "a target failed: no new target starts"))
    return [outcomes.get(t.name) or TargetOutcome(t.name, "not_started", wave) for t in targets]


def _serialised(report: Report | None) -> Report:
    """Events from many threads, delivered one at a time."""
    lock = threading.Lock()

    def emit(event: FleetEvent) -> None:
        if report is not None:
            with lock:
                report(event)

    return emit
