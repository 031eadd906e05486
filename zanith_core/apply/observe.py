"""What a step really did, read from PostgreSQL while it runs (issue 18, part 1).

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
sharing one could not be told apart). A step outside a transaction (``CREATE INDEX CONCURRENTLY``, a
batched backfill) commits as it goes, so no read on its own connection finds its locks: it is watched
from a second connection instead (:class:`LockPoll`), with the same filter and the same
:class:`Observation` as the result. The values it returns (:class:`~zanith_core.risk.observed.Observation`)
live with the risk model, which can score a plan from them (``zanith plan --observed``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType

import psycopg

from ..errors import ConnectionFailed
from ..ops.base import Lock
from ..risk.observed import HeldLock, Observation
from ..servers import connect

__all__ = ["MODES", "HeldLock", "LockPoll", "Observation", "Observer"]

_TABLES = """
SELECT c.oid, n.nspname || '.' || c.relname, c.relfilenode,
       CASE WHEN c.relispartition THEN (
         SELECT rn.nspname || '.' || r.relname FROM pg_class r JOIN pg_namespace rn ON rn.oid = r.relnamespace
         WHERE r.oid = pg_partition_root(c.oid)) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'm')
"""

_LOCKS = """
SELECT l.relation, l.mode FROM pg_locks l
WHERE l.pid = %s AND l.locktype = 'relation' AND l.granted
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

    def after(
        self,
        conn: psycopg.Connection,
        before: _Tables,
        seconds: float,
        held: Iterable[tuple[int, str]] | None = None,
    ) -> Observation:
        """The step's observation; its locks are those its backend holds now, unless ``held`` (relation
        oid, mode) says which it held (:class:`LockPoll`, for a step outside a transaction)."""
        if held is None:
            held = conn.execute(_LOCKS, (conn.info.backend_pid,)).fetchall()
        now = self._tables(conn)
        locks = sorted(
            {HeldLock(before[oid][0], mode, before[oid][2]) for oid, mode in held if oid in before}, key=_order
        )
        rewritten = sorted(
            name for oid, (name, node, _) in before.items() if oid in now and node and now[oid][1] != node
        )
        return Observation(tuple(locks), tuple(rewritten), seconds)

    def outside(self, url: str, conn: psycopg.Connection) -> LockPoll:
        """A watch on the step about to run outside a transaction on ``conn`` (a database at ``url``)."""
        return LockPoll(self, url, conn)

    def _tables(self, conn: psycopg.Connection) -> _Tables:
        rows = conn.execute(_TABLES, (list(self.schemas),)).fetchall()
        return {int(oid): (str(name), int(node), root) for oid, name, node, root in rows}


def _order(held: HeldLock) -> tuple[str, int]:
    return held.relation, MODES.index(held.mode) if held.mode in MODES else len(MODES)


POLL_SECONDS = 0.002
"""How often the second connection reads the locks of a step that runs outside a transaction."""
EAGER_SECONDS = 0.05
"""For how long after the step starts the second connection reads them without a pause: a concurrent
build on an empty table (the shadow's) holds its lock for about a millisecond."""
FIRST_POLL_SECONDS = 5.0
"""How long entering a :class:`LockPoll` waits for its first read, so that polling runs before the step does."""


class LockPoll:
    """What a step outside a transaction did, read from a second connection while it runs.

    A thread polls ``pg_locks`` for the step's backend (``conn``'s) every :data:`POLL_SECONDS` and keeps
    the union of the relation locks it saw; ``CREATE INDEX CONCURRENTLY`` holds its SHARE UPDATE
    EXCLUSIVE from start to end, so it is seen, while a lock held for less than one interval may be
    missed — reported as not taken, never as taken. Used as a context manager around the step: entering
    reads the tables, opens the connection and waits for the first poll; leaving stops and joins the
    thread (which closes its connection) whatever ends the step — success, an error, an interrupt —
    and only when the step succeeded and every poll did sets :attr:`observation`. Without a second
    connection (``max_connections``?) the step runs unobserved: :attr:`observation` stays None.
    """

    def __init__(self, observer: Observer, url: str, conn: psycopg.Connection) -> None:
        self.observation: Observation | None = None
        self._observer = observer
        self._url = url
        self._conn = conn
        self._before: _Tables = {}
        self._held: set[tuple[int, str]] = set()
        self._failed = False
        self._started = 0.0
        self._polled = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LockPoll:
        self._before = self._observer.before(self._conn)
        try:
            poller = connect(self._url, application_name="zanith apply observe")
        except ConnectionFailed:
            return self
        pid = self._conn.info.backend_pid
        self._thread = threading.Thread(
            target=self._poll, args=(poller, pid), name=f"zanith observe {pid}", daemon=True
        )
        self._thread.start()
        self._polled.wait(FIRST_POLL_SECONDS)
        self._started = time.monotonic()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        seconds = time.monotonic() - self._started
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        if kind is None and not self._failed:
            self.observation = self._observer.after(self._conn, self._before, seconds, self._held)

    def _poll(self, poller: psycopg.Connection, pid: int) -> None:
        try:
            with poller:
                eager_until = time.monotonic() + EAGER_SECONDS  # the step starts after the first read
                while True:
                    for oid, mode in poller.execute(_LOCKS, (pid,), prepare=True):
                        self._held.add((int(oid), str(mode)))
                    self._polled.set()
                    if self._stop.wait(0 if time.monotonic() < eager_until else POLL_SECONDS):
                        return
        except psycopg.Error:
            self._failed = True  # a partial union is no observation
        finally:
            self._polled.set()
