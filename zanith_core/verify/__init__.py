"""Shadow verify: replay every migration on a disposable database and prove it yields the declared schema.

Four timed stages, each reported whatever happens:

1. ``connect+reset`` — get a shadow database (see :mod:`zanith_core.verify.shadow`) and run the
   ``reset_shadow`` hook on it;
2. ``apply`` — run every migration through :func:`zanith_core.apply.runner.apply_migrations`, the code
   production apply runs, with destructive operations allowed (the copy is disposable) and contract
   phases included (the declared schema is the end state);
3. ``introspect`` — read the shadow back into a :class:`SchemaGraph`;
4. ``diff`` — normalise the declared schema *in the same shadow database* (reset again, run its DDL,
   introspect) and diff. Reusing the shadow means verify needs no privilege beyond that one database,
   and the declared schema is normalised by the very server the migrations ran on.

The outcome is a :class:`Verdict` value: ``ok``, ``drift``, ``apply_failed`` or ``unreachable``, with
what a person needs to act on it. The CLI and the pytest plugin both only render it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from psycopg.conninfo import conninfo_to_dict

from ..apply.results import ApplyResult, StepFailure
from ..apply.runner import apply_migrations
from ..config import Config
from ..diff import Difference, diff, parked, without_column_order
from ..errors import ConfigError, ConnectionFailed
from ..hooks import plugin_manager
from ..ledger import applied_migrations
from ..ledger.artifacts import list_artifacts
from ..migrations import Migration
from ..migrations.loader import load_migrations
from ..plan.planner import plan, risk_rules
from ..read import introspect
from ..redaction import mask_url
from ..schema.graph import SchemaGraph
from ..schema.queries import NotApplicable
from ..schema.scope import scope, scoped
from ..seed import SeedReport, SeedRequest, seed_shadow
from ..seed.breaking import breaking_row
from ..servers import Server, connect
from ..sources import load_declared
from .observed import Mismatch, ObservedStep, mismatches, observed_steps
from .shadow import Shadow, choose_topology, open_shadow, reset_shadow

STAGES = ("connect+reset", "apply", "introspect", "diff")
EXIT_CODES = {"ok": 0, "drift": 4, "apply_failed": 5, "unreachable": 1}
REPLAY_BATCH = 100
"""Steps the shadow replay runs per transaction and round trip (see ``batch`` of ``apply_migrations``):
enough that a 2000-step history is a few dozen round trips, few enough that one transaction's locks
stay well inside a default server's lock table."""


