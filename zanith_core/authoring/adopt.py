"""Adopting a database zanith did not make: ``zanith baseline`` and ``zanith adopt``.

Most databases exist before zanith meets them (``create_all``, Alembic, Django, a SQL dump), and most
production databases are sometimes changed by hand. Both are written down the same way: a migration file
that *would* make the change — so a fresh shadow, test or developer database can be built from history —
recorded in the target's ledger as applied, with its snapshot, **without running its SQL** (the database
already has it). The ledger row says so: ``how`` is ``baselined`` or ``adopted``, ``applied_by`` is
``current_user`` and ``applied_at`` the time (ledger v3, docs/audit.md).

- :func:`baseline` starts a history: the migration creates the live schema from an empty database (what
  ``zanith generate --from`` an empty database would write). With ``at`` it records existing migration
  files instead — up to and including ``at`` — after checking that they make exactly the live schema.
- :func:`adopt` continues one: the migration turns the ledger's last snapshot into the live schema.

Each checks, writes and records under the apply lock, so no deploy runs in between; the ledger rows and
the snapshot commit in one transaction, and a file written for a record that then failed is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from .. import ledger
from ..config import Config
from ..diff import Difference, diff, render, without_column_order
from ..errors import AdoptionRefused
from ..generate.renames import RenameHints
from ..ledger.events import record_event
from ..ledger.locks import apply_lock
from ..migrations import Migration, write_migration
from ..migrations.guard import migrations_to_extend
from ..migrations.loader import load_migrations
from ..migrations.replay import replay
from ..read import introspect
from ..schema.graph import SchemaGraph
from ..schema.scope import scope
from ..servers import connect
from ..sources.drift import live_drift
from .scaffold import next_id, project_generate


@dataclass(frozen=True)
class Recorded:
    """What ``zanith baseline`` or ``zanith adopt`` wrote down (``ids`` empty: nothing to record)."""

    how: str
    """``baselined`` or ``adopted`` (the ledger's ``how``)."""
    ids: tuple[str, ...]
    """The migrations recorded as applied, in order; the last one holds the snapshot."""
    path: Path | None
    """The migration file written (None with ``--at``, which records files that exist, or with nothing
    to adopt)."""
    differences: tuple[Difference, ...]
    """What the written migration makes: the live schema from empty (baseline), or the drift (adopt)."""
    applied_by: str | None = None
    applied_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "how": self.how,
            "recorded": list(self.ids),
            "file": str(self.path) if self.path else None,
            "differences": [d.to_dict() for d in self.differences],
            "applied_by": self.applied_by,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
        }


def baseline(config: Config, url: str, *, name: str = "baseline", at: str | None = None) -> Recorded:
    """Adopt the database at ``url``: write its schema as the project's first migration and record it.

    Refused (:class:`AdoptionRefused`, nothing written) when the target's ledger already has migrations
    or the project already has migration files — unless ``at`` names the migration file the live schema
    is at, in which case that file and every earlier one not yet recorded are recorded instead, once a
    replay of them on a scratch database shows they make exactly the live schema.
    """
    existing = migrations_to_extend(config)
    with connect(url) as conn, apply_lock(conn, config.ledger_schema):
        applied = ledger.applied_migrations(conn, config.ledger_schema)
        if at is not None:
            return _baseline_at(conn, config, existing, applied, at)
        if applied:
            raise AdoptionRefused(
                f"the target's ledger already has {len(applied)} migration(s) (last: {applied[-1].id}); "
                "zanith baseline starts a history, it does not restart one: use `zanith adopt` for changes "
                "made by hand, or `zanith baseline --at ID` to record the project's migrations up to ID"
            )
        if existing:
            raise AdoptionRefused(
                f"the project already has {len(existing)} migration file(s) (last: {existing[-1].id}) and the "
                "target has applied none: if the target already has their schema, record them with "
                f"`zanith baseline --at {existing[-1].id}`; otherwise run `zanith apply`"
            )
        empty = replay((), config)[0]
        live = introspect(conn, config.schemas, **scope(config))
        migration = _generated(config, empty, live, next_id(name, existing), name)
        if not migration.operations:
            raise AdoptionRefused(
                f"the target holds nothing in schemas {', '.join(config.schemas)} to baseline "
                "(check `schemas` in [tool.zanith]); with an empty database, just `zanith apply`"
            )
        notes = ["Baseline: the schema this database had when zanith adopted it (`zanith baseline`).", ""]
        return _write_and_record(conn, config, migration, "baselined", _differences(config, empty, live), notes)


