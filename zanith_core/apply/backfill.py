"""Batched, crash-resumable backfills: the executor of the ``backfill`` op.

A backfill walks the table in primary-key order (keyset pagination; composite keys by row comparison,
never OFFSET; a unique NOT NULL key when there is no primary key) and updates one batch per transaction.
A table with no such key is walked by ``ctid`` ranges instead: a batch is a range of heap pages (about
the batch size in rows, from the planner's rows per page), read by a TID range scan, and the cursor is
the last page done. An update may move a row to a page not done yet, so in that mode a batch writes only
rows whose value differs from the expression (a row moved is then not written twice, and the
expression must be deterministic, as a copy or a cast is). The same statement that updates a batch also
upserts the step's row in ``_zanith_migration_checkpoints`` (the cursor and the running row count), so
a batch and its checkpoint commit or vanish together: after a crash — ``kill -9`` included — the next
run reads the checkpoint and continues right after the last committed batch, no row skipped and no row
written twice.

The run is bounded by the largest key present when it starts (stored in the checkpoint, so a resumed
run keeps the same bound). Rows the application inserts later are beyond the bound and never keep the
backfill running; the dual-write triggers of an expand phase keep those rows current instead.

Each batch runs with ``SET LOCAL lock_timeout`` (a batch waiting behind a long lock would queue every
query behind it) and is retried with backoff and jitter when it times out waiting for a lock or is
chosen as a deadlock victim. Each batch transaction also sets ``zanith.backfill`` to
``<migration id>/<step index>`` (``SET LOCAL``), so triggers and audits can recognise backfill writes.
Batches commit with ``synchronous_commit = off``: a server crash may lose the last few batches, but
always together with their checkpoints, so the resumed run redoes exactly those.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.pq import TransactionStatus

from ..errors import ZanithError
from ..ledger import CHECKPOINTS
from ..ops.base import Operation, Statement
from ..ops.data import Backfill
from ..schema.expressions import quote_qualified
from ..schema.graph import split_qualified
from ..sql.identifiers import qualified_identifier
from .executors import StepContext
from .lock_wait import milliseconds

LOCK_RETRIES = 5
PIPELINE_DEPTH = 8
"""Batches sent per round trip; each is still its own transaction, committed in order."""
"""Tries per batch after a lock timeout or deadlock before the step fails (the runner may retry it)."""
RETRYABLE = (pg_errors.LockNotAvailable, pg_errors.DeadlockDetected)
GUC = "zanith.backfill"


@dataclass(frozen=True)
class KeyColumn:
    name: str
    type: str
    """``format_type`` text, used to cast the cursor (stored as text) back to the column's type."""


@dataclass(frozen=True)
class Checkpoint:
    """A step's row in ``_zanith_migration_checkpoints``; key values are kept as their text form."""

    after: tuple[str, ...] | None
    """Key of the last committed row; None before the first batch."""
    until: tuple[str, ...] | None
    """Largest key when the backfill started; None when the table was empty."""
    processed_rows: int
    status: str

    @property
    def done(self) -> bool:
        return self.status == "done"


Progress = tuple[int, tuple[str, ...] | None]
"""Rows written so far and the cursor, as a batch leaves them."""


def key_columns(conn: psycopg.Connection, schema: str, table: str) -> tuple[KeyColumn, ...]:
    """The columns to paginate on: the primary key, else the narrowest unique NOT NULL plain key, else
    none (the backfill then walks ``ctid`` ranges)."""
    relation = conn.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    if relation is None:
        raise ZanithError(f"backfill: table {schema}.{table} does not exist")
    rows = conn.execute(
        """
        SELECT array_agg(a.attname ORDER BY k.ord), array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord)
        FROM pg_index i
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = %s AND i.indisunique AND i.indisvalid AND i.indimmediate
          AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts
        GROUP BY i.indexrelid, i.indisprimary
        HAVING bool_and(a.attnotnull)
        ORDER BY i.indisprimary DESC, count(*), i.indexrelid
        LIMIT 1
        """,
        relation,
    ).fetchone()
    if rows is None:
        return ()
    names, types = rows
    return tuple(KeyColumn(n, t) for n, t in zip(names, types, strict=True))


