"""A small, typed Python DSL for declaring a PostgreSQL schema.

    from zanith_core.declare import Schema, check, column, fk, index, unique

    schema = Schema()
    mood = schema.enum("mood", ["happy", "sad"])
    users = schema.table(
        "users",
        column("id", "bigint", primary_key=True, identity=True),
        column("email", "text", nullable=False, unique=True),
        column("mood", mood, default="'happy'"),
        index("email", where="email IS NOT NULL"),
        check("length(email) > 3", name="users_email_len"),
    )
    schema.table("orders", column("id", "bigint", primary_key=True),
                 column("user_id", "bigint", references=users, on_delete="cascade"))

A declaration is not a second schema model: ``Schema.ddl()`` builds :mod:`zanith_core.schema.graph` values,
renders them with :mod:`zanith_core.sql.tables`, and :func:`zanith_core.sources.load_schema` runs that DDL on a
scratch database, so Postgres normalises types and expressions exactly as it does for a ``.sql`` file.
Unnamed constraints and indexes get the names Postgres itself would choose (:mod:`zanith_core.schema.naming`),
which is what makes a DSL schema and the equivalent SQL file load to equal graphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..errors import SourceError
from ..schema.expressions import quote_ident, quote_qualified
from ..schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Table,
    UniqueConstraint,
    qualified,
    split_qualified,
)
from ..schema.naming import MAX_IDENTIFIER_BYTES, Namespace, check_column, index_column_names, name_addition
from ..sql.script import schema_ddl

Identity = Literal["always", "by default"]
Default = str | int | float | bool
"""A column default: a str is an SQL expression (``"'happy'"``, ``"now()"``); other values are literals."""

_ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")
_SERIAL_TYPES = ("smallserial", "serial", "bigserial", "serial2", "serial4", "serial8")


class DeclarationError(SourceError):
    """A DSL declaration is inconsistent (unknown column, duplicate table, missing key...)."""


@dataclass(frozen=True)
class TableRef:
    """What ``Schema.table`` returns: pass it to ``references=`` or :func:`fk`."""

    schema: str
    name: str

    @property
    def qualified_name(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(frozen=True)
class EnumRef:
    """What ``Schema.enum`` returns: use it as a column type."""

    schema: str
    name: str
    values: tuple[str, ...]

    @property
    def type_name(self) -> str:
        return quote_qualified(self.schema, self.name)


Target = TableRef | str
"""A referenced table: a :class:`TableRef`, or ``"table"`` / ``"schema.table"`` declared in this Schema."""


# -- table elements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnDecl:
    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    unique: bool = False
    default: str | None = None
    identity: Identity | None = None
    generated: str | None = None
    collation: str | None = None
    check: str | None = None
    references: Target | None = None
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True)
class PrimaryKeyDecl:
    columns: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True)
class UniqueDecl:
    columns: tuple[str, ...]
    name: str | None = None
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False


@dataclass(frozen=True)
class CheckDecl:
    expression: str
    name: str | None = None


@dataclass(frozen=True)
class IndexDecl:
    keys: tuple[str, ...]
    name: str | None = None
    unique: bool = False
    method: str = "btree"
    where: str | None = None
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False


@dataclass(frozen=True)
class ForeignKeyDecl:
    columns: tuple[str, ...]
    references: Target
    ref_columns: tuple[str, ...] = ()
    """Empty: the referenced table's primary key."""
    name: str | None = None
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    deferrable: bool = False
    initially_deferred: bool = False


Element = ColumnDecl | PrimaryKeyDecl | UniqueDecl | CheckDecl | IndexDecl | ForeignKeyDecl


def column(
    name: str,
    type: str | EnumRef,
    *,
    nullable: bool = True,
    primary_key: bool = False,
    unique: bool = False,
    default: Default | None = None,
    identity: bool | Identity = False,
    generated: str | None = None,
    collation: str | None = None,
    check: str | None = None,
    references: Target | None = None,
    on_delete: str = "NO ACTION",
    on_update: str = "NO ACTION",
) -> ColumnDecl:
    """A column. ``type`` is SQL type text or an enum; ``identity=True`` means ``BY DEFAULT``.

    ``default`` and ``check`` are SQL expressions; ``generated`` is the expression of a stored generated
    column; ``references`` makes a single-column foreign key to that table's primary key.
    """
    return ColumnDecl(
        name=_identifier(name),
        type=type.type_name if isinstance(type, EnumRef) else type,
        nullable=nullable and not primary_key,
        primary_key=primary_key,
        unique=unique,
        default=None if default is None else _sql_default(default),
        identity=("by default" if identity is True else identity) or None,
        generated=generated,
        collation=None if collation is None else quote_ident(collation),
        check=check,
        references=references,
        on_delete=_action(on_delete),
        on_update=_action(on_update),
    )


