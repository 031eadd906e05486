"""Schema-per-tenant: the project's migrations and settings moved from its schema into a tenant's.

A schema-per-tenant project declares its objects in one schema (its only entry in ``schemas``, usually
``public``); each tenant schema holds all of them, and its own ledger. zanith's operations name every
object schema-qualified (``public.users``, ``nextval('public.users_id_seq'::regclass)``, a view's
``FROM public.orders``), so a tenant's migrations are the project's with that qualifier replaced
everywhere in the operations' text — as a qualifier only: ``public.`` preceded by a name character, a
quote or a dot is left alone. Hand-written SQL that names tables without a schema reaches the tenant's
through the session's ``search_path`` (:func:`~.targets.schema_url`). Migration checksums are those of the
moved SQL: each tenant's ledger holds its own, and every fleet command compares like with like.

A literal that happens to contain ``public.`` followed by a name (a default of ``'public.example'``) is
moved too: a tenant schema project should not keep such text in its DDL.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ..migrations import Migration
from .targets import Target, schema_url


def home_schema(config: Config) -> str:
    """The one schema a schema-per-tenant project declares its objects in."""
    if len(config.schemas) != 1:
        raise ConfigError(
            f"schema-per-tenant targets need the project's objects in one schema (schemas = {list(config.schemas)}): "
            "each tenant schema receives all of them"
        )
    return config.schemas[0]


PLAIN = re.compile(r"[a-z_][a-z0-9_$]{0,62}")
"""A tenant schema name that reads the same quoted or not: the only kind a tenant's migrations are moved
into, since zanith writes a table's name unquoted in some places (``acme.users``) and as SQL in others."""


def check_tenant(schema: str) -> None:
    if not PLAIN.fullmatch(schema):
        raise ConfigError(
            f"tenant schema {schema!r}: schema-per-tenant takes plain names (lower-case letters, digits, _ and $, "
            "not starting with a digit, at most 63 bytes), which read the same quoted or not; rename the schema"
        )


def target_config(config: Config, target: Target) -> Config:
    """The project's settings aimed at ``target``: its URL, and for a tenant schema, that schema as the
    project's only schema and as the home of its ledger and recovery backups."""
    if target.schema is None:
        return dataclasses.replace(config, database_url=target.url)
    check_tenant(target.schema)
    return dataclasses.replace(
        config,
        database_url=schema_url(target.url, target.schema),
        schemas=(target.schema,),
        ledger_schema=target.schema,
        recovery_schema=target.schema,
    )


def target_migrations(config: Config, target: Target, migrations: Sequence[Migration]) -> tuple[Migration, ...]:
    """The project's migrations as they run on ``target`` (moved into its schema, for a tenant)."""
    if target.schema is None:
        return tuple(migrations)
    check_tenant(target.schema)
    home = home_schema(config)
    if target.schema == home:
        return tuple(migrations)
    return tuple(_moved(m, _Mover(home, target.schema)) for m in migrations)


class _Mover:
    def __init__(self, home: str, tenant: str) -> None:
        quoted = re.escape('"' + home.replace('"', '""') + '"')
        plain = re.escape(home)
        self.pattern = re.compile(rf'(?:(?<![\w$.]){quoted}|(?<![\w$".]){plain})(?=\.)')
        self.home = home
        self.tenant = tenant
        self.replacement = (
            tenant if re.fullmatch(r"[a-z_][a-z0-9_$]*", tenant) else '"' + tenant.replace('"', '""') + '"'
        )

    def text(self, value: str, field_name: str) -> str:
        if field_name == "schema" and value == self.home:
            return self.tenant
        return self.pattern.sub(lambda _: self.replacement, value)


def _moved(value: Any, mover: _Mover, field_name: str = "") -> Any:
    if isinstance(value, str):
        return mover.text(value, field_name)
    if isinstance(value, tuple):
        return tuple(_moved(v, mover, field_name) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _moved(getattr(value, f.name), mover, f.name)
            for f in dataclasses.fields(value)
            if f.init and f.name != "path"
        }
        return dataclasses.replace(value, **changes)
    return value
