"""The audit ledger: six tables in the target database that record everything ``zanith apply`` did.

A package of its own, below plan and apply, because both read it (the plan: which migrations the target
applied; apply: everything) and the recovery verbs too. Beside this module: :mod:`.locks` (the advisory
lock every writer of the ledger takes), :mod:`.artifacts` (the rows of the recovery artifacts table) and
:mod:`.events` (one row per act on the ledger that is not an apply step: ``zanith resolve``).

Like Django's recorder, this module only knows the tables: how to create (and later upgrade) them, how
to write a step or an applied migration, and how to read them back as values. The runner decides
*when*; ``zanith status``/``history``/``show`` and the post-mortem queries in docs/audit.md read them.

The ledger has its own version, stored as the comment on ``_zanith_migrations`` (``zanith ledger v4``).
``ensure_ledger`` runs every upgrade step above the stored version, so creating the ledger and upgrading
an old one are the same code path; it runs under the apply lock, so two deploys never race on it.

Since v4 the ledger lives in a schema of its own (``ledger_schema``, ``zanith`` by default), so the
user's schemas hold only the user's objects. A ledger an older zanith kept in ``public`` is read where it
is until the first command that writes the ledger moves it (:func:`ensure_ledger`, one transaction, an
event row). The move leaves a marker in ``public``: a view named ``_zanith_migrations`` that says
``zanith ledger v4``, so an older zanith refuses the database ("newer than this zanith understands")
instead of starting a second, empty ledger beside the moved one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ..errors import ZanithError
from ..schema.graph import SchemaGraph

MIGRATIONS = "_zanith_migrations"
STEPS = "_zanith_migration_steps"
SNAPSHOTS = "_zanith_schema_snapshots"
ARTIFACTS = "_zanith_migration_artifacts"
CHECKPOINTS = "_zanith_migration_checkpoints"
EVENTS = "_zanith_ledger_events"
TABLES = (MIGRATIONS, STEPS, SNAPSHOTS, ARTIFACTS, CHECKPOINTS, EVENTS)
"""The six ledger tables, in the order ``UPGRADES`` creates them; other modules name them through these."""

STEP_STATUSES = ("running", "done", "failed", "reversed", "abandoned", "rolled_back", "resolved", "forgotten")
"""What a step row can say. The runner writes the first three; ``zanith resolve`` the others (see
:mod:`zanith_core.recovery.resolve`): only ``done`` counts as done when an apply resumes."""

_V1 = (
    "CREATE TABLE IF NOT EXISTS {s}._zanith_migrations ("
    " id text PRIMARY KEY,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS {s}._zanith_migration_steps ("
    " migration_id text NOT NULL,"
    " step_index int NOT NULL,"
    " op_kind text NOT NULL,"
    " status text NOT NULL CHECK (status IN ('running', 'done', 'failed')),"
    " sql text NOT NULL,"
    " risk_level text,"
    " risk_score int,"
    " risk_reasons text[],"
    " error text,"
    " started_at timestamptz NOT NULL DEFAULT now(),"
    " finished_at timestamptz,"
    " PRIMARY KEY (migration_id, step_index))",
    "CREATE TABLE IF NOT EXISTS {s}._zanith_schema_snapshots ("
    " migration_id text NOT NULL,"
    " phase text NOT NULL CHECK (phase IN ('after')),"
    " schema jsonb NOT NULL,"
    " taken_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (migration_id, phase))",
    "CREATE TABLE IF NOT EXISTS {s}._zanith_migration_artifacts ("
    " id bigserial PRIMARY KEY,"
    " migration_id text NOT NULL,"
    " step_index int,"
    " kind text NOT NULL,"
    " source text,"
    " physical_name text,"
    " checksum text,"
    " row_count bigint,"
    " recovery_sql text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " expires_at timestamptz,"
    " status text NOT NULL DEFAULT 'kept' CHECK (status IN ('kept', 'restored', 'purged')),"
    " status_changed_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS {s}._zanith_migration_checkpoints ("
    " migration_id text NOT NULL,"
    " step_index int NOT NULL,"
    " cursor jsonb,"
    " processed_rows bigint NOT NULL DEFAULT 0,"
    " status text NOT NULL CHECK (status IN ('running', 'done')),"
    " started_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (migration_id, step_index))",
)

_V2 = (
    # zanith resolve settles a stuck migration: its step rows say how, and every act is an event row.
    "ALTER TABLE {s}._zanith_migration_steps DROP CONSTRAINT IF EXISTS _zanith_migration_steps_status_check",
    "ALTER TABLE {s}._zanith_migration_steps ADD CONSTRAINT _zanith_migration_steps_status_check"
    " CHECK (status IN (" + ", ".join(f"'{status}'" for status in STEP_STATUSES) + "))",
    "CREATE TABLE IF NOT EXISTS {s}._zanith_ledger_events ("
    " id bigserial PRIMARY KEY,"
    " migration_id text NOT NULL,"
    " action text NOT NULL,"
    " step_index int,"
    " detail jsonb NOT NULL DEFAULT '{{}}',"
    " recorded_by text NOT NULL DEFAULT current_user,"
    " recorded_at timestamptz NOT NULL DEFAULT now())",
)

_V3 = (
    # How a migration came to be recorded, and by whom: ``applied`` (its steps ran), ``baselined``
    # (``zanith baseline``: the database already had its schema) or ``adopted`` (``zanith adopt``: a change
    # made by hand, written down afterwards). Rows from before v3 keep ``applied_by`` NULL: unknown.
    "ALTER TABLE {s}._zanith_migrations"
    " ADD COLUMN IF NOT EXISTS how text NOT NULL DEFAULT 'applied' CHECK (how IN ('applied', 'baselined', 'adopted')),"
    " ADD COLUMN IF NOT EXISTS applied_by text",
    "ALTER TABLE {s}._zanith_migrations ALTER COLUMN applied_by SET DEFAULT current_user",
)

_V4: tuple[str, ...] = ()
"""v4 changes where the ledger is, not its tables: a v1 to v3 ledger in ``public`` moves to ``ledger_schema``
(:func:`_move_legacy`); one configured to stay in ``public`` is only restamped."""

UPGRADES: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4)
"""``UPGRADES[n]`` takes a ledger from version ``n`` to ``n + 1``. Append, never edit a released entry."""

VERSION = len(UPGRADES)
_VERSION_RE = re.compile(r"zanith ledger v(\d+)")

LEGACY_SCHEMA = "public"
"""Where zanith kept its ledger before v4, and where an older zanith still looks for it."""

MOVED = "ledger_moved"
"""The event :func:`ensure_ledger` records when it moves a ledger out of :data:`LEGACY_SCHEMA`."""

LEDGER_EVENT = "*"
"""The ``migration_id`` of events about the ledger itself rather than one migration."""


@dataclass(frozen=True)
class AppliedMigration:
    id: str
    checksum: str
    applied_at: datetime
    how: str = "applied"
    """``applied`` (its steps ran), ``baselined`` or ``adopted`` (recorded without running its SQL)."""
    applied_by: str | None = None
    """The role that recorded it (``current_user``); None for rows written before ledger v3."""


@dataclass(frozen=True)
class StepRecord:
    """One row of ``_zanith_migration_steps``."""

    migration_id: str
    step_index: int
    op_kind: str
    status: str
    sql: str
    risk_level: str | None
    risk_score: int | None
    risk_reasons: tuple[str, ...]
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "migration_id": self.migration_id,
            "step_index": self.step_index,
            "op_kind": self.op_kind,
            "status": self.status,
            "sql": self.sql,
            "risk_level": self.risk_level,
            "risk_score": self.risk_score,
            "risk_reasons": list(self.risk_reasons),
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class StepRow:
    """What the runner writes for a step; timestamps come from the server clock."""

    migration_id: str
    step_index: int
    op_kind: str
    sql: str
    risk_level: str | None = None
    risk_score: int | None = None
    risk_reasons: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RiskProfileRow:
    """Steps of one day that carried one reason code, with their scores."""

    day: datetime
    reason: str
    steps: int
    max_score: int | None
    avg_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.date().isoformat(),
            "reason": self.reason,
            "steps": self.steps,
            "max_score": self.max_score,
            "avg_score": self.avg_score,
        }


def _q(text: str, schema: str) -> sql.Composed:
    return sql.SQL(text).format(s=sql.Identifier(schema))


@contextmanager
def _privileged(conn: psycopg.Connection, schema: str, action: str) -> Iterator[None]:
    """Turn 'permission denied' into one line saying which role lacks what, and what to grant."""
    try:
        yield
    except psycopg.errors.InsufficientPrivilege as exc:
        role = conn.info.parameter_status("session_authorization") or conn.info.user
        raise ZanithError(
            f"role {role!r} cannot {action} the zanith ledger in schema {schema!r}: "
            f"{exc.diag.message_primary or exc}; grant it USAGE and CREATE on that schema (or create it for the "
            f"role: CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}), or set ledger_schema to one it owns"
        ) from None


# -- version and bootstrap -----------------------------------------------------------------------


def _found(conn: psycopg.Connection, schema: str) -> tuple[str, int] | None:
    """(relkind, version) of ``schema._zanith_migrations``; None when there is none."""
    name = sql.Identifier(schema, MIGRATIONS).as_string(conn)
    with _privileged(conn, schema, "read"):
        row = conn.execute(
            "SELECT c.relkind::text, obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c"
            " WHERE c.oid = to_regclass(%s)",
            (name,),
        ).fetchone()
    if row is None:
        return None
    match = _VERSION_RE.fullmatch(row[1] or "")
    return row[0], int(match.group(1)) if match else 0


def ledger_version(conn: psycopg.Connection, schema: str) -> int:
    """The ledger version in ``schema``: 0 when there is no ledger yet."""
    found = _found(conn, schema)
    if found is None:
        return 0
    kind, version = found
    if kind != "r":
        raise ZanithError(
            f"{schema}.{MIGRATIONS} is the marker zanith left when it moved the ledger to a schema of its own"
            f"{_moved_to(conn)}; set ledger_schema in [tool.zanith] to that schema (or remove the setting)"
        )
    return version


def _moved_to(conn: psycopg.Connection) -> str:
    rows = conn.execute(
        "SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = %s AND c.relkind = 'r' ORDER BY 1",
        (MIGRATIONS,),
    ).fetchall()
    return f" ({', '.join(repr(r[0]) for r in rows)})" if rows else ""


def located(conn: psycopg.Connection, schema: str) -> str:
    """The schema to read the ledger of ``schema`` from: ``schema`` itself, or :data:`LEGACY_SCHEMA` while a
    ledger an older zanith wrote there waits for the first write to move it (reading never moves it)."""
    if schema == LEGACY_SCHEMA or _found(conn, schema) is not None:
        return schema
    legacy = _found(conn, LEGACY_SCHEMA)
    return LEGACY_SCHEMA if legacy is not None and legacy[0] == "r" else schema


def ensure_ledger(conn: psycopg.Connection, schema: str) -> None:
    """Create the ledger, or upgrade it to :data:`VERSION`; a no-op when it is current.

    Call it holding the apply lock (see :mod:`zanith_core.ledger.locks`): ``IF NOT EXISTS`` is not safe
    against two sessions creating the same table at the same instant.
    """
    current = ledger_version(conn, schema)
    _refuse_newer(schema, current)
    if current == VERSION:
        return
    legacy = ledger_version(conn, LEGACY_SCHEMA) if current == 0 and schema != LEGACY_SCHEMA else 0
    _refuse_newer(LEGACY_SCHEMA, legacy)
    with _privileged(conn, schema, "create"), conn.transaction():
        exists = conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (sql.Identifier(schema).as_string(conn),))
        if exists.fetchone() != (True,):
            conn.execute(_q("CREATE SCHEMA {s}", schema))
        if legacy:
            _move_legacy(conn, schema)
            current = legacy
        for statements in UPGRADES[current:]:
            for text in statements:
                conn.execute(_q(text, schema))
        _stamp(conn, sql.SQL("TABLE"), sql.Identifier(schema, MIGRATIONS))
        if legacy:
            detail = {"from": LEGACY_SCHEMA, "to": schema, "from_version": legacy, "to_version": VERSION}
            conn.execute(
                _q("INSERT INTO {s}._zanith_ledger_events (migration_id, action, detail) VALUES (%s, %s, %s)", schema),
                (LEDGER_EVENT, MOVED, Jsonb(detail)),
            )


def _refuse_newer(schema: str, version: int) -> None:
    if version > VERSION:
        raise ZanithError(
            f"the zanith ledger in schema {schema!r} is version {version}, newer than this zanith "
            f"understands (v{VERSION}); upgrade zanith"
        )


def _stamp(conn: psycopg.Connection, kind: sql.SQL, name: sql.Identifier) -> None:
    conn.execute(sql.SQL("COMMENT ON {} {} IS {}").format(kind, name, sql.Literal(f"zanith ledger v{VERSION}")))


def _move_legacy(conn: psycopg.Connection, schema: str) -> None:
    """Move an older zanith's ledger tables (their sequences, indexes and constraints go with them) from
    :data:`LEGACY_SCHEMA` to ``schema``, and leave the marker an older zanith refuses (module docstring).

    The marker is a view whose every read fails with a message saying where the ledger went: an older
    zanith that skips the version check still cannot read an empty ledger as "nothing applied"."""
    for table in TABLES:
        old = sql.Identifier(LEGACY_SCHEMA, table)
        present = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (old.as_string(conn),)).fetchone()
        if present == (True,):  # a v1 ledger has no events table yet: the upgrades create it
            conn.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(old, sql.Identifier(schema)))
    refusal = f"the zanith ledger moved to schema {schema} (ledger v{VERSION}): upgrade zanith"
    marker = sql.Identifier(LEGACY_SCHEMA, MIGRATIONS)
    conn.execute(
        sql.SQL(
            "CREATE VIEW {} AS SELECT x AS id, x AS checksum, now() AS applied_at, x AS how, x AS applied_by"
            " FROM (SELECT ({}::text)::int::text AS x) AS moved"
        ).format(marker, sql.Literal(refusal))
    )
    _stamp(conn, sql.SQL("VIEW"), marker)


# -- writers (the runner calls these) ------------------------------------------------------------

_UPSERT_STEP = """
INSERT INTO {s}._zanith_migration_steps AS st
    (migration_id, step_index, op_kind, status, sql, risk_level, risk_score, risk_reasons,
     error, started_at, finished_at)