@dataclass(frozen=True)
class StageResult:
    name: str
    seconds: float
    ok: bool | None
    """False for the stage that failed (for ``diff``: found differences), None for a stage never run."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 4), "ok": self.ok}


@dataclass(frozen=True)
class Drift:
    """One difference between the migrated shadow and the declared schema, and who last touched it."""

    difference: Difference
    last_touched_by: str | None = None
    """``<migration id>: <op description>`` of the last operation aimed at the object, when one is."""

    def render(self) -> str:
        text = self.difference.render()
        return f"{text}  (last touched by {self.last_touched_by})" if self.last_touched_by else text

    def to_dict(self) -> dict[str, Any]:
        return {**self.difference.to_dict(), "last_touched_by": self.last_touched_by}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a shadow verify: a value the CLI prints and the pytest plugin asserts on."""

    verdict: str
    """``ok``, ``drift``, ``apply_failed`` or ``unreachable``."""
    stages: tuple[StageResult, ...]
    detail: str
    """What to act on, as text: the rendered drift, the failed step, or the connection error."""
    shadow: str = ""
    """Which shadow was used (topology and password-masked URL)."""
    drift: tuple[Drift, ...] = ()
    failure: StepFailure | None = None
    """For ``apply_failed``: the failed step, its SQL and error, and which of its migration's steps ran."""
    applied: tuple[str, ...] = ()
    """For ``apply_failed``: the migrations that were applied completely before the failure."""
    parked: tuple[Difference, ...] = ()
    """Soft-dropped columns and tables the migrations leave aside (not drift, never hidden)."""
    steps: tuple[ObservedStep, ...] = ()
    """With ``observe``: every step that ran, its predicted and its observed locks, rewrites and time."""
    mismatches: tuple[Mismatch, ...] = ()
    """With ``observe``: the steps that did more than predicted (:func:`~.observed.mismatches`)."""
    seed: SeedReport | None = None
    """With ``seed``: the rows the pending migrations ran on."""
    breaking_row: str | None = None
    """For ``apply_failed`` on a seeded shadow: the row (or key) that made the step fail, when found."""

    @property
    def risk(self) -> str | None:
        """``confirmed`` or ``mismatch`` when the steps were observed, else None."""
        if not self.steps:
            return None
        return "mismatch" if self.mismatches else "confirmed"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    def render(self) -> str:
        """Human text: the four stages with their timings, then the verdict and its detail."""
        lines = [f"shadow verify on {self.shadow}" if self.shadow else "shadow verify"]
        for stage in self.stages:
            if stage.ok is None:
                lines.append(f"  {stage.name:<14} {'':>8}  not run")
                continue
            status = "ok" if stage.ok else "differences" if stage.name == "diff" else "failed"
            lines.append(f"  {stage.name:<14} {stage.seconds:7.3f}s  {status}")
        lines.append(f"verdict: {self.verdict} ({self.seconds:.3f}s)")
        if self.detail:
            lines.append(self.detail)
        if self.breaking_row:
            lines.append(f"  the row that broke it: {self.breaking_row}")
        if self.seed is not None:
            lines.append(self.seed.render())
        if self.parked:
            lines.append("parked (soft-dropped by the migrations, data kept until purged):")
            lines += [f"  {d.render()}" for d in self.parked]
        if self.steps:
            lines.append("steps, predicted and observed on the shadow:")
            lines += [f"  {s.render()}" for s in self.steps]
            lines.append(f"risk: {self.risk}")
            lines += [f"  {m.render()}" for m in self.mismatches]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "verdict": self.verdict,
            "stages": [s.to_dict() for s in self.stages],
            "detail": self.detail,
            "shadow": self.shadow,
        }
        if self.drift:
            data["differences"] = [d.to_dict() for d in self.drift]
        if self.parked:
            data["parked"] = [d.to_dict() for d in self.parked]
        if self.failure is not None:
            data["failure"] = self.failure.to_dict()
            data["applied"] = list(self.applied)
            data["breaking_row"] = self.breaking_row
        if self.seed is not None:
            data["seed"] = self.seed.to_dict()
        if self.steps:
            data["steps"] = [s.to_dict() for s in self.steps]
            data["risk"] = self.risk
            data["mismatches"] = [m.to_dict() for m in self.mismatches]
        return data


def verify_on_shadow(
    config: Config,
    *,
    declared: Any = None,
    migrations: Sequence[Migration] | None = None,
    shadow_url: str | None = None,
    server: Server | None = None,
    observe: bool = False,
    seed: SeedRequest | None = None,
) -> Verdict:
    """Replay ``migrations`` (default: the project's) on a shadow and compare with ``declared``.

    ``declared`` is any schema source :func:`~zanith_core.sources.load_schema` accepts (default: the
    config's ``schema``). ``shadow_url`` overrides the configured topology with that database;
    ``server`` asks for a fresh database on that server instead (the pytest session server).
    Problems in the project itself (no declared schema, a broken migration file, SQL errors in the
    declared schema) raise their :class:`ZanithError`; everything about the shadow is in the verdict.
    ``observe`` replays step by step, reading each step's locks, rewrites and time
    (:mod:`zanith_core.apply.observe`), and puts them beside the plan's predictions in ``steps``.
    ``seed`` fills the shadow's tables before the pending migrations (:mod:`zanith_core.seed`; see
    :func:`seed_point`) and observes every step.
    """
    source = declared if declared is not None else config.schema
    if source is None:
        raise ConfigError("no declared schema to verify against: set schema in [tool.zanith] (or ZANITH_SCHEMA)")
    todo = tuple(migrations) if migrations is not None else load_migrations(config.migrations_dir)
    label = _label(config, shadow_url, server)
    clock = _Stages()
    with ExitStack() as stack:
        try:
            with clock.stage("connect+reset"):
                shadow = stack.enter_context(open_shadow(config, shadow_url=shadow_url, server=server))
        except ConnectionFailed as exc:
            return Verdict("unreachable", clock.results(), str(exc), shadow=label)
        label = f"{shadow.topology.kind}: {_where(shadow.url)}"
        try:
            with clock.stage("apply"):
                result, report = _replay(shadow.url, todo, config, observe or seed is not None, seed)
                clock.passed = result.failure is None
            steps, wrong = _observed(todo, result, config) if steps_observed(observe, seed) else ((), ())
            if result.failure is not None:
                row = _breaking_row(shadow.url, todo, result.failure) if report is not None else None
                return Verdict(
                    "apply_failed",
                    clock.results(),
                    _failure_text(result.failure, result.applied),
                    shadow=label,
                    failure=result.failure,
                    applied=result.applied,
                    steps=steps,
                    mismatches=wrong,
                    seed=report,
                    breaking_row=row,
                )
            with clock.stage("introspect"), connect(shadow.url) as conn:
                migrated = introspect(conn, config.schemas, **scope(config))
                aside = parked(migrated, _artifact_ids(conn, config) if migrated.parked else None)
            with clock.stage("diff"):
                wanted = _declared_graph(source, shadow, config)
                differences = diff(migrated, wanted)
                if config.ignore_column_order:
                    differences = without_column_order(differences)
                clock.passed = not differences
        except ConnectionFailed as exc:
            return Verdict("unreachable", clock.results(), str(exc), shadow=label)
    if not differences:
        return Verdict(
            "ok",
            clock.results(),
            _ok_text(todo, migrated),
            shadow=label,
            parked=aside,
            steps=steps,
            mismatches=wrong,
            seed=report,
        )
    touched = _touch_index(todo)
    drift = tuple(Drift(d, _last_touched(d, touched)) for d in differences)
    return Verdict(
        "drift",
        clock.results(),
        _drift_text(drift),
        shadow=label,
        drift=drift,
        parked=aside,
        steps=steps,
        mismatches=wrong,
        seed=report,
    )


