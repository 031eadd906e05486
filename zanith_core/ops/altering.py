"""What every op on one existing table shares: its ``table`` field, its target and ``ALTER TABLE``.

Table names are qualified strings (``public.users``); a bare name means ``public``. Nothing here
formats a name into SQL text: identifiers go through :func:`zanith_core.sql.tables.qualified_identifier` and
:class:`psycopg.sql.Identifier`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from psycopg import sql

from ..schema.graph import RESERVED_PREFIX, qualified, split_qualified
from ..schema.naming import MAX_IDENTIFIER_BYTES
from ..sql.identifiers import qualified_identifier
from .base import InvalidOperation, Lock, Operation, Statement


@dataclass(frozen=True)
class TableOperation(Operation):
    """An op on the existing table ``table`` (qualified); most take a brief ACCESS EXCLUSIVE lock."""

    default_lock = Lock.ACCESS_EXCLUSIVE
    table: str

    @property
    def target(self) -> str:
        return qualified(*split_qualified(self.table))

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.target,)

    def alter(self, clause: sql.Composable) -> Statement:
        """``ALTER TABLE <table> <clause>``."""
        return sql.SQL("ALTER TABLE {} {}").format(qualified_identifier(self.table), clause)

    def schema_identifier(self, name: str) -> sql.Identifier:
        """``name`` qualified with this table's schema (indexes, triggers' functions live there)."""
        return sql.Identifier(split_qualified(self.table)[0], name)


@dataclass(frozen=True)
class ColumnOperation(TableOperation):
    """An op on the existing column ``column`` of ``table``."""

    column: str

    @property
    def target(self) -> str:
        return f"{super().target}.{self.column}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (super().target,)

    def alter_column(self, clause: sql.Composable) -> Statement:
        """``ALTER TABLE <table> ALTER COLUMN <column> <clause>``."""
        return self.alter(sql.SQL("ALTER COLUMN {} {}").format(sql.Identifier(self.column), clause))


def check_identifier(field: str, name: str) -> None:
    """Refuse a name PostgreSQL would silently truncate (the graph would then hold another name)."""
    if not name:
        raise InvalidOperation(f"{field} is empty")
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise InvalidOperation(
            f"{field} {name!r} is longer than {MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would truncate it"
        )


def aside_name(name: str, *definition: str) -> str:
    """``_zanith_<8 hex>_<name>``: where a soft drop renames ``name`` to (at most 63 bytes).

    Deterministic — the hex hashes the object's qualified name and definition, never a migration id or
    a clock — so generating the same migration twice gives the same file, while a column dropped,
    re-added with another definition and dropped again gets another name. Introspection hides every
    name with the prefix.
    """
    digest = hashlib.sha256("\0".join((name, *definition)).encode()).hexdigest()[:8]
    bare = name.rsplit(".", 1)[-1]  # the hash covers the qualified name; the suffix is for people
    return clip_identifier(f"{RESERVED_PREFIX}{digest}_{bare}")


def clip_identifier(name: str) -> str:
    """``name`` cut to 63 bytes on a character boundary, so the server keeps it as it is."""
    return name.encode()[:MAX_IDENTIFIER_BYTES].decode(errors="ignore")
