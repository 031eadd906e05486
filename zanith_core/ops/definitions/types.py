"""Domains, composite types and standalone sequences: created, altered in place (``ALTER``), dropped."""

from __future__ import annotations

from dataclasses import dataclass

from ...schema.graph import (
    CompositeType,
    Domain,
    Sequence,
)
from ..base import InvalidOperation
from .family import (
    FAMILIES,
    ChangeDefinition,
    CreateDefinition,
    DropDefinition,
)


@dataclass(frozen=True)
class CreateDomain(CreateDefinition):
    kind = "create_domain"
    family = FAMILIES["domain"]
    definition: Domain


@dataclass(frozen=True)
class AlterDomain(ChangeDefinition):
    """``ALTER DOMAIN``: default, NOT NULL and checks (a new validated check scans every column of the
    domain's type; the base type cannot change in place)."""

    kind = "alter_domain"
    family = FAMILIES["domain"]
    definition: Domain
    previous: Domain | None = None

    def validate(self) -> None:
        super().validate()
        assert self.previous is not None
        if (self.previous.base_type, self.previous.collation) != (self.definition.base_type, self.definition.collation):
            raise InvalidOperation(f"alter_domain {self.target}: the base type and collation cannot change in place")


@dataclass(frozen=True)
class DropDomain(DropDefinition):
    kind = "drop_domain"
    family = FAMILIES["domain"]
    definition: Domain


@dataclass(frozen=True)
class CreateType(CreateDefinition):
    """``CREATE TYPE ... AS (...)`` (composite types; enums are ``create_enum``)."""

    kind = "create_type"
    family = FAMILIES["type"]
    definition: CompositeType


@dataclass(frozen=True)
class AlterType(ChangeDefinition):
    """``ALTER TYPE ... ADD / DROP / ALTER ATTRIBUTE`` (Postgres refuses to retype an attribute while a
    column uses the type)."""

    kind = "alter_type"
    family = FAMILIES["type"]
    definition: CompositeType
    previous: CompositeType | None = None


@dataclass(frozen=True)
class DropType(DropDefinition):
    kind = "drop_type"
    family = FAMILIES["type"]
    definition: CompositeType


@dataclass(frozen=True)
class CreateSequence(CreateDefinition):
    """``CREATE SEQUENCE`` of a standalone sequence (a serial column's comes with its column)."""

    kind = "create_sequence"
    family = FAMILIES["sequence"]
    definition: Sequence


@dataclass(frozen=True)
class AlterSequence(ChangeDefinition):
    """``ALTER SEQUENCE``: type, increment, bounds, start, cache, cycle, ownership (never its value)."""

    kind = "alter_sequence"
    family = FAMILIES["sequence"]
    definition: Sequence
    previous: Sequence | None = None


@dataclass(frozen=True)
class DropSequence(DropDefinition):
    kind = "drop_sequence"
    family = FAMILIES["sequence"]
    definition: Sequence
