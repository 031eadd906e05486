"""No silent no-ops: refuse to run a project command where the project cannot be what the target holds.

Run from the wrong folder, ``zanith apply`` used to find no migrations, apply nothing and exit 0 against
a database with seven applied migrations: it looked like success. The checks here run before
``apply``, ``plan``, ``status`` and ``verify`` (the CLI calls them; the runner itself stays usable on
any list of migrations):

- :func:`require_project`: a ``pyproject.toml`` with ``[tool.zanith]`` or a migrations folder must be
  there, else :class:`~zanith_core.errors.NotAProject` (exit 6);
- :func:`require_ledger_covered`: every migration the target's ledger has applied must be in the
  project's folder, else :class:`~zanith_core.errors.LedgerAhead` (exit 7), naming each one the project
  does not know. That covers a folder holding fewer migrations than the ledger applied (the wrong
  folder, an empty one), and also the same count with one missing (another branch's migration applied
  to this database): as Flyway's validate, the run stops rather than guess. A migration let go of with
  ``zanith resolve ID --forget`` does not count: its file was deleted on purpose, and the ledger says
  who decided that.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from .. import ledger
from ..config import Config
from ..errors import LedgerAhead, NotAProject
from ..ledger.events import forgotten
from ..servers import connect
from .migration import Migration


@dataclass(frozen=True)
class Coverage:
    """What the target's ledger has applied, set against the project's migrations."""

    applied: int
    """Applied migrations in the ledger, less the forgotten ones."""
    known: int
    """Migrations in the project's folder."""
    unknown: tuple[str, ...]
    """Applied in the database (and not forgotten) but not in the project, in the order applied."""
    orphaned_failure: str | None = None
    """A failed (unfinished) migration whose file the project no longer holds: ``zanith resolve`` settles it."""

    @property
    def ahead(self) -> bool:
        """The ledger has applied something the project does not hold."""
        return bool(self.unknown)


NO_COVERAGE = Coverage(0, 0, ())
"""No ledger compared yet."""


def is_project(config: Config) -> bool:
    """A ``[tool.zanith]`` table in the project folder's pyproject.toml, or a migrations folder there."""
    pyproject = config.project_dir / "pyproject.toml"
    if config.migrations_dir.is_dir():
        return True
    try:
        return pyproject.is_file() and "zanith" in tomllib.loads(pyproject.read_text()).get("tool", {})
    except tomllib.TOMLDecodeError:
        return True  # load_config has already reported a broken file; it is a project, a broken one


def require_project(config: Config) -> None:
    if not is_project(config):
        raise NotAProject(
            f"no zanith project in {config.project_dir}: no pyproject.toml with [tool.zanith] and no "
            f"migrations folder ({config.migrations_dir}); run from the project folder or pass -C DIR"
        )


def coverage(conn: psycopg.Connection, config: Config, migrations: Sequence[Migration]) -> Coverage:
    """Read the target's ledger (never creating it) and compare it with ``migrations``."""
    gone = forgotten(conn, config.ledger_schema)
    applied = [a.id for a in ledger.applied_migrations(conn, config.ledger_schema) if a.id not in gone]
    ids = {m.id for m in migrations}
    failed = ledger.failed_step(conn, config.ledger_schema)
    orphan = failed.migration_id if failed is not None and failed.migration_id not in ids else None
    return Coverage(len(applied), len(migrations), tuple(mid for mid in applied if mid not in ids), orphan)


def require_ledger_covered(found: Coverage, config: Config) -> None:
    if found.ahead:
        raise LedgerAhead(
            f"the target's ledger has {found.applied} applied migrations and {config.migrations_dir} holds "
            f"{found.known}; applied in the database but unknown to this project: {', '.join(found.unknown)}. "
            "Run from the "
            "project that made them (or pass -C DIR), restore their files, or — for a file deleted on "
            "purpose — `zanith resolve ID --forget`"
        )


def check_target(url: str, config: Config, migrations: Sequence[Migration]) -> Coverage:
    """:func:`require_project`, then :func:`require_ledger_covered` on the target at ``url``."""
    require_project(config)
    with connect(url) as conn:
        found = coverage(conn, config, migrations)
    require_ledger_covered(found, config)
    return found