VALUES (%(migration_id)s, %(step_index)s, %(op_kind)s, %(status)s, %(sql)s, %(risk_level)s,
        %(risk_score)s, %(risk_reasons)s, NULL, {started}, {finished})
ON CONFLICT (migration_id, step_index) DO UPDATE SET
    op_kind = excluded.op_kind, status = excluded.status, sql = excluded.sql,
    risk_level = excluded.risk_level, risk_score = excluded.risk_score,
    risk_reasons = excluded.risk_reasons, error = NULL,
    started_at = excluded.started_at, finished_at = excluded.finished_at
"""


def record_step_done(conn: psycopg.Connection, schema: str, row: StepRow) -> None:
    """Write a finished step. Inside the step's transaction, ``now()`` is when the step started."""
    stmt = sql.SQL(_UPSERT_STEP).format(
        s=sql.Identifier(schema), started=sql.SQL("now()"), finished=sql.SQL("clock_timestamp()")
    )
    conn.execute(stmt, {**_params(row), "status": "done"})


def record_step_running(conn: psycopg.Connection, schema: str, row: StepRow) -> None:
    """Write (and, in autocommit, commit) the ``running`` row of a non-transactional step."""
    stmt = sql.SQL(_UPSERT_STEP).format(
        s=sql.Identifier(schema), started=sql.SQL("clock_timestamp()"), finished=sql.SQL("NULL")
    )
    conn.execute(stmt, {**_params(row), "status": "running"})