def adopt(config: Config, url: str, *, name: str = "adopted", hints: RenameHints | None = None) -> Recorded:
    """Write down what changed by hand since the last recorded migration, and record it as ``adopted``.

    The migration turns the ledger's snapshot after the last applied migration into the live schema; an
    unambiguous rename it detects is taken as a rename (``hints`` settle ambiguous ones, as for generate)
    and a removed object is dropped (not soft-dropped), because it describes what already happened.
    Nothing to adopt returns a :class:`Recorded` with no ids.
    """
    existing = migrations_to_extend(config)
    with connect(url) as conn, apply_lock(conn, config.ledger_schema):
        applied = ledger.applied_migrations(conn, config.ledger_schema)
        if not applied:
            raise AdoptionRefused(
                "the target's ledger has no applied migration to compare with: adopt a database zanith "
                "has never migrated with `zanith baseline`"
            )
        recorded = {a.id for a in applied}
        pending = [m.id for m in existing if m.id not in recorded]
        if pending:
            raise AdoptionRefused(
                f"the project has migrations the target has not applied ({', '.join(pending)}): apply them "
                "first (`zanith apply`), then adopt what is left"
            )
        drift = live_drift(conn, config)
        if drift is None:
            raise AdoptionRefused(
                f"the ledger holds no snapshot after {applied[-1].id} to compare the live schema with; "
                "run `zanith baseline --at` the last migration to record one"
            )
        if not drift.differences:
            return Recorded("adopted", (), None, ())
        migration = _generated(
            config, drift.snapshot, drift.live, next_id(name, existing), name, adopting=True, hints=hints
        )
        notes = [
            f"Adopted: changes made by hand on the target after {drift.since} (`zanith adopt`).",
            "It was recorded as applied there without running; it runs on fresh databases.",
            "",
        ]
        return _write_and_record(conn, config, migration, "adopted", drift.differences, notes)


def _baseline_at(
    conn: psycopg.Connection,
    config: Config,
    existing: Sequence[Migration],
    applied: Sequence[ledger.AppliedMigration],
    at: str,
) -> Recorded:
    ids = [m.id for m in existing]
    if at not in ids:
        raise AdoptionRefused(
            f"--at {at}: no such migration in {config.migrations_dir} (the project has: {', '.join(ids) or 'none'})"
        )
    last = applied[-1].id if applied else None
    if last is not None and at < last:
        raise AdoptionRefused(f"--at {at}: the target's ledger is already past it (last applied: {last})")
    done = {a.id for a in applied}
    upto = [m for m in existing if m.id <= at]
    todo = [m for m in upto if m.id not in done]
    if not todo:
        raise AdoptionRefused(f"--at {at}: every migration up to it is already recorded; nothing to baseline")
    made = replay(upto, config)[0]
    live = introspect(conn, config.schemas, **scope(config))
    differences = _differences(config, made, live)
    if differences:
        raise AdoptionRefused(
            f"--at {at}: the live schema is not what the migrations up to {at} make; nothing recorded. "
            f"From those migrations to the live schema:\n{render(differences)}"
        )
    ledger.ensure_ledger(conn, config.ledger_schema)
    snapshot = introspect(conn, config.schemas)
    with conn.transaction():
        for migration in todo:
            final = migration.id == todo[-1].id
            graph = snapshot if final else None
            ledger.mark_applied(conn, config.ledger_schema, migration.id, migration.checksum, graph, how="baselined")
            record_event(conn, config.ledger_schema, migration.id, "baselined")
        by, when = _who_and_when(conn)
    return Recorded("baselined", tuple(m.id for m in todo), None, (), by, when)


def _generated(
    config: Config,
    current: SchemaGraph,
    wanted: SchemaGraph,
    mid: str,
    name: str,
    *,
    adopting: bool = False,
    hints: RenameHints | None = None,
) -> Migration:
    """What was done by hand is what happened: a drop is a drop, an unambiguous rename a rename."""
    return project_generate(config, current, wanted, hints, mid, name, hard_drop=adopting, accept_detected=adopting)


def _differences(config: Config, before: SchemaGraph, after: SchemaGraph) -> tuple[Difference, ...]:
    found = diff(before, after)
    return without_column_order(found) if config.ignore_column_order else found


def _write_and_record(
    conn: psycopg.Connection,
    config: Config,
    migration: Migration,
    how: str,
    differences: tuple[Difference, ...],
    notes: list[str],
) -> Recorded:
    """Write the file, then record it (as reloaded from the file) applied with a fresh snapshot."""
    path = write_migration(migration, config.migrations_dir, summary=[*notes, *(d.render() for d in differences)])
    try:
        written = next(m for m in load_migrations(config.migrations_dir) if m.id == migration.id)
        ledger.ensure_ledger(conn, config.ledger_schema)
        snapshot = introspect(conn, config.schemas)
        with conn.transaction():
            ledger.mark_applied(conn, config.ledger_schema, written.id, written.checksum, snapshot, how=how)
            record_event(conn, config.ledger_schema, written.id, how, detail={"differences": len(differences)})
            by, when = _who_and_when(conn)
    except BaseException:
        path.unlink(missing_ok=True)  # the file this call wrote: no record, no file
        raise
    return Recorded(how, (written.id,), path, differences, by, when)


def _who_and_when(conn: psycopg.Connection) -> tuple[str, datetime]:
    row = conn.execute("SELECT current_user::text, now()").fetchone()
    assert row is not None
    return row[0], row[1]
