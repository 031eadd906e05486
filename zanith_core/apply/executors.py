"""How an operation is executed: by default its statements; some kinds have an executor of their own.

Describing an op (its SQL, lock, reversal) is separate from executing it, as in Alembic's
``ops``/``toimpl`` split. Executors are added by plugins (the ``add_executors`` hook of
:mod:`zanith_core.hooks`), zanith's own included; the runner looks an op's kind up in
:func:`executors` and calls what it finds (or :func:`run_statements`) with the step's connection:
inside the step's transaction for a transactional op (so whatever the executor writes — an artifact
row, a checkpoint — commits or vanishes with the step), in autocommit mode otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pluggy
import psycopg

from ..errors import ConfigError
from ..ops.base import Operation


@dataclass(frozen=True)
class StepContext:
    """What an executor may need beyond the op: where it is in the ledger and how to behave."""

    migration_id: str
    step_index: int
    ledger_schema: str = "zanith"
    recovery_schema: str = "zanith_recovery"
    retention_days: int = 7
    lock_timeout: float = 0.5
    batch_size: int | None = None
    batch_delay: float = 0.0
    progress: bool = False


Executor = Callable[[Operation, psycopg.Connection, StepContext], None]


def run_statements(op: Operation, conn: psycopg.Connection, ctx: StepContext) -> None:
    """The default executor: run the op's statements in order on ``conn``."""
    for stmt in op.statements():
        conn.execute(stmt)


def executors(pm: pluggy.PluginManager) -> dict[str, Executor]:
    """The executor of each op kind some plugin (zanith's own included) adds; two for one kind is an error."""
    table: dict[str, Executor] = {}
    for added in pm.hook.add_executors():
        for kind, executor in added.items():
            if kind in table and table[kind] is not executor:
                raise ConfigError(f"two plugins add an executor for op kind {kind!r}; keep one")
            table[kind] = executor
    return table