def steps_observed(observe: bool, seed: SeedRequest | None) -> bool:
    """A seeded verify always observes: the rows are there to show what each step really costs."""
    return observe or seed is not None


def seed_point(todo: Sequence[Migration], config: Config, seed: SeedRequest) -> int:
    """How many of ``todo`` run before the seed: those before ``seed.before`` when it names one, else
    those the source's ledger has applied (the rest are pending there), or, without a source, all but
    the last migration (the one under review)."""
    if seed.before is not None:
        found = [n for n, m in enumerate(todo) if m.id == seed.before] or [
            n for n, m in enumerate(todo) if m.id.startswith(seed.before)
        ]
        if len(found) != 1:
            what = "no migration" if not found else f"{len(found)} migrations"
            raise ConfigError(
                f"--seed-before {seed.before}: {what} of {len(todo)} has that id (give one id, or more of it)"
            )
        return found[0]
    if seed.source is None:
        return max(len(todo) - 1, 0)
    with connect(seed.source) as conn:
        applied = {m.id for m in applied_migrations(conn, config.ledger_schema)}
    if not applied:
        raise ConfigError(
            f"{mask_url(seed.source)} has no migration applied by zanith (ledger schema {config.ledger_schema}): "
            "cannot tell which migrations are pending there; seed from a database zanith manages, or drop "
            "--seed-from to seed before the last migration"
        )
    return next((n for n, m in enumerate(todo) if m.id not in applied), len(todo))


def _replay(
    url: str, todo: Sequence[Migration], config: Config, observe: bool, seed: SeedRequest | None
) -> tuple[ApplyResult, SeedReport | None]:
    """Apply ``todo`` on the shadow; with ``seed``, in two runs with the rows put in between."""
    run = partial(
        apply_migrations,
        url,
        config=config,
        contract=True,
        allow_destructive=True,
        snapshots=False,
        batch=REPLAY_BATCH,
        observe=observe,
    )
    if seed is None:
        return run(todo), None
    point = seed_point(todo, config, seed)
    first = run(todo[:point])
    if first.failure is not None:
        return first, None
    report = seed_shadow(url, config.schemas, seed, before=todo[point].id if point < len(todo) else None)
    rest = run(todo)
    merged = replace(rest, applied=first.applied + rest.applied, events=first.events + rest.events)
    return merged, report


def _breaking_row(url: str, todo: Sequence[Migration], failure: StepFailure) -> str | None:
    op = next(m for m in todo if m.id == failure.migration_id).operations[failure.step_index - 1]
    return breaking_row(url, failure.sql, op.transactional, failure.error)


def _observed(
    todo: Sequence[Migration], result: ApplyResult, config: Config
) -> tuple[tuple[ObservedStep, ...], tuple[Mismatch, ...]]:
    """The observed steps beside the risk model's predictions, and where the two disagree."""
    pm = plugin_manager(config)
    try:  # from the empty schema the shadow starts with, so rules can read each step's table
        predictions = plan(todo, budget=None, graph=SchemaGraph(), config=config, pm=pm, in_context=False)
    except NotApplicable:  # migrations that do not replay statically (a baseline): each op on its own
        predictions = plan(todo, budget=None, config=config, pm=pm, in_context=False)
    steps = observed_steps(todo, result, predictions)
    return steps, mismatches(steps, todo, risk_rules(pm))


