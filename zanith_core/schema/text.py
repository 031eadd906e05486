"""How text compares and is searched: collations, text search dictionaries and configurations.

Values of the schema graph (:class:`~zanith_core.schema.graph.SchemaGraph` holds them and re-exports
them), kept apart so the graph module stays readable; like every graph value they are frozen and
compare structurally, and their names follow :func:`~zanith_core.schema.graph.qualified`.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter


@dataclass(frozen=True)
class Collation:
    """``CREATE COLLATION``: how text of the columns (domains, attributes) using it sorts and compares."""

    schema: str
    name: str
    provider: str = "libc"
    """``libc``, ``icu`` or ``builtin`` (PostgreSQL 17+)."""
    locale: str | None = None
    """The ICU (or builtin) locale: ``und-u-ks-level2``; None for libc."""
    lc_collate: str | None = None
    """libc's ``LC_COLLATE`` and ``LC_CTYPE`` (``de_DE.utf8``); None for ICU."""
    lc_ctype: str | None = None
    deterministic: bool = True
    rules: str | None = None
    """ICU tailoring rules (PostgreSQL 16+)."""

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class TextSearchDictionary:
    """``CREATE TEXT SEARCH DICTIONARY``: a template (``pg_catalog.snowball``) and its options."""

    schema: str
    name: str
    template: str
    """Qualified template: ``pg_catalog.simple``, ``pg_catalog.snowball``, ``pg_catalog.ispell``."""
    options: str | None = None
    """``dictinitoption`` as Postgres stores it: ``language = 'english', stopwords = 'english'``."""

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class TextSearchMapping:
    """The dictionaries one token type of a configuration is looked up in, in order."""

    token_type: str
    dictionaries: tuple[str, ...]
    """Qualified dictionaries, as ``regdictionary`` prints them: ``pg_catalog.english_stem``."""


@dataclass(frozen=True)
class TextSearchConfiguration:
    """``CREATE TEXT SEARCH CONFIGURATION``: a parser and, per token type, the dictionaries to consult."""

    schema: str
    name: str
    parser: str = 'pg_catalog."default"'
    """Qualified parser as ``pg_dump`` prints it."""
    mappings: tuple[TextSearchMapping, ...] = ()
    """By token type name."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mappings", tuple(sorted(self.mappings, key=attrgetter("token_type"))))

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


__all__ = [
    "Collation",
    "TextSearchConfiguration",
    "TextSearchDictionary",
    "TextSearchMapping",
]