def read_checkpoint(
    conn: psycopg.Connection, migration_id: str, step_index: int, ledger_schema: str = "public"
) -> Checkpoint | None:
    row = conn.execute(
        sql.SQL("SELECT cursor, processed_rows, status FROM {} WHERE migration_id = %s AND step_index = %s").format(
            sql.Identifier(ledger_schema, CHECKPOINTS)
        ),
        (migration_id, step_index),
    ).fetchone()
    if row is None:
        return None
    cursor: dict[str, Any] = row[0] or {}
    return Checkpoint(_key(cursor.get("after")), _key(cursor.get("until")), int(row[1] or 0), str(row[2]))


def _key(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


# -- the statements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statements:
    """The SQL of one backfill, composed once: start (bound + checkpoint), one batch, finish."""

    op: Backfill
    keys: tuple[KeyColumn, ...]
    checkpoints: sql.Identifier

    @property
    def _table(self) -> sql.Composable:
        return qualified_identifier(self.op.table)

    def _key_list(self, suffix: str = "") -> sql.Composable:
        return sql.SQL(", ").join(sql.SQL("{}{}").format(sql.Identifier(k.name), sql.SQL(suffix)) for k in self.keys)

    def _params(self, prefix: str) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Placeholder(f"{prefix}{i}"), sql.SQL(k.type)) for i, k in enumerate(self.keys)
        )

    def _stored_cursor(self) -> sql.Composable:
        """The checkpoint's ``after`` key, cast back to the key columns' types (one InitPlan per column)."""
        return sql.SQL(", ").join(
            sql.SQL(
                "(SELECT (cursor -> 'after' ->> {})::{} FROM {} WHERE migration_id = %(mid)s AND step_index = %(step)s)"
            ).format(sql.Literal(i), sql.SQL(k.type), self.checkpoints)
            for i, k in enumerate(self.keys)
        )

    def _aliases(self) -> list[sql.Identifier]:
        return [sql.Identifier(f"_zanith_k{i}") for i in range(len(self.keys))]

    def _where(self) -> sql.Composable:
        return sql.SQL(" AND ({})").format(_fragment(self.op.where)) if self.op.where else sql.SQL("")

    def bound(self) -> Statement:
        # Aliased: ``ORDER BY id`` would otherwise sort by the output column ``id::text``.
        texts = sql.SQL(", ").join(
            sql.SQL("{}::text AS {}").format(sql.Identifier(k.name), alias)
            for k, alias in zip(self.keys, self._aliases(), strict=True)
        )
        return sql.SQL("SELECT {} FROM {} ORDER BY {} LIMIT 1").format(texts, self._table, self._key_list(" DESC"))

    def start(self) -> Statement:
        return sql.SQL(
            "INSERT INTO {} (migration_id, step_index, cursor, processed_rows, status, started_at, updated_at)"
            " VALUES (%(mid)s, %(step)s, %(cursor)s::jsonb, 0, %(status)s, now(), now())"
            " ON CONFLICT (migration_id, step_index) DO NOTHING"
        ).format(self.checkpoints)

    def finish(self) -> Statement:
        return sql.SQL(
            "UPDATE {} SET status = 'done', updated_at = now() WHERE migration_id = %(mid)s AND step_index = %(step)s"
        ).format(self.checkpoints)

    def batch(self, *, first: bool) -> Statement:
        """One batch: find the last key of the next window, update the window, advance the checkpoint.

        The window starts after the cursor *stored in the checkpoint row* (none for the first batch),
        so every batch after the first is the same statement with the same parameters: several can be
        sent in one round trip, and a batch that failed is simply redone by the next one. The update is
        a range scan ``cursor < key <= last`` rather than a join on the window's keys, so a batch costs
        one index descent; rows inserted into the range meanwhile are updated too, which is harmless
        (each is written once, by the batch whose range holds its key).
        """
        keys = sql.SQL("({})").format(self._key_list())
        lower = sql.SQL("") if first else sql.SQL("{} > ({}) AND ").format(keys, self._stored_cursor())
        aliases = self._aliases()
        return sql.SQL(
            "WITH last AS ("
            " SELECT * FROM (SELECT {keys_plain} FROM {table} WHERE {lower}{keys} <= ({until}){where}"
            " ORDER BY {keys_plain} LIMIT %(limit)s) AS w({aliases}) ORDER BY {aliases_desc} LIMIT 1"
            "), done AS ("
            " UPDATE {table} SET {column} = ({expression}) FROM last"
            " WHERE {lower}{keys} <= ({last_key}){where} RETURNING 1"
            ") INSERT INTO {checkpoints} AS c"
            " (migration_id, step_index, cursor, processed_rows, status, started_at, updated_at)"
            " SELECT %(mid)s, %(step)s, jsonb_build_object('after', jsonb_build_array({last_text}),"
            " 'until', %(until_json)s::jsonb), (SELECT count(*) FROM done), 'running', now(), now() FROM last"
            " ON CONFLICT (migration_id, step_index) DO UPDATE SET cursor = EXCLUDED.cursor,"
            " processed_rows = c.processed_rows + EXCLUDED.processed_rows, updated_at = EXCLUDED.updated_at"
            " RETURNING c.processed_rows, c.cursor -> 'after'"
        ).format(
            keys_plain=self._key_list(),
            table=self._table,
            lower=lower,
            keys=keys,
            until=self._params("u"),
            where=self._where(),
            aliases=sql.SQL(", ").join(aliases),
            aliases_desc=sql.SQL(", ").join(sql.SQL("{} DESC").format(a) for a in aliases),
            column=sql.Identifier(self.op.column),
            expression=_fragment(self.op.expression),
            last_key=sql.SQL(", ").join(sql.SQL("last.{}").format(a) for a in aliases),
            last_text=sql.SQL(", ").join(sql.SQL("last.{}::text").format(a) for a in aliases),
            checkpoints=self.checkpoints,
        )