def finish_step(conn: psycopg.Connection, schema: str, migration_id: str, step_index: int) -> None:
    """Mark a non-transactional step's ``running`` row ``done``."""
    conn.execute(
        _q(
            "UPDATE {s}._zanith_migration_steps SET status = 'done', error = NULL, "
            "finished_at = clock_timestamp() WHERE migration_id = %s AND step_index = %s",
            schema,
        ),
        (migration_id, step_index),
    )


def record_step_failed(conn: psycopg.Connection, schema: str, row: StepRow, error: str, seconds: float) -> None:
    """Write a failed step with its error; call it after the step's own transaction rolled back.

    ``seconds`` is how long the step ran; its start is computed on the server clock, like every other
    timestamp in the ledger, so durations never mix two hosts' clocks.
    """
    conn.execute(
        _q(
            "INSERT INTO {s}._zanith_migration_steps AS st (migration_id, step_index, op_kind, status, sql,"
            " risk_level, risk_score, risk_reasons, error, started_at, finished_at)"
            " VALUES (%(migration_id)s, %(step_index)s, %(op_kind)s, 'failed', %(sql)s, %(risk_level)s,"
            " %(risk_score)s, %(risk_reasons)s, %(error)s,"
            " clock_timestamp() - make_interval(secs => %(seconds)s), clock_timestamp())"
            " ON CONFLICT (migration_id, step_index) DO UPDATE SET status = 'failed', error = excluded.error,"
            " sql = excluded.sql, risk_level = excluded.risk_level, risk_score = excluded.risk_score,"
            " risk_reasons = excluded.risk_reasons,"
            " started_at = CASE WHEN st.status = 'running' THEN st.started_at ELSE excluded.started_at END,"
            " finished_at = excluded.finished_at",
            schema,
        ),
        {**_params(row), "error": error, "seconds": seconds},
    )


