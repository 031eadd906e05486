"""Plan: a verdict before anything writes.

The planner (:mod:`.planner`) is a pure function; this module gathers what it needs and is the stage's
public face:

- :func:`read_target` is the plan stage's one read of a database: the target's ledger (which migrations
  it applied, with their checksums), its schema, the live statistics of the tables the pending steps
  touch, and its server version, as one :class:`Target` value;
- :func:`plan_project` plans a project's migrations folder: against ``database_url`` when one is set,
  statically otherwise (pending = newer than ``config.baseline``; the schema before them folded from
  the earlier migrations' ``apply_to``, or replayed on a scratch database when one of them is raw SQL
  that declares no state operations);
- :func:`read_observed` reads what ``zanith verify --observe --json`` saw each step do, for a plan
  scored from observation (:mod:`.observed`).

The result is a frozen :class:`Plan` (:mod:`.model`): the CLI prints it, the pytest plugin checks it,
and ``zanith apply`` consumes it, re-planning under its lock only when the target no longer holds the
schema the plan was made for (:func:`check_fresh`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from .. import ledger
from ..config import Config
from ..errors import InvalidValue, MigrationFileError
from ..migrations import Migration, load_migrations
from ..migrations.replay import Point, replay
from ..read import introspect
from ..risk import locked_tables
from ..risk.stats import live_stats
from ..risk.subject import TableStats
from ..schema.graph import SchemaGraph
from ..schema.scope import scope
from ..servers import connect
from .gates import check_fresh, check_fresh_hash, require_ok
from .model import STATS_LIVE, STATS_STATIC, GateResult, Plan, PlanStep, schema_hash, step_gates
from .observed import Observations, read_observed
from .planner import plan

__all__ = [
    "STATS_LIVE",
    "STATS_STATIC",
    "GateResult",
    "Observations",
    "Plan",
    "PlanStep",
    "Target",
    "after_baseline",
    "check_budget",
    "check_fresh",
    "check_fresh_hash",
    "plan",
    "plan_project",
    "read_observed",
    "read_plan",
    "read_target",
    "require_ok",
    "schema_hash",
    "step_gates",
]


@dataclass(frozen=True)
class Target:
    """What a plan knows of the database it is for (see :func:`read_target`)."""

    applied: Mapping[str, str]
    """Migration id → checksum, from the target's ledger (empty without a ledger)."""
    graph: SchemaGraph
    """The target's schema, as the project sees it (its schemas, its ignore rules)."""
    stats: Mapping[str, TableStats]
    """Live statistics of the tables the pending steps touch."""
    version: int
    """``server_version_num``."""

    def plan(self, migrations: Sequence[Migration], *, budget: int | None, **options: Any) -> Plan:
        """``plan(migrations)`` against this target (options as :func:`zanith_core.plan.planner.plan`'s)."""
        return plan(
            migrations,
            budget=budget,
            applied=self.applied,
            graph=self.graph,
            stats=self.stats,
            version=self.version,
            **options,
        )


def read_target(conn: psycopg.Connection[Any], migrations: Sequence[Migration], config: Config) -> Target:
    """Everything a plan of ``migrations`` needs from the database behind ``conn``, in one value."""
    applied = {a.id: a.checksum for a in ledger.applied_migrations(conn, config.ledger_schema)}
    ops = [op for m in migrations if m.id not in applied for op in m.operations]
    touched = {t for op in ops for t in locked_tables(op)}
    return Target(
        applied=applied,
        graph=introspect(conn, config.schemas, **scope(config)),
        stats=live_stats(conn, touched),
        version=conn.info.server_version,
    )


def plan_project(
    config: Config,
    *,
    budget: int | None = None,
    shadow_verified: bool | None = None,
    observed: Observations | None = None,
) -> Plan:
    """Plan the project's migrations folder: against ``config.database_url`` when set (pending = not in
    its ledger, live statistics), else statically (pending = newer than ``config.baseline``); scored from
    ``observed`` where it observed a step."""
    migrations = load_migrations(config.migrations_dir)
    limit = budget if budget is not None else config.budget
    if config.database_url:
        with connect(config.database_url) as conn:
            target = read_target(conn, migrations, config)
        return target.plan(migrations, budget=limit, config=config, shadow_verified=shadow_verified, observed=observed)
    pending = after_baseline(migrations, config.baseline)
    before, known_after = _static_schema(migrations, pending, config)
    return plan(
        pending,
        budget=limit,
        graph=before,
        known_after=known_after,
        config=config,
        shadow_verified=shadow_verified,
        observed=observed,
    )


def _static_schema(
    migrations: Sequence[Migration], pending: Sequence[Migration], config: Config
) -> tuple[SchemaGraph, dict[Point, SchemaGraph]]:
    """The schema before ``pending`` and after each of their opaque steps.

    Folding ``apply_to`` needs no database; an opaque op (raw SQL without state operations) makes it
    unknowable, and then the migrations are replayed on a scratch database of the shadow server.
    """
    earlier = [m for m in migrations if m not in pending]
    if not any(op.opaque for m in migrations for op in m.operations):
        before = SchemaGraph(schemas=config.schemas)
        for migration in earlier:
            for op in migration.operations:
                before = op.apply_to(before)
        return before, {}
    opaque = {(m.id, i) for m in pending for i, op in enumerate(m.operations, start=1) if op.opaque}
    start = (pending[0].id, 0) if pending else None
    final, seen = replay(migrations, config, points={*opaque, *([start] if start else [])})
    return (seen.pop(start) if start else final), seen


def read_plan(path: Path) -> Plan:
    """The plan a ``zanith plan --json`` document at ``path`` holds."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MigrationFileError(f"cannot read the plan {path}: {exc}") from None
    return Plan.from_dict(data, origin=str(path))


def check_budget(migration_or_plan: Migration | Plan, budget: int) -> str | None:
    """None when every step scores at most ``budget``; otherwise the plan table saying which and why."""
    subject = migration_or_plan if isinstance(migration_or_plan, Plan) else plan([migration_or_plan], budget=budget)
    if all(s.score <= budget for s in subject.steps):
        return None
    return subject.with_budget(budget).render()


def after_baseline(migrations: Sequence[Migration], baseline: str | None) -> tuple[Migration, ...]:
    """Migrations newer than the one marked as baseline (all of them without a baseline).

    A baseline that names no migration is refused: compared as a string, a typo would silently mark
    every migration before it as done (or none)."""
    if baseline is not None and baseline not in {m.id for m in migrations}:
        raise InvalidValue(
            f"baseline {baseline!r} (in [tool.zanith] or ZANITH_BASELINE) names no migration in the migrations "
            "folder; set it to the id `zanith baseline` printed, or remove it"
        )
    return tuple(m for m in migrations if baseline is None or m.id > baseline)
