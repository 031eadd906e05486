"""SchemaGraph: the one immutable, canonical model of a PostgreSQL schema.

Every value is a frozen dataclass holding tuples, so graphs compare and hash structurally. Text that
Postgres can print for us (types, defaults, predicates, constraint bodies, view definitions) is stored
exactly as Postgres prints it, which is what makes a declared schema and a live database comparable
without alias tables: both went through the same server.

Canonical order: objects are sorted by name everywhere except columns, which keep their physical order
(``attnum``): it is part of a table's shape (``SELECT *``, ``INSERT`` without a column list), so
equality and the diff (a ``column_order`` difference of its own) both compare it.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from operator import attrgetter
from typing import Any

from .codec import decode, encode
from .security import Policy, Privilege
from .text import Collation, TextSearchConfiguration, TextSearchDictionary, TextSearchMapping
from .types import Attribute, CompositeType, Domain, DomainCheck

FORMAT = "zanith.schema"
FORMAT_VERSION = 1

#: Prefix of everything zanith owns inside a user schema: ledger tables and soft-dropped objects.
#: Introspection never reports these as part of the user's schema.
RESERVED_PREFIX = "_zanith_"


_ASIDE = re.compile(r"^_zanith_[0-9a-f]{8}_(.+)$")


def parked_name(physical: str | None) -> str | None:
    """The name a soft-dropped object had, from its aside name ``_zanith_<8 hex>_<name>``; None for any
    other name (the ledger's tables, backups, everything not soft-dropped)."""
    found = _ASIDE.match(physical or "")
    return found.group(1) if found else None


def qualified(schema: str, name: str) -> str:
    """Render ``schema.name`` for humans (diff lines, plan targets); SQL always goes through psycopg."""
    return f"{schema}.{name}"


def split_qualified(name: str, default_schema: str = "public") -> tuple[str, str]:
    """Split ``schema.table`` (or a bare ``table``, meaning ``default_schema``)."""
    schema, dot, rest = name.partition(".")
    return (schema, rest) if dot else (default_schema, schema)


@dataclass(frozen=True)
class IdentityOptions:
    """The sequence behind an identity column, kept only when it differs from what a bare
    ``GENERATED ... AS IDENTITY`` gives (see :mod:`zanith_core.schema.identity`)."""

    sequence: str
    """Qualified name of the identity sequence (``public.tickets_id_seq``)."""
    start: int
    increment: int
    min_value: int
    max_value: int
    cache: int = 1
    cycle: bool = False


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """Canonical type text from ``format_type`` (``character varying(100)``, ``public.mood``)."""
    nullable: bool = True
    default: str | None = None
    """Default expression from ``pg_get_expr`` (``nextval('users_id_seq'::regclass)``)."""
    identity: str | None = None
    """``always`` or ``by default`` for identity columns."""
    generated: str | None = None
    """Expression of a ``GENERATED ALWAYS AS (...) STORED`` column."""
    collation: str | None = None
    """Only when it differs from the type's default collation."""
    identity_options: IdentityOptions | None = None
    """The identity sequence's name and options; None when they are the ones Postgres picks itself."""


@dataclass(frozen=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]
    options: tuple[str, ...] = ()
    """Storage parameters of the key's index (``reloptions``): ``fillfactor=90``."""


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    """Key elements as Postgres prints them: ``email``, ``lower(name) DESC``, ``tags gin_trgm_ops``."""
    unique: bool = False
    method: str = "btree"
    predicate: str | None = None
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    columns: tuple[str, ...] = ()
    """Every column the index depends on (keys, expressions, predicate, INCLUDE), sorted."""
    options: tuple[str, ...] = ()
    """Storage parameters (``reloptions``) in the catalog's order: ``fillfactor=70``."""


@dataclass(frozen=True)
class PartitionIndex:
    """One partition's part of an index built on a partitioned table piece by piece (``add_index``)."""

    partition: str
    """Qualified partition."""
    name: str
    """Its index, named as PostgreSQL names the one it creates itself (``payment_p2022_01_customer_id_idx``)."""
    attach_to: str
    """The qualified index it is attached to: the parent table's, or a sub-partitioned partition's."""
    partitioned: bool = False
    """The partition is partitioned itself: its index is created ``ON ONLY`` it, not concurrently."""


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    """Qualified ``schema.table``."""
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    match: str = "SIMPLE"
    deferrable: bool = False
    initially_deferred: bool = False
    validated: bool = True


@dataclass(frozen=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    options: tuple[str, ...] = ()
    """Storage parameters of the constraint's index (``reloptions``)."""


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    expression: str
    """The body as ``pg_get_constraintdef`` prints it, without ``CHECK``: ``(price > 0)``."""
    validated: bool = True
    no_inherit: bool = False
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExclusionConstraint:
    name: str
    definition: str
    """``pg_get_constraintdef`` text: ``EXCLUDE USING gist (room WITH =, during WITH &&)``."""
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    indexes: tuple[Index, ...] = ()
    """Indexes that do not back a constraint (those belong to the constraint)."""
    foreign_keys: tuple[ForeignKey, ...] = ()
    uniques: tuple[UniqueConstraint, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    exclusions: tuple[ExclusionConstraint, ...] = ()
    unlogged: bool = False
    partition_by: str | None = None
    """``pg_get_partkeydef`` of a partitioned parent: ``RANGE (created_at)``."""
    partition_of: str | None = None
    """Qualified parent of a partition."""
    partition_bound: str | None = None
    """``FOR VALUES FROM (...) TO (...)`` / ``DEFAULT``."""
    inherits: tuple[str, ...] = ()
    """Qualified parents of a table created ``INHERITS (...)``, in order (not a partition's parent).

    A child's (and a partition's) ``columns`` are only its own (``attislocal``): what it inherits is its
    parents', so it is neither created twice nor reported as the child's drift."""
    rls_enabled: bool = False
    """``ALTER TABLE ... ENABLE ROW LEVEL SECURITY``: without a policy, nobody but the owner sees a row."""
    rls_forced: bool = False
    """``FORCE ROW LEVEL SECURITY``: the policies apply to the table's owner too."""
    options: tuple[str, ...] = ()
    """Storage parameters (``reloptions``) in the catalog's order: ``fillfactor=80``,
    ``autovacuum_enabled=false``, ``toast.autovacuum_enabled=false``."""

    def __post_init__(self) -> None:
        for name in ("indexes", "foreign_keys", "uniques", "checks", "exclusions"):
            object.__setattr__(self, name, tuple(sorted(getattr(self, name), key=attrgetter("name"))))

    @property
    def qualified_name(self) -> str:
        return qualified(self.schema, self.name)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @cached_property
    def identity_columns(self) -> tuple[Column, ...]:
        """The identity columns, in order (asked for every table whenever a relation name is checked)."""
        return tuple(c for c in self.columns if c.identity is not None)

    @cached_property
    def relation_names(self) -> frozenset[str]:
        """Names the table takes in its schema's relation namespace, identity sequences aside: its own,
        its indexes', and those of its constraints that own an index of the same name (primary key,
        uniques, exclusions). Kept with the table: a graph changed by one op shares the others."""
        pk = (self.primary_key.name,) if self.primary_key else ()
        owned = (*(i.name for i in self.indexes), *(u.name for u in self.uniques), *(x.name for x in self.exclusions))
        return frozenset((self.name, *pk, *owned))


@dataclass(frozen=True)
class Enum:
    schema: str
    name: str
    values: tuple[str, ...]

    @property
    def qualified_name(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Sequence:
    schema: str
    name: str
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    cache: int = 1
    cycle: bool = False
    owned_by: str | None = None
    """``schema.table.column`` of the owning column (serial), or None."""

    @property
    def qualified_name(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class View:
    schema: str
    name: str
    definition: str
    """``pg_get_viewdef`` text."""
    materialized: bool = False
    indexes: tuple[Index, ...] = ()
    """A materialized view's indexes, by name (a plain view has none)."""
    options: tuple[str, ...] = ()
    """Storage parameters and view options (``reloptions``) in the order Postgres stores (and ``pg_dump``
    prints) them: ``fillfactor=70`` of a materialized view, ``security_barrier=true``,
    ``check_option=local``, ``security_invoker=true`` of a view."""

    @property
    def qualified_name(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class Extension:
    name: str
    schema: str = "public"
    version: str | None = None
    """The installed version when it is not the server's default one (``CREATE EXTENSION ... VERSION``),
    else None: a schema declaring ``CREATE EXTENSION citext`` wants whatever the server ships."""
    updates: tuple[str, ...] = field(default=(), compare=False)
    """The versions ``ALTER EXTENSION ... UPDATE TO`` reaches from the installed one on this server
    (``pg_extension_update_paths``); a property of the server's packages, not of the schema."""


# -- definitions: what a schema holds besides tables (see zanith_core.read.definitions) ----------


@dataclass(frozen=True)
class Function:
    """A function or procedure; its identity is ``schema.name(argument types)``.

    ``definition`` is ``pg_get_functiondef``: the one text that recreates it exactly (it is what
    :mod:`zanith_core.sql.definitions` executes). The other attributes are read from the same catalog row so
    a diff can say *what* changed (``volatility volatile → stable``) instead of quoting two definitions.
    """

    schema: str
    name: str
    arguments: str = ""
    """Argument types only, the identity (``oidvectortypes``): ``text, integer``."""
    kind: str = "function"
    """``function`` (including window functions) or ``procedure``."""
    parameters: str = ""
    """``pg_get_function_arguments``: modes, names and defaults (``value text, n integer DEFAULT 1``)."""
    returns: str | None = None
    """``pg_get_function_result`` (``SETOF app.tickets``, ``trigger``); None for a procedure."""
    language: str = "sql"
    volatility: str = "volatile"
    """``immutable``, ``stable`` or ``volatile``."""
    strict: bool = False
    security_definer: bool = False
    body: str = ""
    """``prosrc``: the source between the dollar quotes (empty for a SQL-standard ``BEGIN ATOMIC`` body,
    which ``definition`` holds)."""
    definition: str = ""

    @property
    def identity(self) -> str:
        return f"{qualified(self.schema, self.name)}({self.arguments})"


@dataclass(frozen=True)
class Aggregate:
    """An aggregate function; its identity is ``schema.name(argument types)`` like a function's."""

    schema: str
    name: str
    arguments: str = ""
    parameters: str = ""
    """``pg_get_function_arguments`` (what ``CREATE AGGREGATE name (...)`` takes)."""
    state_function: str = ""
    """``SFUNC`` as ``regproc`` prints it (``app.sum_positive_state``)."""
    state_type: str = ""
    final_function: str | None = None
    final_function_extra: bool = False
    combine_function: str | None = None
    serial_function: str | None = None
    deserial_function: str | None = None
    initial_value: str | None = None
    sort_operator: str | None = None
    parallel: str = "unsafe"
    """``safe``, ``restricted`` or ``unsafe``."""
    kind: str = "normal"
    """``normal``, ``ordered-set`` or ``hypothetical``."""

    @property
    def identity(self) -> str:
        return f"{qualified(self.schema, self.name)}({self.arguments})"


@dataclass(frozen=True)
class Trigger:
    """A trigger on a table or view (not the internal ones behind foreign keys, nor partitions' clones)."""

    table: str
    """Qualified table (or view) the trigger is on."""
    name: str
    definition: str
    """``pg_get_triggerdef``: recreates it exactly (the fields below are parsed from the same row)."""
    timing: str = "AFTER"
    """``BEFORE``, ``AFTER`` or ``INSTEAD OF``."""
    events: tuple[str, ...] = ()
    """Among ``INSERT``, ``UPDATE``, ``DELETE``, ``TRUNCATE``, in that order."""
    level: str = "ROW"
    """``ROW`` or ``STATEMENT``."""
    columns: tuple[str, ...] = ()
    """``UPDATE OF`` columns."""
    when: str | None = None
    """The ``WHEN`` condition as Postgres prints it, without the outer parentheses' keyword."""
    function: str = ""
    """The trigger function's identity: ``app.touch_updated_at()``."""
    constraint: bool = False
    """A ``CONSTRAINT TRIGGER`` (it cannot be replaced in place, only dropped and created)."""
    enabled: str = "origin"
    """``origin`` (the default), ``disabled``, ``replica`` or ``always`` (``ALTER TABLE ... ENABLE``)."""

    @property
    def identity(self) -> str:
        return f"{self.table}.{self.name}"


@dataclass(frozen=True)
class Comment:
    """``COMMENT ON <object_type> <names> IS <text>``.

    ``names`` is the object's path (``("app", "tickets")``, ``("app", "tickets", "state")`` for a column,
    ``("app", "tickets", "tickets_touch")`` for a trigger, policy or constraint) and ``arguments`` the
    argument types of a function, procedure or aggregate. Object types: ``schema``, ``table``, ``column``,
    ``view``, ``materialized view``, ``sequence``, ``index``, ``type``, ``domain``, ``enum``, ``function``,
    ``procedure``, ``aggregate``, ``trigger``, ``policy``, ``constraint``.
    """

    object_type: str
    names: tuple[str, ...]
    arguments: str | None = None
    text: str = ""

    @property
    def identity(self) -> str:
        args = f"({self.arguments})" if self.arguments is not None else ""
        return f"{self.object_type} {'.'.join(self.names)}{args}"


@dataclass(frozen=True)
class Dependency:
    """``dependent`` needs ``referenced`` (from ``pg_depend`` and ``pg_rewrite``); both are object keys.

    An object key is ``"<kind> <identity>"``: ``table app.tickets``, ``column app.tickets.state``,
    ``view app.open_tickets`` (views and materialized views), ``function app.slugify(text)`` (procedures
    too), ``aggregate ...``, ``trigger app.tickets.tickets_touch``, ``policy app.tickets.tenant``,
    ``domain app.email``, ``type app.address``, ``enum app.priority``, ``sequence app.seq``,
    ``constraint app.tickets.tickets_ref_key``, ``index app.tickets_open_idx``.
    """

    dependent: str
    referenced: str


@dataclass(frozen=True)
class Parked:
    """A soft-dropped column or table: renamed aside with its data, hidden from the schema, kept until
    purged (``zanith recover``)."""

    kind: str  # ``column`` or ``table``
    table: str  # qualified: the column's table, or the soft-dropped table's own name before it went aside
    name: str  # the name it had (bare)
    physical_name: str  # its aside name (bare): ``_zanith_1a2b3c4d_email``


@dataclass(frozen=True)
class SchemaGraph:
    schemas: tuple[str, ...] = ("public",)
    extensions: tuple[Extension, ...] = ()
    enums: tuple[Enum, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    functions: tuple[Function, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    domains: tuple[Domain, ...] = ()
    composite_types: tuple[CompositeType, ...] = ()
    policies: tuple[Policy, ...] = ()
    comments: tuple[Comment, ...] = ()
    privileges: tuple[Privilege, ...] = ()
    collations: tuple[Collation, ...] = ()
    text_search_dictionaries: tuple[TextSearchDictionary, ...] = ()
    text_search_configurations: tuple[TextSearchConfiguration, ...] = ()
    dependencies: tuple[Dependency, ...] = field(default=(), compare=False)
    """What needs what, as Postgres recorded it. Derived from the objects above, so it takes no part in
    equality: an ``apply_to`` result without them equals the introspected graph with them."""
    parked: tuple[Parked, ...] = field(default=(), compare=False)
    """Soft-dropped columns and tables introspection found. Not part of the schema (nor of equality):
    ``diff.parked`` reports them, so ``zanith diff`` and verify show them rather than hide them."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "schemas", tuple(sorted(set(self.schemas))))
        object.__setattr__(self, "extensions", tuple(sorted(self.extensions, key=lambda e: e.name)))
        for name in ("enums", "sequences", "tables", "views", "domains", "composite_types", "collations",
                     "text_search_dictionaries", "text_search_configurations"):
            items = getattr(self, name)
            object.__setattr__(self, name, tuple(sorted(items, key=_by_schema_and_name)))
        for name in ("functions", "aggregates"):
            items = getattr(self, name)
            object.__setattr__(self, name, tuple(sorted(items, key=_by_schema_name_and_arguments)))
        for name in ("triggers", "policies"):
            object.__setattr__(self, name, tuple(sorted(getattr(self, name), key=_by_table_and_name)))
        for name in ("comments", "privileges"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)), key=_attached_order)))
        dependencies = sorted(set(self.dependencies), key=attrgetter("dependent", "referenced"))
        object.__setattr__(self, "dependencies", tuple(dependencies))
        object.__setattr__(self, "parked", tuple(sorted(set(self.parked), key=attrgetter("table", "kind", "name"))))

    # -- lookups -------------------------------------------------------------------------------

    @cached_property
    def _tables(self) -> dict[str, Table]:
        return {t.qualified_name: t for t in self.tables}

    def table(self, name: str) -> Table | None:
        """The table called ``schema.name`` (or bare ``name`` in ``public``), or None."""
        return self._tables.get(qualified(*split_qualified(name)))

    def enum(self, name: str) -> Enum | None:
        schema, bare = split_qualified(name)
        return next((e for e in self.enums if e.schema == schema and e.name == bare), None)

    def view(self, name: str) -> View | None:
        schema, bare = split_qualified(name)
        return next((v for v in self.views if v.schema == schema and v.name == bare), None)

    def sequence(self, name: str) -> Sequence | None:
        schema, bare = split_qualified(name)
        return next((s for s in self.sequences if s.schema == schema and s.name == bare), None)

    def referencing(self, table: str) -> tuple[tuple[Table, ForeignKey], ...]:
        """Foreign keys (with their tables) that point at ``table``."""
        target = qualified(*split_qualified(table))
        return tuple((t, fk) for t in self.tables for fk in t.foreign_keys if fk.ref_table == target)

    # -- functional updates (what ``Operation.apply_to`` builds on) ----------------------------

    def with_table(self, table: Table) -> SchemaGraph:
        """This graph with ``table`` added, or replacing the table of the same qualified name.

        The new graph's table index starts from this one's (ops apply one table change at a time, and
        rebuilding the index of a thousand tables for each was most of what generating cost)."""
        target, key = table.qualified_name, _by_schema_and_name(table)
        if "." in table.schema or "." in table.name:  # another (schema, name) may print the same
            others = tuple(t for t in self.tables if t.qualified_name != target)
            start = end = bisect_right(others, key, key=_by_schema_and_name)
        else:  # the same qualified name is the same (schema, name): found by bisection
            others = self.tables
            start = bisect_left(others, key, key=_by_schema_and_name)
            end = bisect_right(others, key, lo=start, key=_by_schema_and_name)
        graph = self._with_tables((*others[:start], table, *others[end:]))
        if "_tables" in self.__dict__:
            graph.__dict__["_tables"] = {**self._tables, target: table}
        return graph

    def without_table(self, name: str) -> SchemaGraph:
        target = qualified(*split_qualified(name))
        return self._with_tables(tuple(t for t in self.tables if t.qualified_name != target))

    def _with_tables(self, tables: tuple[Table, ...]) -> SchemaGraph:
        """This graph holding ``tables`` (already in canonical order) instead of its own.

        What ``replace`` gives, without putting every other field back in canonical order: they already
        are, and re-sorting (and re-hashing) all of them for every op was most of an op's cost."""
        graph = object.__new__(SchemaGraph)
        for f in fields(self):
            object.__setattr__(graph, f.name, getattr(self, f.name))
        object.__setattr__(graph, "tables", tables)
        return graph

    # -- JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": FORMAT_VERSION, **encode(self)}

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=indent is not None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SchemaGraph:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a zanith schema document (format={data.get('format')!r})")
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported zanith schema version {version!r} (this zanith reads {FORMAT_VERSION})")
        body = {k: v for k, v in data.items() if k not in ("format", "version")}
        return decode(cls, body)

    @classmethod
    def from_json(cls, text: str) -> SchemaGraph:
        return cls.from_dict(json.loads(text))


_by_schema_and_name = attrgetter("schema", "name")
_by_schema_name_and_arguments = attrgetter("schema", "name", "arguments")
_by_table_and_name = attrgetter("table", "name")


def _attached_order(item: Comment | Privilege) -> tuple[Any, ...]:
    grant = (item.grantee, item.privilege) if isinstance(item, Privilege) else ()
    return (item.object_type, item.names, item.arguments or "", *grant)


__all__ = [
    "RESERVED_PREFIX", "Aggregate", "Attribute", "CheckConstraint", "Collation", "Column", "Comment",
    "CompositeType", "Dependency", "Domain", "DomainCheck", "Enum", "ExclusionConstraint", "Extension",
    "ForeignKey", "Function", "Index", "Parked", "Policy", "PrimaryKey", "Privilege", "SchemaGraph", "Sequence",
    "Table", "TextSearchConfiguration", "TextSearchDictionary", "TextSearchMapping", "Trigger", "UniqueConstraint",
    "View", "parked_name", "qualified", "split_qualified",
]  # fmt: skip