class _PageStatements(_Statements):
    """The SQL of a backfill over ``ctid`` ranges (no key): pages ``0 .. until - 1``, ``%(pages)s`` a batch.

    The window's bounds are scalar subqueries (InitPlans), so each batch is a TID range scan of its pages.
    """

    @property
    def _regclass(self) -> str:
        return quote_qualified(*split_qualified(self.op.table))

    def bound(self) -> Statement:
        return sql.SQL(
            "SELECT n::text FROM (SELECT pg_catalog.pg_relation_size({rel}) / current_setting('block_size')::int"
            " AS n) s WHERE n > 0"
        ).format(rel=sql.Literal(self._regclass))

    def batch(self, *, first: bool) -> Statement:
        after = (
            sql.SQL("-1")
            if first
            else sql.SQL(
                "(SELECT (cursor -> 'after' ->> 0)::bigint FROM {}"
                " WHERE migration_id = %(mid)s AND step_index = %(step)s)"
            ).format(self.checkpoints)
        )
        column = sql.Identifier(self.op.column)
        expression = _fragment(self.op.expression)
        return sql.SQL(
            "WITH win AS ("
            " SELECT lo, LEAST(lo + %(pages)s, %(u0)s::bigint) AS hi FROM (SELECT {after} + 1 AS lo) s"
            " WHERE lo < %(u0)s::bigint"
            "), done AS ("
            " UPDATE {table} SET {column} = ({expression})"
            " WHERE ctid >= (SELECT format('(%%s,0)', lo)::tid FROM win)"
            " AND ctid < (SELECT format('(%%s,0)', hi)::tid FROM win)"
            " AND {column} IS DISTINCT FROM ({expression}){where} RETURNING 1"
            ") INSERT INTO {checkpoints} AS c"
            " (migration_id, step_index, cursor, processed_rows, status, started_at, updated_at)"
            " SELECT %(mid)s, %(step)s, jsonb_build_object('after', jsonb_build_array((hi - 1)::text),"
            " 'until', %(until_json)s::jsonb), (SELECT count(*) FROM done), 'running', now(), now() FROM win"
            " ON CONFLICT (migration_id, step_index) DO UPDATE SET cursor = EXCLUDED.cursor,"
            " processed_rows = c.processed_rows + EXCLUDED.processed_rows, updated_at = EXCLUDED.updated_at"
            " RETURNING c.processed_rows, c.cursor -> 'after'"
        ).format(
            after=after,
            table=self._table,
            column=column,
            expression=expression,
            where=self._where(),
            checkpoints=self.checkpoints,
        )

    def pages(self, conn: psycopg.Connection, batch_size: int) -> int:
        """Pages per batch: about ``batch_size`` rows at the planner's rows per page (at least one)."""
        row = conn.execute(
            "SELECT reltuples / NULLIF(relpages, 0) FROM pg_catalog.pg_class WHERE oid = %s::regclass",
            (self._regclass,),
        ).fetchone()
        per_page = float(row[0]) if row and row[0] is not None and row[0] > 0 else 100.0
        return max(1, int(batch_size / per_page))