HOW = ("applied", "baselined", "adopted")
"""How a migration row came to be (the ``how`` column, ledger v3)."""


def set_step_status(conn: psycopg.Connection, schema: str, migration_id: str, step_index: int, status: str) -> None:
    """Change what a step row says (``zanith resolve``); record an event in the same transaction."""
    if status not in STEP_STATUSES:
        raise ValueError(f"unknown step status {status!r}")
    conn.execute(
        _q("UPDATE {s}._zanith_migration_steps SET status = %s WHERE migration_id = %s AND step_index = %s", schema),
        (status, migration_id, step_index),
    )


def mark_applied(
    conn: psycopg.Connection,
    schema: str,
    migration_id: str,
    checksum: str,
    graph: SchemaGraph | None,
    *,
    how: str = "applied",
) -> None:
    """Record the migration as applied with its ``after`` snapshot (if any); call inside one transaction.

    ``how`` says whether its steps ran (``applied``) or it was recorded without running its SQL
    (``baselined``, ``adopted``); ``applied_by`` is ``current_user``, ``applied_at`` the transaction's time.
    """
    if how not in HOW:
        raise ValueError(f"how must be one of {HOW}, not {how!r}")
    conn.execute(
        _q("INSERT INTO {s}._zanith_migrations (id, checksum, applied_at, how) VALUES (%s, %s, now(), %s)", schema),
        (migration_id, checksum, how),
    )
    if graph is None:
        return
    conn.execute(
        _q(
            "INSERT INTO {s}._zanith_schema_snapshots (migration_id, phase, schema, taken_at)"
            " VALUES (%s, 'after', %s, now())",
            schema,
        ),
        (migration_id, Jsonb(graph.to_dict())),
    )


