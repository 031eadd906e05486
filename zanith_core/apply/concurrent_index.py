"""What an interrupted ``CREATE INDEX CONCURRENTLY`` leaves behind, and how a resumed apply cleans it.

A concurrent build commits the index's catalog entry first and fills it in later transactions; a crash,
a cancel or an error in between leaves an INVALID index (``pg_index.indisvalid = false``) that writes
still maintain but no query uses, and that makes a plain re-run fail with "already exists". The runner
calls :func:`clean_interrupted_index_builds` before re-running a step whose earlier run did not finish.

The indexes a step builds are found by parsing its SQL with the real PostgreSQL parser (pglast), so
hand-written ``raw_sql`` steps are covered exactly like generated ones.

A build that waits for other transactions says whom it waits for and gives up after a while
(:class:`BuildWatch`); the runner then drops the INVALID index the cancelled build left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pglast
import psycopg
from pglast import ast
from psycopg import sql

from ..errors import ZanithError
from ..ops.base import Operation
from ..servers import connect
from .lock_wait import REPORT_SECONDS, Blocker, blockers_of

WATCH_SECONDS = 0.25
"""How often the watch of a statement that waits for other transactions looks at it."""


@dataclass(frozen=True)
class IndexBuild:
    """``CREATE INDEX CONCURRENTLY name ON [schema.]table``, as found in a step's SQL."""

    name: str
    table_schema: str | None
    table: str


def concurrent_index_builds(op: Operation) -> tuple[tuple[IndexBuild, ...], bool]:
    """The named concurrent index builds in ``op``'s SQL, and whether that is all the op does."""
    try:
        statements = pglast.parse_sql(op.sql())
    except pglast.parser.ParseError:
        return (), False  # SQL this parser does not know cannot be a build we could clean up after
    builds: list[IndexBuild] = []
    only_builds = True
    for raw in statements:
        stmt = raw.stmt
        table = stmt.relation if isinstance(stmt, ast.IndexStmt) else None
        if isinstance(stmt, ast.IndexStmt) and stmt.concurrent and stmt.idxname and table and table.relname:
            builds.append(IndexBuild(stmt.idxname, table.schemaname, table.relname))
        else:
            only_builds = False
    return tuple(builds), only_builds and bool(builds)


def clean_interrupted_index_builds(conn: psycopg.Connection, op: Operation) -> bool:
    """Drop the INVALID indexes ``op``'s builds left; True when the op has nothing left to do.

    That is the case when the op only builds indexes and every one of them exists and is valid: the
    build finished before the process died, only the ledger's final row is missing.
    """
    builds, only_builds = concurrent_index_builds(op)
    finished = True
    for build in builds:
        table = sql.Identifier(*filter(None, (build.table_schema, build.table))).as_string(conn)
        row = conn.execute(
            "SELECT n.nspname, i.indisvalid FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE i.indrelid = to_regclass(%s) AND c.relname = %s",
            (table, build.name),
        ).fetchone()
        if row is None:
            finished = False
        elif not row[1]:
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(row[0], build.name)))
            finished = False
    return only_builds and finished


class BuildWatch:
    """Watches a statement that may wait for other transactions, from a second connection.

    ``CREATE INDEX CONCURRENTLY`` waits, without a word and without a limit, for every transaction that
    wrote the table and then for every older snapshot in the database. While the watched backend
    (``pid``) waits, the watch reports whom it waits for (``report``, when that changes and every
    :data:`~zanith_core.apply.lock_wait.REPORT_SECONDS`); once those waits add up to ``limit`` seconds it
    cancels the statement (``pg_cancel_backend``, only while it still waits on a lock) and sets
    :attr:`gave_up`. Used as a context manager around the statement: leaving it stops and joins the
    watch, so no cancel can reach a later statement.
    """

    def __init__(self, url: str, pid: int, limit: float, report: Callable[[tuple[Blocker, ...]], None]) -> None:
        self.url = url
        self.pid = pid
        self.limit = limit
        self.report = report
        self.gave_up = False
        self.seen: tuple[Blocker, ...] = ()
        """Whom the statement waited for last."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"zanith watch {pid}", daemon=True)

    def __enter__(self) -> BuildWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        if self._stop.wait(WATCH_SECONDS):
            return  # done before it could have waited long: no second connection needed
        try:
            with connect(self.url, application_name="zanith apply watch") as conn:
                self._watch(conn)
        except (psycopg.Error, ZanithError):
            return  # no second connection (max_connections?): the statement runs unwatched, as before

    def _watch(self, conn: psycopg.Connection) -> None:
        waited = 0.0
        last = time.monotonic() - WATCH_SECONDS
        reported: tuple[int | None, ...] | None = None
        reported_at = 0.0
        while True:
            now = time.monotonic()
            blockers = blockers_of(conn, self.pid)
            if blockers:
                waited += now - last
                self.seen = blockers
                pids = tuple(b.pid for b in blockers)
                if pids != reported or now - reported_at >= REPORT_SECONDS:
                    self.report(blockers)
                    reported, reported_at = pids, now
            last = now
            if waited >= self.limit and blockers and self._cancel(conn):
                self.gave_up = True
                return
            if self._stop.wait(WATCH_SECONDS):
                return

    def _cancel(self, conn: psycopg.Connection) -> bool:
        """Cancel the watched statement, if it still waits on a lock (never a later statement)."""
        row = conn.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
            (self.pid,),
        ).fetchone()
        return bool(row and row[0])