def _artifact_ids(conn: Any, config: Config) -> dict[str, int]:
    """Recovery artifacts by the physical name of what they keep aside."""
    return {a.physical_name: a.id for a in list_artifacts(conn, config.ledger_schema) if a.physical_name}


class _Stages:
    """Times the stages; a stage that raises, or sets ``passed = False``, is recorded as not ok."""

    def __init__(self) -> None:
        self._done: list[StageResult] = []
        self.passed = True

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        self.passed = True
        try:
            yield
        except BaseException:
            self._done.append(StageResult(name, time.perf_counter() - start, False))
            raise
        self._done.append(StageResult(name, time.perf_counter() - start, self.passed))

    def results(self) -> tuple[StageResult, ...]:
        ran = {s.name for s in self._done}
        return (*self._done, *(StageResult(n, 0.0, None) for n in STAGES if n not in ran))


def _label(config: Config, shadow_url: str | None, server: Server | None) -> str:
    """The shadow as named before it is reached, for an ``unreachable`` verdict."""
    if server is not None:
        return f"server ({server.masked_url})"
    try:
        return choose_topology(config, shadow_url).describe()
    except ConfigError:
        return ""


def _where(url: str) -> str:
    """``database zanith_shadow_1_ab at host:port`` — shorter than a conninfo, and never a password."""
    info = conninfo_to_dict(url)
    host = str(info.get("host") or "localhost")
    port = f":{info['port']}" if info.get("port") and not host.startswith("/") else ""
    return f"database {info.get('dbname') or '?'} at {host}{port}"


def _declared_graph(source: Any, shadow: Shadow, config: Config) -> SchemaGraph:
    """Normalise the declared schema in the shadow database itself, reset first (see module doc)."""
    if isinstance(source, SchemaGraph):
        return scoped(source, config.ignore, config.privileges)
    return load_declared(source, config, server=_InPlace(url=shadow.url, kind="shadow", config=config))


@dataclass(frozen=True)
class _InPlace(Server):
    """The shadow lending itself, reset, as the scratch database declared sources are normalised on."""

    config: Config = field(default_factory=Config)

    @contextmanager
    def scratch_database(self, prefix: str = "zanith_scratch", *, template: str | None = None) -> Iterator[str]:
        reset_shadow(self.url, self.config)
        yield self.url


def _failure_text(failure: StepFailure, applied: Sequence[str]) -> str:
    ran = ", ".join(str(i) for i in failure.done_steps) or "none"
    later = ", ".join(str(i) for i in range(failure.step_index + 1, failure.steps + 1)) or "none"
    return "\n".join(
        [
            f"migration {failure.migration_id} failed at step {failure.step_index} of {failure.steps} "
            f"({failure.kind} {failure.target}): {' '.join(failure.error.split())}",
            "  SQL:",
            *(f"    {line}" for line in failure.sql.splitlines()),
            f"  steps of {failure.migration_id} that ran: {ran}; not run: {later}",
            f"  migrations applied before it: {len(applied)}" + (f" (last: {applied[-1]})" if applied else ""),
        ]
    )


def _ok_text(migrations: Sequence[Migration], graph: SchemaGraph) -> str:
    return (
        f"{len(migrations)} migrations produce exactly the declared schema "
        f"({len(graph.tables)} tables in {', '.join(graph.schemas) or 'no schema'})"
    )


def _drift_text(drift: Sequence[Drift]) -> str:
    head = (
        f"{len(drift)} differences between the migrated shadow and the declared schema "
        "(+ declared but not created by the migrations, - created but not declared, a → b: migrated → declared):"
    )
    return "\n".join([head, *(f"  {d.render()}" for d in drift)])


def _touch_index(migrations: Sequence[Migration]) -> dict[str, str]:
    """Each op ``target`` → ``<migration id>: <op description>`` of the last op aimed at it."""
    touched: dict[str, str] = {}
    for migration in migrations:
        for op in migration.operations:
            touched[op.target] = f"{migration.id}: {op.describe()}"
    return touched


def _last_touched(difference: Difference, touched: dict[str, str]) -> str | None:
    """Who last touched the object (or, failing that, its table), when any migration did."""
    return next((touched[c] for c in _candidates(difference) if c in touched), None)


def _candidates(d: Difference) -> tuple[str, ...]:
    """Names an op's ``target`` may use for the object, most specific first."""
    return (d.path,) if d.table is None else (d.path, d.table)
