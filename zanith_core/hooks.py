"""zanith's extension points (pluggy): the project's only hook module.

A plugin is a module (or object) with functions decorated ``@zanith_core.hooks.hookimpl`` and named after
the specs below. zanith finds plugins two ways, both read by :func:`plugin_manager`:

* installed packages declaring an entry point in the ``zanith`` group
  (``[project.entry-points.zanith] myteam = "myteam.zanith_rules"``);
* module paths listed in ``[tool.zanith] plugins = ["myteam_rules"]`` (importable from the project
  folder).

What a plugin can do: add reason codes (:meth:`Specs.add_reason_codes`), adjust a step's score
(:meth:`Specs.adjust_risk`), score an op kind by rules of its own (:meth:`Specs.add_risk_rules`), add
gates (:meth:`Specs.add_gates`), run an op kind its own way (:meth:`Specs.add_executors`), and replace
how a shadow database is reset before verify (:meth:`Specs.reset_shadow`). Like Alembic's comparator
registry, the core's own defaults are registered through the same mechanism a plugin uses: the shadow
reset here, the risk model's rules by the plan stage (:class:`zanith_core.plan.planner.CoreRiskRules`),
the executors of ``backfill`` and of the ops that keep recovery artifacts by the apply stage
(:class:`zanith_core.apply.runner.CoreExecutors`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy
import psycopg
from psycopg import sql

from .config import Config
from .errors import ConfigError
from .ops.base import Operation
from .risk.catalog import GATES, REASONS, Gate, Reason
from .risk.subject import Risk, RiskContext, Rules

if TYPE_CHECKING:
    from .apply.executors import Executor
    from .plan import GateResult, Plan

PROJECT = "zanith"
ENTRY_POINT_GROUP = "zanith"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class RiskAdjustment:
    """What a plugin changes about one step: a score delta (may be negative) and extra reason codes.

    Deltas from several plugins add up (the result is clamped to 0-100), so plugins compose without
    depending on the order pluggy calls them in. Every reason code must be known: a core code or one a
    plugin adds through ``add_reason_codes``.
    """

    score: int = 0
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateCheck:
    """A plugin gate: its catalog entry and the function that judges a plan."""

    gate: Gate
    check: Callable[[Plan], GateResult]


class Specs:
    """The hook specifications. Implementations may accept any subset of the arguments."""

    @hookspec
    def add_reason_codes(self) -> Iterable[Reason]:  # type: ignore[empty-body]
        """Return reason codes to add to the catalog (shown by ``zanith explain``, usable in adjustments)."""

    @hookspec
    def adjust_risk(self, op: Operation, risk: Risk, context: RiskContext, migration_id: str) -> RiskAdjustment | None:
        """Return an adjustment for this step's risk (computed by the catalog rules), or None."""

    @hookspec
    def add_gates(self) -> Iterable[GateCheck]:  # type: ignore[empty-body]
        """Return extra gates; each judges the whole plan after the built-in gates."""

    @hookspec
    def add_risk_rules(self) -> Rules:  # type: ignore[empty-body]
        """Return rules by op kind: parameter rules over a step's facts (``Rules.subject``, used for raw SQL
        mapped to that kind too) or rules over the whole op (``Rules.op``). A kind may have one rule;
        adjust scores of kinds that have one with :meth:`adjust_risk` instead."""

    @hookspec
    def add_executors(self) -> Mapping[str, Executor]:  # type: ignore[empty-body]
        """Return executors by op kind: how ops of that kind run instead of by their statements alone.

        An executor is called with the op, the step's connection (in the step's transaction when the op
        is transactional) and a :class:`~zanith_core.apply.executors.StepContext`. A kind may have one.
        """

    @hookspec(firstresult=True)
    def reset_shadow(self, conn: psycopg.Connection[Any], config: Config) -> bool | None:
        """Empty the shadow database before verify replays the migrations; return True when done.

        The first implementation that returns a non-None value wins; the default (called last) drops
        ``public``, every schema in ``config.schemas``, the ledger and recovery schemas, and recreates only
        ``public`` (every new database has it): the project's migrations create their own schemas, and the
        ledger creates its own. Large schemas lose their tables in batches first, so no one transaction
        needs more locks than the server has.
        """


