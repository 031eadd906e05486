"""Drift: the differences between a declared schema and what a database (or another source) holds.

The CLI's ``zanith diff`` and pytest's ``assert_no_drift`` are both a few lines over these functions.
:func:`live_drift` is the other kind: what changed in a database *since zanith last recorded it* (the
ledger's snapshot after the last applied migration) — a hot-fix by hand, which ``zanith status`` warns
about and ``zanith adopt`` writes down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from .. import ledger
from ..config import Config
from ..diff import Difference, diff, without_column_order
from ..parallel import both
from ..read import introspect
from ..schema.graph import SchemaGraph
from ..schema.scope import scope, scoped
from ..servers import connect, resolve_server
from . import load_declared


def load_pair(source: Any, target: Any, config: Config) -> tuple[SchemaGraph, SchemaGraph]:
    """Load two schema sources with the project's settings; scratch work runs on the shadow server."""
    server = None if _is_live(source) and _is_live(target) else resolve_server(config.shadow_url)

    return both(
        lambda: load_declared(source, config, server=server), lambda: load_declared(target, config, server=server)
    )


def drift(declared: Any, database: str | psycopg.Connection, config: Config) -> tuple[Difference, ...]:
    """Differences from the live ``database`` to the ``declared`` schema (empty = no drift)."""
    if isinstance(database, str):
        with connect(database) as conn:
            live = introspect(conn, config.schemas, **scope(config))
    else:
        live = introspect(database, config.schemas, **scope(config))
    wanted = load_declared(
        declared, config, server=None if isinstance(declared, SchemaGraph) else resolve_server(config.shadow_url)
    )
    differences = diff(live, wanted)
    return without_column_order(differences) if config.ignore_column_order else differences


def _is_live(source: Any) -> bool:
    return isinstance(source, SchemaGraph) or (
        isinstance(source, str) and source.startswith(("postgres://", "postgresql://"))
    )


@dataclass(frozen=True)
class LiveDrift:
    """The live schema against the ledger's snapshot after ``since`` (the last applied migration)."""

    since: str
    snapshot: SchemaGraph
    """The snapshot, as the project sees it (ignore rules applied)."""
    live: SchemaGraph
    """The live schema, as the project sees it."""
    differences: tuple[Difference, ...]
    """From the snapshot to the live schema; empty when nobody changed the database by hand."""

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since, "differences": [d.to_dict() for d in self.differences]}


def live_drift(conn: psycopg.Connection, config: Config) -> LiveDrift | None:
    """What changed in the database behind ``conn`` since the last migration zanith recorded there.

    None when there is nothing to compare with: no ledger, nothing applied, or the last applied migration
    has no snapshot. Both sides are read with the project's schemas and ignore rules, so an ignored table
    (``alembic_version``) is never drift; privileges are not compared (snapshots do not hold them).
    """
    applied = ledger.applied_migrations(conn, config.ledger_schema)
    if not applied:
        return None
    since = applied[-1].id
    taken = ledger.snapshot(conn, config.ledger_schema, since)
    if taken is None:
        return None
    # Snapshots are taken without privileges (the runner's ``introspect``), so the live side is read the
    # same way: a grant is never drift here, whatever ``privileges`` says.
    before = scoped(taken, config.ignore)
    live = introspect(conn, config.schemas, ignore=config.ignore)
    differences = diff(before, live)
    if config.ignore_column_order:
        differences = without_column_order(differences)
    return LiveDrift(since, before, live, differences)
