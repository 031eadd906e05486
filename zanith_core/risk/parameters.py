"""Parameter rules: how an op's own fields refine its kind's catalog default.

``subject_of(op)`` reads the facts the rules need from an op (its table, concurrently or not, NOT VALID
or not, the new type, the default expression ...); :data:`TABLE_RULES` maps a table-level kind to the rule
that turns those facts, the schema before the step and the server version into a score and reasons — or
keeps the catalog default. The PostgreSQL facts the rules rely on (volatile functions, binary-coercible
type changes, a CHECK that proves NOT NULL) are here too, parsed with PostgreSQL's own parser (pglast).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.enums.primnodes import NullTestType
from pglast.parser import ParseError

from ..ops.base import Operation
from ..schema.graph import Column, Index, Table
from ..schema.queries import column_indexes
from .subject import RiskContext, Subject, SubjectRule

# -- from an op to a Subject ------------------------------------------------------------------------


def subject_of(op: Operation) -> Subject:
    """Read the facts the rules need from an op: ``op.tables`` and its fields, by name.

    Fields are read defensively (a kind without ``concurrently`` is simply not concurrent), so a new op
    kind gets its catalog default without touching this function.
    """
    fields = {f.name: getattr(op, f.name) for f in dataclasses.fields(op)}
    tables = op.tables
    column = fields.get("column")
    column_obj = column if isinstance(column, Column) else None
    index = fields.get("index")
    index_obj = index if isinstance(index, Index) else None
    return Subject(
        kind=op.kind,
        table=tables[0] if tables else None,
        column=column_obj.name if column_obj else _str(column),
        columns=_key_columns(fields),
        concurrently=bool(fields.get("concurrently", False)),
        not_valid=bool(fields.get("not_valid", False)),
        unique=bool(index_obj and index_obj.unique),
        using_index=bool(fields.get("using_index")),
        new_type=_str(fields.get("type")) or (column_obj.type if column_obj else None),
        old_type=_str(fields.get("old_type")),
        using=_str(fields.get("using")),
        collation=_str(fields.get("collation")),
        default=column_obj.default if column_obj else None,
        not_null=bool(column_obj and not column_obj.nullable),
        identity=bool(column_obj and column_obj.identity),
        generated=bool(column_obj and column_obj.generated),
        references=tuple(tables[1:]),
        parent=table_obj.partition_of if isinstance(table_obj := fields.get("table"), Table) else None,
    )


def _key_columns(fields: Mapping[str, Any]) -> tuple[str, ...]:
    """The key columns of the index or constraint an op carries (``index``, ``primary_key``, ...)."""
    for name in ("index", "primary_key", "unique", "foreign_key", "check"):
        columns = getattr(fields.get(name), "columns", None)
        if columns:
            return tuple(columns)
    return ()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# -- parameter rules ---------------------------------------------------------------------------------


def _partitioned(s: Subject, ctx: RiskContext) -> bool:
    table = ctx.table(s.table)
    return table is not None and table.partition_by is not None


def _create_table(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    if s.parent is not None and s.parent not in ctx.new_tables and ctx.table(s.parent) is not None:
        # a new partition of a table in use: ACCESS EXCLUSIVE on the parent, and a scan of its default
        siblings = ctx.graph.tables if ctx.graph is not None else ()
        if any(t.partition_of == s.parent and t.partition_bound == "DEFAULT" for t in siblings):
            return 45, ("locks_parent", "lock_blocks_reads", "scan_under_lock")
        return 20, ("locks_parent", "lock_brief")
    return (5, ("locks_referenced_table",)) if s.references else None


def _add_column(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    volatile = s.default is not None and is_volatile(s.default)
    if volatile or s.identity or s.generated or _is_serial(s.new_type):
        return 60, ("lock_blocks_reads", "table_rewrite", *(("volatile_default",) if volatile else ()))
    if s.default is not None and ctx.server_version_num is not None and ctx.server_version_num < 110000:
        return 60, ("lock_blocks_reads", "table_rewrite", "version_dependent")
    if s.not_null and s.default is None:
        return 40, ("lock_brief", "validation_may_fail", "breaks_old_writers")
    return None


def _alter_column_type(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    table = ctx.table(s.table)
    column = table.column(s.column) if table and s.column else None
    old = column.type if column is not None else s.old_type
    if old is None or s.new_type is None or not _keeps_values(s.using, s.column or "", s.new_type):
        return None
    if not binary_coercible(old, s.new_type):
        return None
    rebuilt = column_indexes(table, column.name) if table and column and column.collation != s.collation else ()
    if rebuilt:  # no rewrite, but every index on the column is rebuilt for the new collation, under the lock
        return 50, ("lock_blocks_reads", "index_build", "scan_under_lock")
    return 15, ("lock_brief",)


def _set_not_null(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    version = ctx.server_version_num
    if version is not None and version < 120000:
        return None
    table = ctx.table(s.table)
    if (
        table is None
        or s.column is None
        or not any(check.validated and proves_not_null(check.expression, s.column) for check in table.checks)
    ):
        return None
    return 15, ("lock_brief", *(("version_dependent",) if version is None else ()))


def _add_index(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    unique = ("validation_may_fail",) if s.unique else ()
    pieces = ("each_partition",) if _partitioned(s, ctx) else ()
    if s.concurrently:
        return 25 + 5 * s.unique, ("index_build", "non_transactional", "invalid_on_failure", *unique, *pieces)
    return 50 + 5 * s.unique, ("lock_blocks_writes", "index_build", *unique, *pieces)


def _drop_index(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    if _partitioned(s, ctx):
        return 20, ("lock_brief", "each_partition")
    return (10, ("non_transactional",)) if s.concurrently else None


def _rename_index(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    version = ctx.server_version_num
    if version is None:
        return None
    return (5, ()) if version >= 120000 else (15, ("lock_brief",))


def _add_primary_key(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    if s.concurrently and _partitioned(s, ctx):
        return 30, ("index_build", "non_transactional", "invalid_on_failure", "validation_may_fail", "each_partition")
    if s.concurrently:
        return None
    if not s.using_index:
        return 60, ("lock_blocks_reads", "index_build", "scan_under_lock", "validation_may_fail")
    table = ctx.table(s.table)
    columns = [table.column(c) for c in s.columns] if table else []
    if columns and all(c is not None and not c.nullable for c in columns):
        return 15, ("lock_brief",)
    return 45, ("lock_blocks_reads", "scan_under_lock", "validation_may_fail")


def _add_foreign_key(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    if s.not_valid:
        return 20, ("lock_brief", "locks_referenced_table")
    if _partitioned(s, ctx):  # PostgreSQL refuses NOT VALID here: each partition is scanned under the lock
        return 55, (
            "lock_blocks_writes",
            "scan_under_lock",
            "validation_may_fail",
            "locks_referenced_table",
            "each_partition",
        )
    return None


def _add_unique(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    if s.using_index:
        return 15, ("lock_brief",)
    if s.concurrently and _partitioned(s, ctx):
        return 30, ("index_build", "non_transactional", "invalid_on_failure", "validation_may_fail", "each_partition")
    if s.concurrently:
        return None
    return 60, ("lock_blocks_reads", "index_build", "validation_may_fail")


def _add_check(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    return None if s.not_valid else (50, ("lock_blocks_reads", "scan_under_lock", "validation_may_fail"))


def _add_enum_value(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    version = ctx.server_version_num
    if version is None:
        return None
    return (5, ()) if version >= 120000 else (15, ("non_transactional", "version_dependent"))


TABLE_RULES: dict[str, SubjectRule] = {
    "create_table": _create_table,
    "add_column": _add_column,
    "alter_column_type": _alter_column_type,
    "set_not_null": _set_not_null,
    "add_index": _add_index,
    "drop_index": _drop_index,
    "rename_index": _rename_index,
    "add_primary_key": _add_primary_key,
    "add_foreign_key": _add_foreign_key,
    "add_unique": _add_unique,
    "add_check": _add_check,
    "add_enum_value": _add_enum_value,
}


# -- PostgreSQL facts the rules rely on ----------------------------------------------------------------

#: Functions PostgreSQL marks immutable or stable that commonly appear in defaults. Anything else is
#: treated as volatile, which is also what CREATE FUNCTION assumes when no volatility is declared.
NON_VOLATILE_FUNCTIONS = frozenset(
    {
        "now",
        "transaction_timestamp",
        "statement_timestamp",
        "current_setting",
        "lower",
        "upper",
        "btrim",
        "trim",
        "length",
        "concat",
        "coalesce",
        "to_jsonb",
        "jsonb_build_object",
        "jsonb_build_array",
        "json_build_object",
        "array_fill",
        "make_date",
        "make_interval",
        "to_timestamp",
        "date_trunc",
        "abs",
        "round",
    }
)


def parse_expression(text: str) -> Any:
    """The parse tree of one SQL expression (parsed as ``SELECT <text>``), or None when it does not parse.

    Typed ``Any``: pglast's nodes are dynamic, and every caller checks the node types it relies on.
    """
    try:
        statements = parse_sql(f"SELECT {text}")
    except ParseError:
        return None
    if len(statements) != 1:
        return None
    stmt: Any = statements[0].stmt
    targets: Any = getattr(stmt, "targetList", None) or ()
    return targets[0].val if len(targets) == 1 else None


def is_volatile(expression: str) -> bool:
    """Whether a default expression calls a volatile function (so ADD COLUMN must rewrite the table)."""
    node = parse_expression(expression)
    if node is None:
        return True
    calls: list[Any] = [n for n in _walk(node) if isinstance(n, ast.FuncCall)]
    return any(call.funcname[-1].sval.lower() not in NON_VOLATILE_FUNCTIONS for call in calls)


def _walk(node: Any) -> Iterable[Any]:
    if isinstance(node, tuple | list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for name in node:
            yield from _walk(getattr(node, name))


_SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


def _is_serial(type_text: str | None) -> bool:
    return type_text is not None and type_text.strip().lower() in _SERIAL_TYPES


@dataclass(frozen=True)
class TypeShape:
    """A type as PostgreSQL's parser names it: ``varchar`` with modifiers ``(20,)``, array or not."""

    name: str
    mods: tuple[int, ...]
    array: bool

    @classmethod
    def parse(cls, text: str) -> TypeShape | None:
        """Let the real parser resolve aliases (``character varying`` → ``varchar``, ``bigint`` → ``int8``)."""
        node = parse_expression(f"NULL::{text}")
        return cls.of(node.typeName) if isinstance(node, ast.TypeCast) else None

    @classmethod
    def of(cls, type_name: Any) -> TypeShape | None:
        typmods = type_name.typmods or ()
        mods = tuple(m.val.ival for m in typmods if isinstance(getattr(m, "val", None), ast.Integer))
        if len(mods) != len(typmods):
            return None
        return cls(type_name.names[-1].sval.lower(), mods, bool(type_name.arrayBounds))


