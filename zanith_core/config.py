"""Project configuration: ``[tool.zanith]`` in pyproject.toml, ``ZANITH_*`` variables, then flags.

Precedence, strongest first: explicit arguments (CLI flags, pytest options) > environment > pyproject >
defaults. Every key is documented in docs/configuration.md; ``KEYS`` below is the single list, so an
unknown key in pyproject.toml is an error instead of a silently ignored typo.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, InvalidValue

DEFAULT_SCHEMAS: tuple[str, ...] = ("public",)
DEFAULT_MIGRATIONS = "migrations"
MAX_DAYS = 36500
"""A hundred years: the furthest ahead a recovery artifact may expire (``retention_days``, ``recover extend``)."""


@dataclass(frozen=True)
class Config:
    project_dir: Path = field(default_factory=Path.cwd)
    schema: str | None = None
    """The declared schema source: a ``.sql`` file or folder, or ``module:attribute``."""
    migrations: str = DEFAULT_MIGRATIONS
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
    check_risk: bool = True
    """The pytest shadow-verify item observes each step (which turns batching off) and fails when one locks
    or rewrites more than the risk model predicted (``zanith verify --check-risk``)."""
    warm_server: bool = True
    """Commands reuse one embedded server per project (:mod:`zanith_core.warm`), stopped after
    ``server_idle_timeout`` idle seconds or by ``zanith server stop``."""
    server_idle_timeout: float = 900.0
    sample_mask: tuple[str, ...] = ()
    """Columns ``zanith verify --sample-from`` never copies (``schema.table.column`` patterns; see
    :mod:`zanith_core.seed.sample`): filled with synthetic values instead, so personal data stays put."""
    targets: Any = field(default=None, compare=False)
    """A fleet's targets: the ``[tool.zanith.targets]`` table as written, or (from ``ZANITH_TARGETS``)
    the path of a TOML file holding one; read by :mod:`zanith_core.fleet.targets`."""
    cache: bool = True
    """Keep the declared schema's graph in ``.zanith/declared/`` of the project, keyed by a hash of its
    source, the normalising server and zanith's code (:mod:`zanith_core.sources.cache`)."""

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


@dataclass(frozen=True)
class Limits:
    """The numbers a value accepts: finite, within ``low``..``high`` (``low`` itself excluded if ``open_low``)."""

    low: float
    high: float
    integer: bool = True
    open_low: bool = False
    unit: str = ""
    """What the number counts (``seconds``, ``days``), for the message."""

    def check(self, name: str, value: Any, origin: str) -> Any:
        """``value`` as an int (or float), or :class:`InvalidValue` naming ``name`` and ``origin``."""
        number = _number(value, self.integer)
        if number is None or not (self.low < number if self.open_low else self.low <= number) or number > self.high:
            raise InvalidValue(f"{origin}: {name} must be {self.describe()}, not {value!r}")
        return number

    def describe(self) -> str:
        kind = ("a whole number" if self.unit else "an integer") if self.integer else "a number"
        kind += f" of {self.unit}" if self.unit else ""
        if self.open_low:
            return f"{kind} above {self.low:g} and at most {self.high:g}"
        return f"{kind} from {self.low:g} to {self.high:g}"


#: Every numeric setting's accepted range (docs/configuration.md lists them): checked when the config is
#: loaded, whatever the origin, so a CLI flag, a variable and pyproject.toml are refused alike.
LIMITS: dict[str, Limits] = {
    "budget": Limits(0, 100),
    "lock_timeout": Limits(0, 3600, integer=False, open_low=True, unit="seconds"),
    "statement_timeout": Limits(0, 86400, integer=False, unit="seconds"),
    "lock_retries": Limits(0, 100),
    "lock_wait_budget": Limits(0, 86400, integer=False, unit="seconds"),
    "concurrent_timeout": Limits(0, 86400, integer=False, open_low=True, unit="seconds"),
    "server_idle_timeout": Limits(0, 86400, integer=False, open_low=True, unit="seconds"),
    "retention_days": Limits(0, MAX_DAYS, unit="days"),
}
EXTEND_DAYS = Limits(1, MAX_DAYS, unit="days")
"""``zanith recover extend --days``: at least a day, at most :data:`MAX_DAYS`."""
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _number(value: Any, integer: bool) -> float | None:
    """``value`` as a finite number, or None: booleans, NaN, infinities and (for an integer) fractions are
    not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if integer else float(value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or (integer and not number.is_integer()):
        return None
    return int(number) if integer else number


def check_value(key: str, value: Any, origin: str) -> Any:
    """``value`` of setting ``key`` as :class:`Config` holds it, or :class:`InvalidValue` naming ``origin``."""
    if key in ("schemas", "plugins", "ignore", "sample_mask"):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise InvalidValue(f"{origin}: {key} must be a list of names, not {value!r}")
        if key == "schemas" and not value:
            raise InvalidValue(f'{origin}: schemas must name at least one schema the project owns (e.g. ["public"])')
        return tuple(value)
    if key == "targets":
        return value  # a table or a file name: the fleet checks it when a fleet command uses it
    if key in LIMITS:
        return None if key == "budget" and value in (None, "") else LIMITS[key].check(key, value, origin)
    if key in ("privileges", "ignore_column_order", "check_risk", "warm_server", "cache"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
            return value.strip().lower() in _TRUE
        raise InvalidValue(f"{origin}: {key} must be true or false, not {value!r}")
    return None if value is None else str(value)


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder (from ``start`` upwards) whose pyproject.toml has ``[tool.zanith]``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _has_tool_table(folder / "pyproject.toml"):
            return folder
    return here


def is_project(folder: Path) -> bool:
    """Whether ``folder`` holds a zanith project (a pyproject.toml with ``[tool.zanith]``)."""
    return _has_tool_table(folder / "pyproject.toml")


def _has_tool_table(path: Path) -> bool:
    try:
        tool = tomllib.loads(path.read_text()).get("tool", {}) if path.is_file() else {}
    except tomllib.TOMLDecodeError:
        return True  # let load_config report the syntax error with the file name
    return not isinstance(tool, dict) or "zanith" in tool  # a malformed [tool] is reported by load_config too


def _read_tool_table(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get("zanith", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        shown = f"tool = {tool!r}" if table is None else f"tool.zanith = {table!r}"
        raise InvalidValue(f"{path}: {shown}: [tool.zanith] must be a table of settings (a [tool.zanith] section)")
    return dict(table)


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
        values[norm] = check_value(norm, value, str(pyproject))
    for key in KEYS:
        var = f"ZANITH_{key.upper()}"
        if env.get(var):
            values[key] = check_value(key, env[var], var)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = check_value(key, value, f"--{key.replace('_', '-')}")
    return Config(project_dir=folder, **values)
