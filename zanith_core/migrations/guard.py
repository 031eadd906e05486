"""No silent no-ops: refuse to run a project command where the project cannot be what the target holds.

Run from the wrong folder, ``zanith apply`` used to find no migrations, apply nothing and exit 0 against
a database with seven applied migrations: it looked like success. The checks here run before
``apply``, ``plan``, ``status`` and ``verify`` (the CLI calls them; the runner itself stays usable on
any list of migrations):

- :func:`require_project`: a ``pyproject.toml`` with ``[tool.zanith]`` or a migrations folder must be
  there, and the configured migrations folder must exist (a typo in ``migrations`` reads as "no
  migrations"), else :class:`~zanith_core.errors.NotAProject` (exit 6);
- :func:`require_ledger_covered`: every migration the target's ledger has applied must be in the
  project's folder, else :class:`~zanith_core.errors.LedgerAhead` (exit 7), naming each one the project
  does not know. That covers a folder holding fewer migrations than the ledger applied (the wrong
  folder, an empty one), and also the same count with one missing (another branch's migration applied
  to this database): as Flyway's validate, the run stops rather than guess. A migration let go of with
  ``zanith resolve ID --forget`` does not count: its file was deleted on purpose, and the ledger says
  who decided that.
- :func:`require_in_order` (``apply`` only): a migration not applied yet whose id sorts before the
  newest applied one is refused (exit 3) without ``--allow-out-of-order``; ``status`` warns about them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from .. import ledger
from ..config import DEFAULT_MIGRATIONS, Config
from ..errors import LedgerAhead, NotAProject, PlanRefused
from ..ledger.events import forgotten
from ..servers import connect
from .loader import load_migrations
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
    out_of_order: tuple[str, ...] = ()
    """Not applied, yet older than the newest applied migration (a merge from another branch): applying
    them runs them after migrations that were written after them."""

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
    if not config.migrations_dir.is_dir():
        raise NotAProject(_missing_folder(config, "or run `zanith generate` to start one"))


def migrations_to_extend(config: Config) -> tuple[Migration, ...]:
    """The project's migrations, before a new file joins them (generate, new, baseline, adopt).

    The writer creates a missing folder only when it is the default ``migrations``: a new project's
    first migration. A folder the configuration names must exist — a typo there would start a second
    history in a new folder, its first migration re-creating every table.
    """
    if not config.migrations_dir.is_dir() and config.migrations != DEFAULT_MIGRATIONS:
        raise NotAProject(_missing_folder(config, "or create the folder if this project has no migrations yet"))
    return load_migrations(config.migrations_dir)


def _missing_folder(config: Config, advice: str) -> str:
    return (
        f"the migrations folder {config.migrations_dir} does not exist (migrations = {config.migrations!r}); "
        f"fix `migrations` in [tool.zanith] (or ZANITH_MIGRATIONS), {advice}"
    )


def coverage(conn: psycopg.Connection, config: Config, migrations: Sequence[Migration]) -> Coverage:
    """Read the target's ledger (never creating it) and compare it with ``migrations``."""
    gone = forgotten(conn, config.ledger_schema)
    applied = [a.id for a in ledger.applied_migrations(conn, config.ledger_schema) if a.id not in gone]
    ids = {m.id for m in migrations}
    failed = ledger.failed_step(conn, config.ledger_schema)
    orphan = failed.migration_id if failed is not None and failed.migration_id not in ids else None
    newest = max(applied, default="")
    late = tuple(m.id for m in migrations if m.id < newest and m.id not in applied and m.id not in gone)
    return Coverage(len(applied), len(migrations), tuple(mid for mid in applied if mid not in ids), orphan, late)


def require_ledger_covered(found: Coverage, config: Config) -> None:
    if found.ahead:
        raise LedgerAhead(
            f"the target's ledger has {found.applied} applied migrations and {config.migrations_dir} holds "
            f"{found.known}; applied in the database but unknown to this project: {', '.join(found.unknown)}. "
            "Run from the "
            "project that made them (or pass -C DIR), restore their files, or — for a file deleted on "
            "purpose — `zanith resolve ID --forget`"
        )


def require_in_order(found: Coverage, *, allow_out_of_order: bool) -> None:
    """Refuse to apply a migration older than the newest applied one unless told it is independent."""
    if found.out_of_order and not allow_out_of_order:
        raise PlanRefused(
            "not applied yet but older than migrations the target has applied (merged from another branch?): "
            f"{', '.join(found.out_of_order)}; applying them now runs them after newer ones. Check they do not "
            "depend on the order, then `zanith apply --allow-out-of-order` (or give them new ids that sort last)"
        )


def check_target(url: str, config: Config, migrations: Sequence[Migration]) -> Coverage:
    """:func:`require_project`, then :func:`require_ledger_covered` on the target at ``url``."""
    require_project(config)
    with connect(url) as conn:
        found = coverage(conn, config, migrations)
    require_ledger_covered(found, config)
    return found