_PRECISION_TYPES = frozenset({"timestamp", "timestamptz", "time", "timetz"})
_LENGTH_TYPES = frozenset({"varchar", "varbit"})


def binary_coercible(old: str, new: str) -> bool:
    """Whether ALTER COLUMN ... TYPE from ``old`` to ``new`` keeps every stored value as it is.

    These are the built-in conversions PostgreSQL applies without rewriting the table (binary-coercible
    casts and length-coercions whose support function proves them no-ops): varchar(n) to varchar(m >= n),
    varchar or text to text or unlimited varchar, numeric(p, s) to numeric(p' >= p, s) or unconstrained
    numeric, a wider (or default) precision of timestamp/time, cidr to inet. Everything else rewrites.
    """
    a, b = TypeShape.parse(old), TypeShape.parse(new)
    if a is None or b is None or a.array != b.array:
        return False
    if a == b:
        return True
    if a.name in ("varchar", "text") and b.name == "text":
        return True
    if a.name == "text" and b.name == "varchar":
        return not b.mods
    if a.name == b.name and a.name in _LENGTH_TYPES:
        return not b.mods or (bool(a.mods) and b.mods[0] >= a.mods[0])
    if a.name == b.name == "numeric":
        return not b.mods or (bool(a.mods) and b.mods[0] >= a.mods[0] and _scale(a) == _scale(b))
    if a.name == b.name and a.name in _PRECISION_TYPES:
        return (b.mods[0] if b.mods else 6) >= (a.mods[0] if a.mods else 6)
    return a.name == "cidr" and b.name == "inet"


def _scale(shape: TypeShape) -> int:
    return shape.mods[1] if len(shape.mods) > 1 else 0


def _is_column(node: Any, column: str) -> bool:
    return isinstance(node, ast.ColumnRef) and [getattr(f, "sval", None) for f in node.fields or ()] == [column]


def _keeps_values(using: str | None, column: str, new_type: str) -> bool:
    """Whether USING is absent, the bare column, or the column cast to the new type: values unchanged."""
    if using is None:
        return True
    node = parse_expression(using)
    if isinstance(node, ast.TypeCast):
        if TypeShape.of(node.typeName) != TypeShape.parse(new_type):
            return False
        node = node.arg
    return _is_column(node, column)


def proves_not_null(expression: str, column: str) -> bool:
    """Whether a CHECK body is exactly ``column IS NOT NULL`` (the form PostgreSQL 12+ recognises)."""
    node = parse_expression(expression)
    return (
        isinstance(node, ast.NullTest)
        and node.nulltesttype == NullTestType.IS_NOT_NULL
        and _is_column(node.arg, column)
    )
