"""The definition family: create, replace (or alter) and drop of a named definition, comments, grants
and row-level security.

A *definition* is a schema object that is not a table: a function or procedure, an aggregate, a
trigger, a view or materialized view, a domain, a composite type, a standalone sequence, a policy, a
collation, a text search dictionary or configuration, a schema, an extension. Each kind has three
ops — ``create_<kind>``, ``replace_<kind>`` (``alter_`` for domains, composite types, sequences and
text search objects, whose SQL is ``ALTER``; none for a collation, which cannot change in place) and
``drop_<kind>`` — sharing one shape: the op carries the whole definition value (and a replace the
previous one), so each is the other's exact reversal. Create and drop ops also carry the object's
comments (its own, and its columns' or constraints'): Postgres drops them with the object, and the
reversal puts them back.

``set_comment``, ``grant`` / ``revoke`` and ``enable_rls`` / ``disable_rls`` / ``force_rls`` /
``no_force_rls`` complete the family. The SQL of every op is spelled in
:mod:`zanith_core.sql.definitions`; how generate orders them is :mod:`zanith_core.generate.definitions`.

The modules: :mod:`.family` (the shared shape), :mod:`.routines`, :mod:`.relations`, :mod:`.types`,
:mod:`.text` and :mod:`.security`.

``apply_to`` checks what Postgres would refuse — creating what exists, dropping a function a trigger or
an aggregate still uses, a domain or type a column still has, a view another view reads, a schema that
still holds objects — and removes what Postgres removes along with the object (its comments, its
columns' comments, the grants on it).
"""

from .family import FAMILIES, VERBS, Family, attached_comments, comment_text, definition_noun
from .relations import (
    AlterViewOptions,
    CreatePolicy,
    CreateTrigger,
    CreateView,
    DropPolicy,
    DropTrigger,
    DropView,
    ReplacePolicy,
    ReplaceTrigger,
    ReplaceView,
)
from .routines import CreateAggregate, CreateFunction, DropAggregate, DropFunction, ReplaceAggregate, ReplaceFunction
from .security import (
    OPPOSITES,
    CreateExtension,
    CreateSchema,
    DisableRls,
    DropExtension,
    DropSchema,
    EnableRls,
    ForceRls,
    Grant,
    NoForceRls,
    Revoke,
    SetComment,
    UpdateExtension,
)
from .text import (
    AlterTextSearchConfiguration,
    AlterTextSearchDictionary,
    CreateCollation,
    CreateTextSearchConfiguration,
    CreateTextSearchDictionary,
    DropCollation,
    DropTextSearchConfiguration,
    DropTextSearchDictionary,
)
from .types import (
    AlterDomain,
    AlterSequence,
    AlterType,
    CreateDomain,
    CreateSequence,
    CreateType,
    DropDomain,
    DropSequence,
    DropType,
)

#: Every op kind of the definition family (the risk catalog documents them in their own section).
DEFINITION_KINDS: tuple[str, ...] = (
    *(cls.kind for cls in VERBS.values()),
    "alter_view_options",
    "create_schema",
    "drop_schema",
    "create_extension",
    "drop_extension",
    "update_extension",
    "set_comment",
    "grant",
    "revoke",
    *OPPOSITES,
)

__all__ = [
    "DEFINITION_KINDS",
    "FAMILIES",
    "VERBS",
    "AlterDomain",
    "AlterSequence",
    "AlterTextSearchConfiguration",
    "AlterTextSearchDictionary",
    "AlterType",
    "AlterViewOptions",
    "CreateAggregate",
    "CreateCollation",
    "CreateDomain",
    "CreateExtension",
    "CreateFunction",
    "CreatePolicy",
    "CreateSchema",
    "CreateSequence",
    "CreateTextSearchConfiguration",
    "CreateTextSearchDictionary",
    "CreateTrigger",
    "CreateType",
    "CreateView",
    "DisableRls",
    "DropAggregate",
    "DropCollation",
    "DropDomain",
    "DropExtension",
    "DropFunction",
    "DropPolicy",
    "DropSchema",
    "DropSequence",
    "DropTextSearchConfiguration",
    "DropTextSearchDictionary",
    "DropTrigger",
    "DropType",
    "DropView",
    "EnableRls",
    "Family",
    "ForceRls",
    "Grant",
    "NoForceRls",
    "ReplaceAggregate",
    "ReplaceFunction",
    "ReplacePolicy",
    "ReplaceTrigger",
    "ReplaceView",
    "Revoke",
    "SetComment",
    "UpdateExtension",
    "attached_comments",
    "comment_text",
    "definition_noun",
]
