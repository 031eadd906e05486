"""Types a schema defines besides enums: domains (a base type with a default, NOT NULL and checks) and
composite types.

Values of the schema graph (:class:`~zanith_core.schema.graph.SchemaGraph` holds them and re-exports
them), kept apart so the graph module stays readable; like every graph value they are frozen and
compare structurally.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter


@dataclass(frozen=True)
class DomainCheck:
    name: str
    expression: str
    """The body inside ``CHECK (...)``: ``(VALUE >= 0)``."""
    validated: bool = True


@dataclass(frozen=True)
class Domain:
    schema: str
    name: str
    base_type: str
    default: str | None = None
    not_null: bool = False
    collation: str | None = None
    checks: tuple[DomainCheck, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(sorted(self.checks, key=attrgetter("name"))))

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Attribute:
    """One attribute of a composite type."""

    name: str
    type: str
    collation: str | None = None


@dataclass(frozen=True)
class CompositeType:
    """``CREATE TYPE ... AS (...)``; attributes keep their physical order."""

    schema: str
    name: str
    attributes: tuple[Attribute, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"
