"""How an operation is executed: by default its statements; some kinds register their own executor.

Describing an op (its SQL, lock, reversal) is separate from executing it, as in Alembic's
``ops``/``toimpl`` split. The runner looks up ``executor_for(op)`` and calls it with the step's
connection: inside the step's transaction for a transactional op (so whatever the executor writes —
an artifact row, a checkpoint — commits or vanishes with the step), in autocommit mode otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from ..ops.base import Operation


@dataclass(frozen=True)
class StepContext:
    """What an executor may need beyond the op: where it is in the ledger and how to behave."""

    migration_id: str
    step_index: int
    ledger_schema: str = "public"
    retention_days: int = 7
    lock_timeout: float = 5.0
    batch_size: int | None = None
    batch_delay: float = 0.0
    progress: bool = False


Executor = Callable[[Operation, psycopg.Connection, StepContext], None]

_EXECUTORS: dict[str, Executor] = {}


def register_executor(kind: str) -> Callable[[Executor], Executor]:
    """Decorator: execute ops of ``kind`` with the decorated function instead of their statements."""

    def decorate(fn: Executor) -> Executor:
        _EXECUTORS[kind] = fn
        return fn

    return decorate


def run_statements(op: Operation, conn: psycopg.Connection, ctx: StepContext) -> None:
    """The default executor: run the op's statements in order on ``conn``."""
    for stmt in op.statements():
        conn.execute(stmt)


def executor_for(op: Operation) -> Executor:
    return _EXECUTORS.get(op.kind, run_statements)