def primary_key(*columns: str, name: str | None = None) -> PrimaryKeyDecl:
    """A (composite) primary key; for one column, ``column(..., primary_key=True)`` reads better."""
    return PrimaryKeyDecl(columns=columns, name=_optional_identifier(name))


def unique(
    *columns: str,
    name: str | None = None,
    nulls_not_distinct: bool = False,
    deferrable: bool = False,
    initially_deferred: bool = False,
) -> UniqueDecl:
    """A unique constraint (backed by an index Postgres creates)."""
    return UniqueDecl(columns, _optional_identifier(name), nulls_not_distinct, deferrable, initially_deferred)


def check(expression: str, *, name: str | None = None) -> CheckDecl:
    """A check constraint over the table's columns."""
    return CheckDecl(expression=expression, name=_optional_identifier(name))


def index(
    *keys: str,
    name: str | None = None,
    unique: bool = False,
    method: str = "btree",
    where: str | None = None,
    include: Sequence[str] = (),
    nulls_not_distinct: bool = False,
) -> IndexDecl:
    """An index. Keys are columns or SQL expressions: ``"email"``, ``"lower(email)"``, ``"id DESC"``."""
    return IndexDecl(keys, _optional_identifier(name), unique, method, where, tuple(include), nulls_not_distinct)


def fk(
    columns: str | Sequence[str],
    references: Target,
    ref_columns: str | Sequence[str] = (),
    *,
    name: str | None = None,
    on_delete: str = "NO ACTION",
    on_update: str = "NO ACTION",
    deferrable: bool = False,
    initially_deferred: bool = False,
) -> ForeignKeyDecl:
    """A foreign key; ``ref_columns`` defaults to the referenced table's primary key."""
    return ForeignKeyDecl(
        columns=_names(columns),
        references=references,
        ref_columns=_names(ref_columns),
        name=_optional_identifier(name),
        on_delete=_action(on_delete),
        on_update=_action(on_update),
        deferrable=deferrable,
        initially_deferred=initially_deferred,
    )


def _identifier(name: str) -> str:
    """``name``, checked to fit Postgres' 63 bytes (the server would silently truncate it)."""
    if not name or len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise DeclarationError(f"invalid name {name!r}: names must have 1 to {MAX_IDENTIFIER_BYTES} bytes")
    return name


def _optional_identifier(name: str | None) -> str | None:
    return None if name is None else _identifier(name)


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _action(value: str) -> str:
    action = " ".join(value.upper().split())
    if action not in _ACTIONS:
        raise DeclarationError(f"unknown referential action {value!r} (one of: {', '.join(_ACTIONS)})")
    return action


def _sql_default(value: Default) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


# -- the schema ------------------------------------------------------------------------------------


@dataclass
class _Declared:
    """A table as declared: its graph value, with foreign keys resolved only when rendering."""

    table: Table
    foreign_keys: list[tuple[str, ForeignKeyDecl]] = field(default_factory=list)


