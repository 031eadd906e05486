"""Project configuration: ``[tool.zanith]`` in pyproject.toml, ``ZANITH_*`` variables, then flags.

Precedence, strongest first: explicit arguments (CLI flags, pytest options) > environment > pyproject >
defaults. Every key is documented in docs/configuration.md; ``KEYS`` below is the single list, so an
unknown key in pyproject.toml is an error instead of a silently ignored typo.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_SCHEMAS: tuple[str, ...] = ("public",)


@dataclass(frozen=True)
class Config:
    project_dir: Path = field(default_factory=Path.cwd)
    schema: str | None = None
    """The declared schema source: a ``.sql`` file or folder, or ``module:attribute``."""
    migrations: str = "migrations"
    """Folder of migration files, relative to the project."""
    database_url: str | None = None
    """The target database (production, staging). Never defaults to anything."""
    shadow_url: str | None = None
    """Server for shadow databases; None = embedded."""
    shadow: str = "auto"
    """``auto`` (shadow_url if set, else embedded), ``embedded``, ``url`` or ``ephemeral``."""
    schemas: tuple[str, ...] = DEFAULT_SCHEMAS
    """Schemas the project owns; introspection and diff look only at these."""
    ledger_schema: str = "zanith"
    """The schema of zanith's ledger tables, created on first apply (docs/audit.md)."""
    recovery_schema: str = "zanith_recovery"
    """The schema of the backups zanith takes before a type change, created on first use (docs/recover.md)."""
    budget: int | None = None
    lock_timeout: float = 0.5
    """Seconds one try of a step may wait in the lock queue before it gives up and is retried."""
    statement_timeout: float = 0.0
    """Seconds a step's statement may run (0 = no limit)."""
    lock_retries: int = 5
    lock_wait_budget: float = 60.0
    """Seconds a step may spend in all waiting for its locks: for blockers to leave, tries and pauses."""
    concurrent_timeout: float = 600.0
    """Seconds a step outside a transaction (``CREATE INDEX CONCURRENTLY``) may wait in all for other
    transactions to end before it gives up."""
    retention_days: int = 7
    plugins: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    baseline: str | None = None
    privileges: bool = False
    ignore_column_order: bool = False
    """Accept the column order ``ALTER TABLE`` reaches (new columns last): verify does not fail on an order
    difference and generate never rebuilds a table to reorder its columns."""

    @property
    def migrations_dir(self) -> Path:
        return (self.project_dir / self.migrations).resolve()

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigError(
                "no target database configured: pass --database-url, set ZANITH_DATABASE_URL, "
                "or set database_url in [tool.zanith]"
            )
        return self.database_url


KEYS: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else object
    for f in dataclasses.fields(Config)
    if f.name != "project_dir"
}


def _coerce(key: str, value: Any, origin: str) -> Any:
    default = Config.__dataclass_fields__[key].default
    try:
        if key in ("schemas", "plugins", "ignore"):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            return tuple(str(v) for v in value)
        if key in ("budget", "lock_retries", "retention_days"):
            return None if value in (None, "") else int(value)
        if key in ("lock_timeout", "statement_timeout", "lock_wait_budget", "concurrent_timeout"):
            return float(value)
        if key in ("privileges", "ignore_column_order"):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        if value is None or isinstance(default, str | type(None)):
            return None if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: invalid value {value!r} for {key}") from None
    return value


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder (from ``start`` upwards) whose pyproject.toml has ``[tool.zanith]``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _has_tool_table(folder / "pyproject.toml"):
            return folder
    return here


def _has_tool_table(path: Path) -> bool:
    try:
        return path.is_file() and "zanith" in tomllib.loads(path.read_text()).get("tool", {})
    except tomllib.TOMLDecodeError:
        return True  # let load_config report the syntax error with the file name


def _read_tool_table(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("zanith", {})
    return dict(table) if isinstance(table, dict) else {}


def load_config(
    project_dir: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the project's configuration. ``overrides`` with value None are ignored."""
    folder = Path(project_dir).resolve() if project_dir else find_project_dir()
    if project_dir and not folder.is_dir():
        raise ConfigError(f"project folder {folder} does not exist")
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    pyproject = folder / "pyproject.toml"
    for key, value in _read_tool_table(pyproject).items():
        norm = key.replace("-", "_")
        if norm not in KEYS:
            raise ConfigError(f"{pyproject}: unknown key {key!r} in [tool.zanith] (known: {', '.join(KEYS)})")
        values[norm] = _coerce(norm, value, str(pyproject))
    for key in KEYS:
        var = f"ZANITH_{key.upper()}"
        if env.get(var):
            values[key] = _coerce(key, env[var], var)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value, f"option {key}")
    return Config(project_dir=folder, **values)