def _fragment(text: str) -> sql.SQL:
    """Hand-written SQL inside a statement sent with parameters: its ``%`` (modulo, LIKE) is literal."""
    return sql.SQL(text.replace("%", "%%"))


# -- running ---------------------------------------------------------------------------------------


def run_backfill(
    conn: psycopg.Connection,
    op: Backfill,
    ctx: StepContext,
    *,
    batch_size: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> Checkpoint:
    """Run ``op`` from its checkpoint (or the start) to the end; return the final checkpoint.

    ``conn`` must be in autocommit mode: every batch is its own transaction. ``batch_size`` overrides
    the op's. ``on_batch`` is called with the running row count after each committed batch (the
    progress bar uses it).
    """
    batch_size = batch_size or op.batch_size
    if not conn.autocommit:
        raise ZanithError("backfill: must run on an autocommit connection (each batch is its own transaction)")
    if batch_size < 1:
        raise ZanithError(f"backfill: batch size must be positive, not {batch_size}")
    keys = key_columns(conn, *split_qualified(op.table))
    checkpoints = sql.Identifier(ctx.ledger_schema, CHECKPOINTS)
    stmts = _Statements(op, keys, checkpoints) if keys else _PageStatements(op, keys, checkpoints)
    ident = {"mid": ctx.migration_id, "step": ctx.step_index}
    checkpoint = read_checkpoint(conn, ctx.migration_id, ctx.step_index, ctx.ledger_schema)
    if checkpoint is None:
        row = conn.execute(stmts.bound()).fetchone()
        until = None if row is None else tuple(str(v) for v in row)
        status = "running" if until else "done"
        conn.execute(stmts.start(), {**ident, "cursor": json.dumps({"after": None, "until": until}), "status": status})
        checkpoint = read_checkpoint(conn, ctx.migration_id, ctx.step_index, ctx.ledger_schema)
        assert checkpoint is not None
    if checkpoint.done or checkpoint.until is None:
        return checkpoint
    params: dict[str, Any] = {
        **ident,
        "limit": batch_size,
        "until_json": json.dumps(list(checkpoint.until)),
        **{f"u{i}": v for i, v in enumerate(checkpoint.until)},
        "lock_timeout": f"{milliseconds(ctx.lock_timeout)}ms",
        "marker": f"{ctx.migration_id}/{ctx.step_index}",
    }
    if isinstance(stmts, _PageStatements):
        params["pages"] = stmts.pages(conn, batch_size)
    progress: Progress = (checkpoint.processed_rows, checkpoint.after)
    following = stmts.batch(first=False)
    depth = 1 if ctx.batch_delay > 0 else PIPELINE_DEPTH
    group = [stmts.batch(first=True)] if checkpoint.after is None else [following] * depth
    while True:
        results = _with_retries(conn, group, params)
        for result in results:
            if result is not None:
                progress = result
                if on_batch:
                    on_batch(progress[0])
        if None in results:
            break
        if ctx.batch_delay > 0:
            time.sleep(ctx.batch_delay)
        group = [following] * depth
    conn.execute(stmts.finish(), ident)
    return Checkpoint(progress[1], checkpoint.until, progress[0], "done")


_SET_LOCAL = sql.SQL(
    "SELECT set_config('lock_timeout', %(lock_timeout)s, true),"
    " set_config('synchronous_commit', 'off', true), set_config({guc}, %(marker)s, true)"
).format(guc=sql.Literal(GUC))


def _group(conn: psycopg.Connection, batches: list[Statement], params: dict[str, Any]) -> list[Progress | None]:
    """Run ``batches`` in one round trip, each in its own transaction with its ``SET LOCAL`` settings.

    Each batch is ``BEGIN; set_config(...); <batch>; COMMIT``, all pipelined behind one Sync: the
    batches commit one after the other, and an error stops the rest (the server skips to the Sync).
    Returns each batch's progress, None for a batch that found nothing left.
    """
    cursors = []
    try:
        with conn.pipeline():
            for stmt in batches:
                conn.execute(_BEGIN)
                conn.execute(_SET_LOCAL, params)
                cursors.append(conn.execute(stmt, params))
                conn.execute(_COMMIT)
    except psycopg.Error:
        if conn.info.transaction_status == TransactionStatus.INERROR:
            conn.execute(_ROLLBACK)
        raise
    rows = [cur.fetchone() for cur in cursors]
    return [None if row is None else (int(row[0]), tuple(str(v) for v in row[1])) for row in rows]


_BEGIN, _COMMIT, _ROLLBACK = sql.SQL("BEGIN"), sql.SQL("COMMIT"), sql.SQL("ROLLBACK")


def _with_retries(conn: psycopg.Connection, batches: list[Statement], params: dict[str, Any]) -> list[Progress | None]:
    """:func:`_group`, retried with exponential backoff and jitter after a lock timeout or deadlock.

    A batch holds its row locks for milliseconds, so retries start short. Batches that committed
    before the error advanced the checkpoint, and the retry starts from there. After the last try the
    error propagates and the step fails (the next run resumes from the checkpoint).
    """
    for n in range(LOCK_RETRIES):
        try:
            return _group(conn, batches, params)
        except RETRYABLE:
            if n == LOCK_RETRIES - 1:
                raise
            time.sleep(min(5.0, 0.1 * 2**n) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


# -- progress --------------------------------------------------------------------------------------


def estimated_rows(conn: psycopg.Connection, schema: str, table: str) -> int | None:
    """The planner's row estimate (``reltuples``), or None when the table was never analysed."""
    row = conn.execute(
        "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


def progress_wanted(ctx: StepContext, stream: TextIO | None = None) -> bool:
    """A bar only when asked for (not ``--json``), at a terminal (stderr), and not in CI logs."""
    return ctx.progress and (stream or sys.stderr).isatty() and not os.environ.get("CI")


class ProgressBar:
    """``rows done / estimated total, rate, ETA`` redrawn in place on a terminal, at most 10 times a second."""

    WIDTH = 30

    def __init__(self, label: str, total: int | None, start: int = 0, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.start_rows = start
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.drawn = 0.0

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.drawn < 0.1:
            return
        self.drawn = now
        self.stream.write("\r" + self.render(done, now - self.started) + "\x1b[K")
        self.stream.flush()

    def render(self, done: int, elapsed: float) -> str:
        rate = (done - self.start_rows) / elapsed if elapsed > 0 else 0.0
        total = max(self.total or 0, done)
        if self.total:
            filled = int(self.WIDTH * done / total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            eta = f"ETA {_duration((total - done) / rate)}" if rate > 0 else "ETA ?"
            return f"{self.label} [{bar}] {done:,}/~{total:,} rows  {rate:,.0f} rows/s  {eta}"
        return f"{self.label} {done:,} rows  {rate:,.0f} rows/s"

    def close(self, done: int) -> None:
        self.update(done, force=True)
        self.stream.write("\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# -- the executor ----------------------------------------------------------------------------------


def execute_backfill(op: Operation, conn: psycopg.Connection, ctx: StepContext) -> None:
    """Run a ``backfill`` step: batch size from the run (``StepContext.batch_size``), else the op's."""
    if not isinstance(op, Backfill):
        raise TypeError(f"the backfill executor cannot run {op.kind}")
    bar: ProgressBar | None = None
    if progress_wanted(ctx):
        start = read_checkpoint(conn, ctx.migration_id, ctx.step_index, ctx.ledger_schema)
        total = estimated_rows(conn, *split_qualified(op.table))
        bar = ProgressBar(f"backfill {op.target}", total, start.processed_rows if start else 0)
    final = run_backfill(conn, op, ctx, batch_size=ctx.batch_size, on_batch=bar.update if bar else None)
    if bar:
        bar.close(final.processed_rows)
