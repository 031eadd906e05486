"""Replay: the schema the project's migrations produce, read from a scratch database.

``zanith generate`` diffs the declared schema against this state by default — not against a live
database — so the next migration continues exactly where the written ones stop, whether or not any of
them was applied anywhere yet. The replay runs every migration (contract phases included: the declared
schema is the end state) through the same runner production uses, on a scratch database of the shadow
server that is always dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..apply.runner import apply_migrations
from ..config import Config
from ..errors import ZanithError
from ..migrations import Migration
from ..read import introspect
from ..schema.graph import SchemaGraph
from ..schema.scope import scope
from ..servers import Server, connect, resolve_server


class ReplayFailed(ZanithError):
    """An existing migration failed while being replayed on a scratch database."""


def replay_migrations(migrations: Sequence[Migration], config: Config, *, server: Server | None = None) -> SchemaGraph:
    """The schema ``migrations`` leave behind, on a scratch database of ``server`` (default: shadow)."""
    server = server or resolve_server(config.shadow_url)
    with server.scratch_database(prefix="zanith_replay") as url:
        result = apply_migrations(url, migrations, config=config, contract=True) if migrations else None
        if result is not None and result.failure is not None:
            raise ReplayFailed(f"replaying the existing migrations failed: {result.failure.message}")
        with connect(url) as conn:
            return introspect(conn, config.schemas, **scope(config))