class Schema:
    """A declared database schema: enums and tables (in ``name``, ``public`` by default) plus raw SQL."""

    def __init__(self, name: str = "public") -> None:
        self.name = _identifier(name)
        self._enums: list[Enum] = []
        self._tables: dict[str, _Declared] = {}
        self._namespaces: dict[str, Namespace] = {}
        self._sql: list[str] = []

    def enum(self, name: str, values: Iterable[str], *, schema: str | None = None) -> EnumRef:
        """Declare ``CREATE TYPE name AS ENUM (values...)``; use the result as a column type."""
        ref = EnumRef(_identifier(schema or self.name), _identifier(name), tuple(values))
        if any(e.schema == ref.schema and e.name == ref.name for e in self._enums):
            raise DeclarationError(f"enum {qualified(ref.schema, ref.name)} is declared twice")
        self._enums.append(Enum(ref.schema, ref.name, ref.values))
        return ref

    def table(self, name: str, *elements: Element, schema: str | None = None, unlogged: bool = False) -> TableRef:
        """Declare a table from columns and constraints; returns a reference for foreign keys."""
        ref = TableRef(_identifier(schema or self.name), _identifier(name))
        if ref.qualified_name in self._tables:
            raise DeclarationError(f"table {ref.qualified_name} is declared twice")
        namespace = self._namespaces.setdefault(ref.schema, Namespace())
        self._tables[ref.qualified_name] = _TableBuilder(ref, elements, namespace).build(unlogged)
        return ref

    def sql(self, statements: str) -> None:
        """Run raw SQL after the declared objects (views, functions, extensions, grants...)."""
        self._sql.append(statements)

    def graph(self) -> SchemaGraph:
        """The declared objects as graph values, before Postgres normalises them.

        Compare and store what :func:`zanith_core.sources.load_schema` returns instead: type and
        expression text here is as written, not canonical.
        """
        tables = []
        for declared in self._tables.values():
            fks = tuple(self._foreign_key(declared.table, name, decl) for name, decl in declared.foreign_keys)
            tables.append(replace(declared.table, foreign_keys=fks))
        names = {self.name, *(e.schema for e in self._enums), *(t.schema for t in tables)}
        return SchemaGraph(schemas=tuple(names), enums=tuple(self._enums), tables=tuple(tables))

    def ddl(self) -> list[str]:
        """The statements that create this schema on an empty database, in a runnable order."""
        return [*(statement.as_string() for statement in schema_ddl(self.graph())), *self._sql]

    def _foreign_key(self, table: Table, name: str, decl: ForeignKeyDecl) -> ForeignKey:
        target = (
            decl.references.qualified_name
            if isinstance(decl.references, TableRef)
            else qualified(*split_qualified(decl.references, self.name))
        )
        ref_columns = decl.ref_columns
        where = f"table {table.qualified_name}: foreign key {name}"
        if not ref_columns:
            referenced = self._tables.get(target)
            if referenced is None:
                raise DeclarationError(f"{where} references {target}, which is not declared (name its columns)")
            if referenced.table.primary_key is None:
                raise DeclarationError(f"{where} references {target}, which has no primary key")
            ref_columns = referenced.table.primary_key.columns
        if len(ref_columns) != len(decl.columns):
            raise DeclarationError(f"{where} has {len(decl.columns)} columns but references {len(ref_columns)}")
        return ForeignKey(
            name=name,
            columns=decl.columns,
            ref_table=target,
            ref_columns=ref_columns,
            on_delete=decl.on_delete,
            on_update=decl.on_update,
            deferrable=decl.deferrable,
            initially_deferred=decl.initially_deferred,
        )