def _params(row: StepRow) -> dict[str, Any]:
    return {
        "migration_id": row.migration_id,
        "step_index": row.step_index,
        "op_kind": row.op_kind,
        "sql": row.sql,
        "risk_level": row.risk_level,
        "risk_score": row.risk_score,
        "risk_reasons": list(row.risk_reasons) if row.risk_reasons is not None else None,
    }


# -- readers (empty when there is no ledger yet: reading never creates it) -------------------------


def _select(conn: psycopg.Connection, schema: str, text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    schema = located(conn, schema)
    if ledger_version(conn, schema) == 0:
        return []
    with _privileged(conn, schema, "read"), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_q(text, schema), params).fetchall()


def applied_migrations(conn: psycopg.Connection, schema: str) -> tuple[AppliedMigration, ...]:
    """Applied migrations with their checksums, in the order they were applied."""
    # A v1 ledger (not upgraded until the next apply) has neither column: every row there ran its steps.
    v2 = ledger_version(conn, located(conn, schema)) >= 2
    extra = "how, applied_by" if v2 else "'applied' AS how, NULL::text AS applied_by"
    rows = _select(
        conn, schema, f"SELECT id, checksum, applied_at, {extra} FROM {{s}}._zanith_migrations ORDER BY applied_at, id"
    )
    return tuple(AppliedMigration(**r) for r in rows)


