"""What a step really did, read from PostgreSQL inside the step's own transaction (issue 18, part 1).

The risk model predicts each step's lock and whether it rewrites its table; nothing checked those
predictions against the server. With ``observe`` on (the shadow verify's ``--observe``), the runner
brackets each transactional step with :meth:`Observer.before` and :meth:`Observer.after`, still inside
the step's transaction, before its commit:

- **locks**: the relation locks the step's own backend holds (``pg_locks`` for ``pg_backend_pid()``;
  locks are kept until the transaction ends, so all of the step's are there), on the tables, partitioned
  tables and materialized views of the project's schemas that existed before the step — a table the step
  created is invisible to every other session, so its lock blocks nobody;
- **rewritten**: those tables whose ``relfilenode`` changed during the step (PostgreSQL wrote the table
  anew: a type change, a volatile default, ``VACUUM FULL``, ``CLUSTER``);
- **seconds**: the step's wall time, the two reads excluded.

An observed step runs in a transaction of its own (no batching: locks pile up in a transaction, so steps
sharing one could not be told apart). A step outside a transaction (``CREATE INDEX CONCURRENTLY``) is not
observed yet: its event carries no observation. The values it returns
(:class:`~zanith_core.risk.observed.Observation`) live with the risk model, which can score a plan from
them (``zanith plan --observed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ..ops.base import Lock
from ..risk.observed import HeldLock, Observation

__all__ = ["MODES", "HeldLock", "Observation", "Observer"]

_TABLES = """
SELECT c.oid, n.nspname || '.' || c.relname, c.relfilenode,
       CASE WHEN c.relispartition THEN (
         SELECT rn.nspname || '.' || r.relname FROM pg_class r JOIN pg_namespace rn ON rn.oid = r.relnamespace
         WHERE r.oid = pg_partition_root(c.oid)) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'm')
"""

_OWN_LOCKS = """
SELECT l.relation, l.mode FROM pg_locks l
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""

MODES = tuple(lock.pg_mode for lock in Lock if lock is not Lock.NONE)
"""``pg_locks.mode`` names, weakest first: the op catalog's :class:`~zanith_core.ops.base.Lock` modes as
pg_locks spells them."""

_Tables = dict[int, tuple[str, int, str | None]]


@dataclass(frozen=True)
class Observer:
    """Reads a step's locks and rewrites in the step's transaction (see the module doc)."""

    schemas: Sequence[str]

    def before(self, conn: psycopg.Connection) -> _Tables:
        return self._tables(conn)

    def after(self, conn: psycopg.Connection, before: _Tables, seconds: float) -> Observation:
        held = conn.execute(_OWN_LOCKS).fetchall()
        now = self._tables(conn)
        locks = sorted(
            {HeldLock(before[oid][0], mode, before[oid][2]) for oid, mode in held if oid in before}, key=_order
        )
        rewritten = sorted(
            name for oid, (name, node, _) in before.items() if oid in now and node and now[oid][1] != node
        )
        return Observation(tuple(locks), tuple(rewritten), seconds)

    def _tables(self, conn: psycopg.Connection) -> _Tables:
        rows = conn.execute(_TABLES, (list(self.schemas),)).fetchall()
        return {int(oid): (str(name), int(node), root) for oid, name, node, root in rows}


def _order(held: HeldLock) -> tuple[str, int]:
    return held.relation, MODES.index(held.mode) if held.mode in MODES else len(MODES)
