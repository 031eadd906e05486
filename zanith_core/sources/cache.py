"""The declared schema's graph, kept between commands: a declared schema rarely changes between two runs.

Loading declared SQL costs a scratch database, every statement executed, two introspections and the
fixed point (:mod:`.fixed_point`) — seconds on a schema of hundreds of tables, paid by every generate,
plan, verify and ``assert_no_drift``. The graph that comes out is a function of exactly four things,
and the cache key is a hash of all of them:

- the scripts (each one's origin and text) and the options the graph is read with (schemas,
  privileges);
- the server that normalises them: its version, encoding, ``template0``'s collation (the scratch
  database is cloned from it), the extensions it can install and their default versions, and the role
  the load connects as (owners and grants name it);
- the zanith code that vets, runs and reads the SQL (the size and modification time of every module of
  ``zanith_core``: an upgrade, or an edit in a development checkout, starts over);
- the cache's own format, :data:`FORMAT`.

An entry is the graph's JSON, written atomically (a temporary file renamed into place), so concurrent
commands share it safely; an unreadable entry is a miss and is written again. Ignore rules are applied
after the cache (they do not change what the server made). The folder keeps the :data:`KEEP` most recent
entries. What is not in the key cannot be seen: a role or collation created on the server after an entry
was written does not invalidate it — but then the same text loaded the first time was already fine.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConnectionFailed
from ..schema.graph import SchemaGraph
from ..servers import connect
from ..warm import keep_out_of_git

FORMAT = 1
KEEP = 8
"""Entries kept per project: one per declared schema a team switches between (branches), not a history."""

_CODE = Path(__file__).resolve().parents[1]
_IDENTITY = """
SELECT current_setting('server_version_num'), current_setting('server_encoding'), current_user,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       (SELECT datcollate || '/' || datctype FROM pg_database WHERE datname = 'template0'),
       (SELECT string_agg(name || '=' || coalesce(default_version, ''), ',' ORDER BY name)
          FROM pg_available_extensions)
"""


@dataclass(frozen=True)
class GraphCache:
    """Graphs of declared sources, by key, in ``folder`` (``.zanith/declared`` of the project)."""

    folder: Path

    def key(self, texts: Iterable[tuple[str, str]], schemas: Sequence[str], privileges: bool, url: str) -> str:
        """The key of ``texts`` (origin, text pairs) loaded on the server behind ``url`` (see module doc)."""
        digest = hashlib.sha256()
        for part in (FORMAT, _code_stamp(), server_identity(url), list(schemas), privileges, list(texts)):
            digest.update(json.dumps(part).encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def get(self, key: str) -> SchemaGraph | None:
        path = self.folder / f"{key}.json"
        try:
            graph = SchemaGraph.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        os.utime(path)  # most recently used, for pruning
        return graph

    def put(self, key: str, graph: SchemaGraph) -> None:
        """Write the entry, then prune; a folder that cannot be written only means no cache."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            keep_out_of_git(self.folder.parent)
            with tempfile.NamedTemporaryFile("w", dir=self.folder, suffix=".tmp", delete=False) as handle:
                handle.write(graph.to_json())
            os.replace(handle.name, self.folder / f"{key}.json")
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        entries = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in entries[KEEP:]:
            stale.unlink(missing_ok=True)


def server_identity(url: str) -> list[str]:
    """What about the server behind ``url`` changes the graph declared SQL loads into (see module doc)."""
    with connect(url, application_name="zanith cache") as conn:
        row = conn.execute(_IDENTITY).fetchone()
    if row is None:  # pragma: no cover - a SELECT without FROM always returns its row
        raise ConnectionFailed("the server returned no row for its identity")
    return [str(value) for value in row]


def _code_stamp() -> list[tuple[str, int, int]]:
    """Every zanith module's path, size and modification time."""
    stamps = []
    for path in sorted(_CODE.rglob("*.py")):
        info = path.stat()
        stamps.append((str(path.relative_to(_CODE)), info.st_size, info.st_mtime_ns))
    return stamps