class Defaults:
    """zanith's own implementations, registered like any plugin."""

    @hookimpl(trylast=True)
    def reset_shadow(self, conn: psycopg.Connection[Any], config: Config) -> bool:
        for schema in dict.fromkeys(("public", *config.schemas, config.ledger_schema, config.recovery_schema)):
            _drop_tables_in_batches(conn, schema)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        # Only public comes back, as in a new database: a schema recreated here would make the
        # migration's own ``CREATE SCHEMA`` fail on the shadow.
        conn.execute(sql.SQL("CREATE SCHEMA public"))
        return True


RESET_BATCH = 100
"""Tables dropped per transaction when a shadow is reset (see :func:`_drop_tables_in_batches`)."""


def _drop_tables_in_batches(conn: psycopg.Connection[Any], schema: str) -> None:
    """Drop ``schema``'s tables ``RESET_BATCH`` at a time, each batch its own transaction.

    One ``DROP SCHEMA … CASCADE`` locks every object of the schema at once — each table, index,
    sequence, TOAST table and constraint — and a 500-table schema needs more lock slots than a default
    server has (``max_locks_per_transaction`` times connections): the reset failed with "out of shared
    memory". Batches keep each transaction's locks bounded; what is left (views, functions, types)
    goes with the schema. ``conn`` is in autocommit mode.
    """
    tables = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.oid",
        (schema,),
    ).fetchall()
    for first in range(0, len(tables), RESET_BATCH):
        names = sql.SQL(", ").join(sql.SQL(row[0]) for row in tables[first : first + RESET_BATCH])
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(names))


def plugin_manager(config: Config | None = None) -> pluggy.PluginManager:
    """A plugin manager with the specs, zanith's defaults, entry-point plugins and configured modules."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(Specs)
    pm.register(Defaults(), name="zanith.defaults")
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    if config is not None:
        for path in config.plugins:
            if pm.get_plugin(path) is None:
                pm.register(_import_plugin(path, config), name=path)
    return pm


def _import_plugin(path: str, config: Config) -> object:
    folder = str(config.project_dir)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        return importlib.import_module(path)
    except Exception as exc:
        raise ConfigError(f"plugin {path!r} (from [tool.zanith] plugins) failed to import: {exc}") from None


def reason_codes(pm: pluggy.PluginManager) -> dict[str, Reason]:
    """The core reason codes plus every plugin's, by code; a plugin may not redefine a core code."""
    codes = dict(REASONS)
    for reasons in pm.hook.add_reason_codes():
        for reason in reasons:
            if reason.code in REASONS:
                raise ConfigError(f"plugin reason code {reason.code!r} clashes with a built-in code")
            codes[reason.code] = reason
    return codes


def gate_checks(pm: pluggy.PluginManager) -> tuple[GateCheck, ...]:
    """Every plugin gate; a plugin gate may not reuse a built-in gate's name."""
    checks = tuple(check for checks in pm.hook.add_gates() for check in checks)
    for check in checks:
        if check.gate.name in GATES:
            raise ConfigError(f"plugin gate {check.gate.name!r} clashes with a built-in gate")
    return checks


def adjusted(
    pm: pluggy.PluginManager,
    op: Operation,
    risk: Risk,
    context: RiskContext,
    migration_id: str,
    known: Sequence[str] | dict[str, Reason],
) -> Risk:
    """``risk`` after every plugin's adjustment; an unknown reason code is a configuration error."""
    results = [a for a in pm.hook.adjust_risk(op=op, risk=risk, context=context, migration_id=migration_id) if a]
    if not results:
        return risk
    extra = [code for a in results for code in a.reasons]
    unknown = [code for code in extra if code not in known]
    if unknown:
        raise ConfigError(f"a plugin adjusted {op.kind} with unknown reason codes {unknown}; add them first")
    return Risk.of(risk.score + sum(a.score for a in results), (*risk.reasons, *extra))
