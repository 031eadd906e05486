"""A fleet's targets as data: database URLs, tenant schemas of one database, and a query listing either.

``[tool.zanith.targets]`` in pyproject.toml, or a TOML file given by ``--targets FILE`` (its top level,
or its ``[targets]`` table), holds any of:

.. code-block:: toml

    databases = ["postgresql://deploy@eu-1/app", "postgresql://deploy@us-1/app"]
    url = "${TENANTS_URL}"        # the database tenant schemas (and the query) live in
    schemas = ["acme", "globex"]  # schema-per-tenant: every declared object in each of them
    query = "SELECT schema_name FROM tenants WHERE active"   # rows: schema names or database URLs
    canary = ["acme"]             # the targets applied first (else: --canary)

**Secrets come from the environment, never from the file**: ``${NAME}`` in a URL is replaced by that
variable (unset: an error naming it), and a URL written with a password is refused. A query row holding a
URL is a database target (its password, if any, came from the database, not from the file); any other
row is a schema name of ``url``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..errors import ConfigError
from ..redaction import mask_url
from ..servers import connect

KEYS = ("databases", "url", "schemas", "query", "canary")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Target:
    """One database, or one tenant schema of a database, that the fleet migrates."""

    name: str
    """How the fleet names it: the schema for a tenant schema, else the database URL, password masked."""
    url: str
    schema: str | None = None
    """Schema-per-tenant: the tenant schema (holding the project's objects and its own ledger)."""


@dataclass(frozen=True)
class TargetsSpec:
    """The targets as written (``${NAME}`` unexpanded): what the config holds."""

    databases: tuple[str, ...] = ()
    url: str | None = None
    schemas: tuple[str, ...] = ()
    query: str | None = None
    canary: tuple[str, ...] = ()
    origin: str = "[tool.zanith.targets]"

    @classmethod
    def parse(cls, data: Any, origin: str) -> TargetsSpec:
        """Check a ``[tool.zanith.targets]``-shaped table; a string is a TOML file holding one."""
        if isinstance(data, str):
            return read_targets_file(Path(data))
        if not isinstance(data, Mapping):
            raise ConfigError(f"{origin}: targets must be a table ([tool.zanith.targets]) or a file, not {data!r}")
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise ConfigError(f"{origin}: unknown key {unknown[0]!r} in targets (known: {', '.join(KEYS)})")
        lists = {k: _names(data.get(k, ()), k, origin) for k in ("databases", "schemas", "canary")}
        single = {k: data.get(k) for k in ("url", "query")}
        for key, value in single.items():
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise ConfigError(f"{origin}: targets.{key} must be a non-empty string, not {value!r}")
        spec = cls(lists["databases"], single["url"], lists["schemas"], single["query"], lists["canary"], origin)
        for url in (*spec.databases, *([spec.url] if spec.url else [])):
            _refuse_password(url, origin)
        if (spec.schemas or spec.query) and not spec.url:
            raise ConfigError(f"{origin}: targets.schemas and targets.query need targets.url, the database they are in")
        if not (spec.databases or spec.schemas or spec.query):
            raise ConfigError(f"{origin}: no targets: give databases, schemas or a query")
        return spec


def read_targets_file(path: Path) -> TargetsSpec:
    """A ``--targets FILE``: the keys at its top level, or in its ``[targets]`` table."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"--targets {path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--targets {path}: invalid TOML: {exc}") from None
    table = data.get("targets", data)
    return TargetsSpec.parse(table, str(path))


def _names(value: Any, key: str, origin: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{origin}: targets.{key} must be a list of non-empty strings, not {value!r}")
    return tuple(value)


def _refuse_password(url: str, origin: str) -> None:
    try:
        info = conninfo_to_dict(_VARIABLE.sub("x", url))
    except psycopg.ProgrammingError:  # malformed: connect reports it, with the URL masked
        return
    if info.get("password") and not _VARIABLE.search(str(url)):
        raise ConfigError(
            f"{origin}: {mask_url(url)} holds a password: secrets come from the environment, never from the file "
            "(write ${NAME} for it, or use PGPASSWORD or a .pgpass file)"
        )


def expand(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``${NAME}`` replaced by the environment variable; an unset one is an error naming it."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"targets: ${{{name}}} is not set in the environment")
        return env[name]

    return _VARIABLE.sub(value, text)


def resolve_targets(spec: TargetsSpec, environ: Mapping[str, str] | None = None) -> tuple[Target, ...]:
    """The targets ``spec`` names, the query run: databases first, then schemas, in their order; each once."""
    found: dict[tuple[str, str | None], Target] = {}
    for raw in spec.databases:
        url = expand(raw, environ)
        found.setdefault((url, None), Target(mask_url(url), url))
    base = expand(spec.url, environ) if spec.url else None
    rows: list[str] = []
    if spec.query and base:
        with connect(base) as conn:
            try:
                rows = [str(r[0]) for r in conn.execute(spec.query.encode()).fetchall() if r and r[0] is not None]
            except psycopg.Error as exc:
                raise ConfigError(f"{spec.origin}: targets.query failed: {' '.join(str(exc).split())}") from None
    for row in rows:
        if "://" in row or "=" in row:
            found.setdefault((row, None), Target(mask_url(row), row))
    for schema in (*spec.schemas, *(r for r in rows if "://" not in r and "=" not in r)):
        assert base is not None
        found.setdefault((base, schema), Target(schema, base, schema))
    return tuple(found.values())


def schema_url(url: str, schema: str) -> str:
    """``url`` with the tenant schema (a plain name: :func:`~.tenancy.check_tenant`) as the ``search_path``:
    hand-written SQL naming a table without its schema reaches the tenant's."""
    options = conninfo_to_dict(url).get("options") or ""
    return make_conninfo(url, options=f"{options} -c search_path={schema}".strip())
