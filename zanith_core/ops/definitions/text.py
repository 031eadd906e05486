"""How text compares and is searched: collations, text search dictionaries and configurations.

A collation cannot change in place (``ALTER COLLATION`` only renames or refreshes its version): generate
drops and creates it when nothing uses it, and refuses otherwise. A dictionary's options and a
configuration's mappings change in place (``ALTER TEXT SEARCH ...``); their template or parser does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...schema.graph import Collation, TextSearchConfiguration, TextSearchDictionary
from .family import FAMILIES, ChangeDefinition, CreateDefinition, DropDefinition


@dataclass(frozen=True)
class CreateCollation(CreateDefinition):
    """``CREATE COLLATION`` (libc, ICU or builtin), before the columns that use it."""

    kind = "create_collation"
    family = FAMILIES["collation"]
    definition: Collation


@dataclass(frozen=True)
class DropCollation(DropDefinition):
    """``DROP COLLATION`` once no column, domain or type uses it."""

    kind = "drop_collation"
    family = FAMILIES["collation"]
    definition: Collation


@dataclass(frozen=True)
class CreateTextSearchDictionary(CreateDefinition):
    kind = "create_text_search_dictionary"
    family = FAMILIES["text_search_dictionary"]
    definition: TextSearchDictionary


@dataclass(frozen=True)
class AlterTextSearchDictionary(ChangeDefinition):
    """``ALTER TEXT SEARCH DICTIONARY ... (options)``: same template, new options."""

    kind = "alter_text_search_dictionary"
    family = FAMILIES["text_search_dictionary"]
    definition: TextSearchDictionary
    previous: TextSearchDictionary | None = None


@dataclass(frozen=True)
class DropTextSearchDictionary(DropDefinition):
    kind = "drop_text_search_dictionary"
    family = FAMILIES["text_search_dictionary"]
    definition: TextSearchDictionary


@dataclass(frozen=True)
class CreateTextSearchConfiguration(CreateDefinition):
    """``CREATE TEXT SEARCH CONFIGURATION ... (PARSER = ...)`` and one ``ADD MAPPING`` per token type."""

    kind = "create_text_search_configuration"
    family = FAMILIES["text_search_configuration"]
    definition: TextSearchConfiguration


@dataclass(frozen=True)
class AlterTextSearchConfiguration(ChangeDefinition):
    """``ALTER TEXT SEARCH CONFIGURATION ... ADD / ALTER / DROP MAPPING``: same parser, new mappings."""

    kind = "alter_text_search_configuration"
    family = FAMILIES["text_search_configuration"]
    definition: TextSearchConfiguration
    previous: TextSearchConfiguration | None = None


@dataclass(frozen=True)
class DropTextSearchConfiguration(DropDefinition):
    kind = "drop_text_search_configuration"
    family = FAMILIES["text_search_configuration"]
    definition: TextSearchConfiguration


__all__ = [
    "AlterTextSearchConfiguration",
    "AlterTextSearchDictionary",
    "CreateCollation",
    "CreateTextSearchConfiguration",
    "CreateTextSearchDictionary",
    "DropCollation",
    "DropTextSearchConfiguration",
    "DropTextSearchDictionary",
]