class _TableBuilder:
    """Turns one table's declared elements into its graph value, naming what the author left unnamed.

    Names are chosen in the order Postgres chooses them for a ``CREATE TABLE`` followed by its
    ``CREATE INDEX`` statements: identity/serial sequences, check constraints, the indexes of the
    primary key and uniques, foreign keys, then indexes. Names the author gave are reserved first.
    """

    def __init__(self, ref: TableRef, elements: Sequence[Element], namespace: Namespace) -> None:
        self.ref, self.ns, self.where = ref, namespace, f"table {ref.qualified_name}"
        self.columns = [e for e in elements if isinstance(e, ColumnDecl)]
        self.known = {c.name for c in self.columns}
        if len(self.known) != len(self.columns):
            twice = next(c.name for i, c in enumerate(self.columns) if c.name in {d.name for d in self.columns[:i]})
            raise DeclarationError(f"{self.where}: column {twice!r} is declared twice")
        self.checks: list[CheckDecl] = []
        self.keys: list[PrimaryKeyDecl | UniqueDecl] = []
        self.fks: list[ForeignKeyDecl] = []
        for e in elements:
            if isinstance(e, ColumnDecl):
                self.checks += [CheckDecl(e.check)] if e.check else []
                self.keys += [PrimaryKeyDecl((e.name,))] if e.primary_key else []
                self.keys += [UniqueDecl((e.name,))] if e.unique else []
                if e.references is not None:
                    self.fks.append(
                        ForeignKeyDecl((e.name,), e.references, on_delete=e.on_delete, on_update=e.on_update)
                    )
            elif isinstance(e, CheckDecl):
                self.checks.append(e)
            elif isinstance(e, PrimaryKeyDecl | UniqueDecl):
                self.keys.append(e)
            elif isinstance(e, ForeignKeyDecl):
                self.fks.append(e)
        self.indexes = [e for e in elements if isinstance(e, IndexDecl)]
        if sum(isinstance(k, PrimaryKeyDecl) for k in self.keys) > 1:
            raise DeclarationError(
                f"{self.where}: more than one primary key (use primary_key(a, b) for a composite key)"
            )

    def build(self, unlogged: bool) -> _Declared:
        table = self.ref.name
        if table in self.ns.relations:
            raise DeclarationError(f"{self.where}: the name is already used by another relation in {self.ref.schema}")
        self.ns.relations.add(table)
        self._reserve_given_names()
        for c in self.columns:
            if c.identity or c.type.lower() in _SERIAL_TYPES:
                self.ns.choose_relation(table, c.name, "seq")
        checks = tuple(
            CheckConstraint(
                c.name or self.ns.choose_constraint(table, check_column(c.expression), "check"), c.expression
            )
            for c in self.checks
        )
        primary_key, uniques = self._keys()
        foreign_keys = [(self._fk_name(f), f) for f in self.fks]
        value = Table(
            schema=self.ref.schema,
            name=table,
            columns=tuple(
                Column(c.name, c.type, c.nullable, c.default, c.identity, c.generated, c.collation)
                for c in self.columns
            ),
            primary_key=primary_key,
            indexes=tuple(self._index(i) for i in self.indexes),
            uniques=uniques,
            checks=checks,
            unlogged=unlogged,
        )
        return _Declared(value, foreign_keys)

    def _reserve_given_names(self) -> None:
        constraints: list[CheckDecl | ForeignKeyDecl] = [*self.checks, *self.fks]
        for constraint in constraints:
            if constraint.name:
                self.ns.constraints.add(constraint.name)
        for key in self.keys:
            if key.name:
                self.ns.relations.add(key.name)
                self.ns.constraints.add(key.name)
        self.ns.relations.update(i.name for i in self.indexes if i.name)

    def _need(self, names: Iterable[str], what: str) -> None:
        missing = [n for n in names if n not in self.known]
        if missing:
            raise DeclarationError(f"{self.where}: {what} names unknown column {missing[0]!r}")

    def _keys(self) -> tuple[PrimaryKey | None, tuple[UniqueConstraint, ...]]:
        table, primary_key, uniques = self.ref.name, None, []
        for k in self.keys:
            self._need(k.columns, "a key")
            if isinstance(k, PrimaryKeyDecl):
                name = k.name or self.ns.choose_relation(table, None, "pkey", constraint=True)
                primary_key = PrimaryKey(name, k.columns)
            else:
                name = k.name or self.ns.choose_relation(table, name_addition(k.columns), "key", constraint=True)
                uniques.append(
                    UniqueConstraint(name, k.columns, k.nulls_not_distinct, k.deferrable, k.initially_deferred)
                )
        return primary_key, tuple(uniques)

    def _fk_name(self, decl: ForeignKeyDecl) -> str:
        self._need(decl.columns, "a foreign key")
        return decl.name or self.ns.choose_constraint(self.ref.name, name_addition(decl.columns), "fkey")

    def _index(self, decl: IndexDecl) -> Index:
        self._need(decl.include, "an index INCLUDE")
        # A key that is exactly a declared column is quoted like any identifier; the rest is SQL.
        keys = tuple(quote_ident(k) if k in self.known else k for k in decl.keys)
        addition = name_addition(index_column_names(keys, decl.include))
        return Index(
            name=decl.name or self.ns.choose_relation(self.ref.name, addition, "idx"),
            keys=keys,
            unique=decl.unique,
            method=decl.method,
            predicate=f"({decl.where})" if decl.where else None,
            include=decl.include,
            nulls_not_distinct=decl.nulls_not_distinct,
        )


__all__ = [
    "DeclarationError",
    "EnumRef",
    "Schema",
    "TableRef",
    "check",
    "column",
    "fk",
    "index",
    "primary_key",
    "unique",
]