_STEP_COLUMNS = (
    "migration_id, step_index, op_kind, status, sql, risk_level, risk_score, risk_reasons, error,"
    " started_at, finished_at"
)


def _step(row: dict[str, Any]) -> StepRecord:
    return StepRecord(**{**row, "risk_reasons": tuple(row["risk_reasons"] or ())})


def steps(conn: psycopg.Connection, schema: str, migration_id: str | None = None) -> tuple[StepRecord, ...]:
    """Step rows of one migration, or of all, in the order they ran."""
    where = "WHERE migration_id = %s" if migration_id is not None else ""
    rows = _select(
        conn,
        schema,
        f"SELECT {_STEP_COLUMNS} FROM {{s}}._zanith_migration_steps {where}"
        " ORDER BY started_at, migration_id, step_index",
        (migration_id,) if migration_id is not None else (),
    )
    return tuple(_step(r) for r in rows)


def failed_step(conn: psycopg.Connection, schema: str) -> StepRecord | None:
    """The step the next apply resumes at: failed, or left ``running`` by a crash (or a live apply)."""
    rows = _select(
        conn,
        schema,
        f"SELECT {_STEP_COLUMNS} FROM {{s}}._zanith_migration_steps st"
        " WHERE status IN ('failed', 'running')"
        " AND NOT EXISTS (SELECT FROM {s}._zanith_migrations m WHERE m.id = st.migration_id)"
        " ORDER BY started_at DESC LIMIT 1",
    )
    return _step(rows[0]) if rows else None


def snapshot(conn: psycopg.Connection, schema: str, migration_id: str) -> SchemaGraph | None:
    """The schema as it was right after ``migration_id`` was applied."""
    rows = _select(
        conn,
        schema,
        "SELECT schema FROM {s}._zanith_schema_snapshots WHERE migration_id = %s AND phase = 'after'",
        (migration_id,),
    )
    return SchemaGraph.from_dict(rows[0]["schema"]) if rows else None


RISK_PROFILE_SQL = """\
SELECT date_trunc('day', st.finished_at) AS day,
       reason,
       count(*) AS steps,
       max(st.risk_score) AS max_score,
       round(avg(st.risk_score), 1)::float8 AS avg_score
FROM {s}._zanith_migration_steps st
CROSS JOIN LATERAL unnest(coalesce(nullif(st.risk_reasons, ARRAY[]::text[]), ARRAY['(none)'])) AS reason
WHERE st.status = 'done'
GROUP BY 1, 2
ORDER BY 1, 4 DESC NULLS LAST, 2"""
"""Scores by reason code over time; docs/audit.md ships the same query (a test runs both)."""


def risk_profile(conn: psycopg.Connection, schema: str) -> tuple[RiskProfileRow, ...]:
    return tuple(RiskProfileRow(**r) for r in _select(conn, schema, RISK_PROFILE_SQL))
