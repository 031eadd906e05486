"""Score one step: the catalog default, refined by the op's parameters and by what is known of the target.

``classify(op, ctx)`` turns an op into a :class:`Subject` (its kind plus the facts the rules need: which
table, concurrently or not, NOT VALID or not, the new type, the default expression ...) and scores it.
Raw SQL goes through :mod:`zanith_core.risk.rawsql`, which turns each parsed statement into Subjects too,
so a hand-written ``CREATE INDEX CONCURRENTLY`` and a generated ``add_index`` get the same score from
the same rule.

The :class:`RiskContext` carries what makes scoring context-aware:

* ``graph`` — the schema just before the op (the plan threads it through ``op.apply_to``), to know the
  column's current type for a type change, or whether a valid ``CHECK (col IS NOT NULL)`` exists;
* ``new_tables`` — tables created earlier in the same plan: nobody uses them, they hold no data;
* ``stats`` — live ``pg_class`` statistics per table (``None`` = static defaults), so a rewrite of an
  empty table is cheap and a rewrite of a large one is critical;
* ``server_version_num`` — rules that changed across PostgreSQL versions (None = assume 12+ and say so).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.enums.primnodes import NullTestType
from pglast.parser import ParseError

from ..ops.base import Operation
from ..schema.graph import Column, Index, SchemaGraph, Table
from ..schema.queries import column_indexes
from .catalog import OP_KINDS, level_for

#: Live-statistics thresholds. Rows come from ``pg_class.reltuples``; bytes from ``pg_table_size``.
SMALL_ROWS = 10_000
SMALL_BYTES = 64 * 1024**2
SMALL_BYTES_UNKNOWN_ROWS = 1024**2
LARGE_ROWS = 1_000_000
LARGE_BYTES = 1024**3

#: Reasons that mean "work proportional to the table's size".
WORK_REASONS = frozenset({"table_rewrite", "scan_under_lock", "index_build", "backfill_required"})
#: Reasons that mean "the work happens under a lock that blocks traffic".
BLOCKING_REASONS = frozenset({"lock_blocks_reads", "lock_blocks_writes"})

#: Scores the context adjustments move towards.
NEW_TABLE_SCORE = 5
SMALL_TABLE_SCORE = 15
LARGE_BLOCKING_BONUS = 20
LARGE_NONBLOCKING_BONUS = 10


@dataclass(frozen=True)
class Risk:
    level: str
    score: int
    reasons: tuple[str, ...]

    @classmethod
    def of(cls, score: int, reasons: Iterable[str]) -> Risk:
        """A risk with ``score`` clamped to 0-100, its level derived, reasons de-duplicated in order.

        ``lock_brief`` is dropped when a lock held for the work is also named: the stronger claim wins.
        """
        clamped = max(0, min(100, score))
        codes = tuple(dict.fromkeys(reasons))
        if BLOCKING_REASONS & set(codes):
            codes = tuple(c for c in codes if c != "lock_brief")
        return cls(level_for(clamped), clamped, codes)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "score": self.score, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class TableStats:
    """Live statistics of one table: ``rows`` is None when PostgreSQL has never estimated it."""

    rows: int | None
    bytes: int

    @property
    def size(self) -> str:
        """``small``, ``medium`` or ``large``, by the thresholds above."""
        if (self.rows is not None and self.rows >= LARGE_ROWS) or self.bytes >= LARGE_BYTES:
            return "large"
        if self.rows is None:
            return "small" if self.bytes < SMALL_BYTES_UNKNOWN_ROWS else "medium"
        return "small" if self.rows < SMALL_ROWS and self.bytes < SMALL_BYTES else "medium"


@dataclass(frozen=True)
class RiskContext:
    stats: Mapping[str, TableStats] | None = None
    """Live statistics by qualified table name; None means no target: static defaults."""
    server_version_num: int | None = None
    new_tables: frozenset[str] = frozenset()
    graph: SchemaGraph | None = None

    def table(self, name: str | None) -> Table | None:
        return self.graph.table(name) if self.graph is not None and name else None


@dataclass(frozen=True)
class Subject:
    """What a step does, in kind-neutral facts; built from an op or from one parsed SQL statement."""

    kind: str
    table: str | None = None
    """Qualified ``schema.table`` the step acts on."""
    column: str | None = None
    columns: tuple[str, ...] = ()
    concurrently: bool = False
    not_valid: bool = False
    unique: bool = False
    using_index: bool = False
    new_type: str | None = None
    old_type: str | None = None
    """A type change's current type when the op records it (the graph's column type wins)."""
    using: str | None = None
    collation: str | None = None
    """The collation a type change gives the column (None: the new type's default)."""
    default: str | None = None
    not_null: bool = False
    identity: bool = False
    generated: bool = False
    references: tuple[str, ...] = ()
    """Tables a new foreign key points at."""


Rule = Callable[[Subject, RiskContext], tuple[int, tuple[str, ...]] | None]
"""A parameter rule: the (score, reasons) replacing the catalog default, or None to keep it."""

OP_RULES: dict[str, Callable[[Operation, RiskContext], Risk]] = {}
"""Kinds scored from the whole op rather than a :class:`Subject`: the definition family registers its
rules here (:mod:`zanith_core.risk.definitions`)."""


def classify(op: Operation, ctx: RiskContext | None = None) -> Risk:
    """The risk of one op in context (default: static, nothing known about the target)."""
    context = ctx or RiskContext()
    if op.kind == "raw_sql":
        from .rawsql import classify_sql

        risk = classify_sql(op.sql(), context)
    elif op.kind in OP_RULES:
        risk = OP_RULES[op.kind](op, context)
    else:
        risk = score_subject(subject_of(op), context)
    if not op.reversible and "irreversible" not in risk.reasons:
        risk = Risk.of(risk.score, (*risk.reasons, "irreversible"))
    return risk


def score_subject(subject: Subject, ctx: RiskContext) -> Risk:
    """Catalog default → parameter rule → context (new table in this plan, live statistics)."""
    entry = OP_KINDS[subject.kind]
    rule = _RULES.get(subject.kind)
    ruled = rule(subject, ctx) if rule else None
    score, reasons = ruled if ruled is not None else (entry.score, entry.reasons)
    return in_context(subject.table, subject.kind, Risk.of(score, reasons), ctx)


def in_context(table: str | None, kind: str | None, risk: Risk, ctx: RiskContext) -> Risk:
    """Adjust a risk for its table: new in this plan → cheap; live statistics → small or large."""
    if kind != "create_table" and table in ctx.new_tables:
        return Risk.of(min(risk.score, NEW_TABLE_SCORE), ("small_table",))
    stats = ctx.stats.get(table) if ctx.stats is not None and table else None
    if stats is None or not WORK_REASONS & set(risk.reasons):
        return risk
    size = stats.size
    if size == "small" and "data_loss" not in risk.reasons:
        return Risk.of(min(risk.score, SMALL_TABLE_SCORE), (*risk.reasons, "small_table"))
    if size == "large":
        blocking = bool(BLOCKING_REASONS & set(risk.reasons))
        bonus, cap = (LARGE_BLOCKING_BONUS, 79) if blocking else (LARGE_NONBLOCKING_BONUS, 65)
        return Risk.of(max(risk.score, min(risk.score + bonus, cap)), (*risk.reasons, "large_table"))
    return risk


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


def _create_table(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
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
    if s.concurrently:
        return 25 + 5 * s.unique, ("index_build", "non_transactional", "invalid_on_failure", *unique)
    return 50 + 5 * s.unique, ("lock_blocks_writes", "index_build", *unique)


def _drop_index(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    return (10, ("non_transactional",)) if s.concurrently else None


def _rename_index(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    version = ctx.server_version_num
    if version is None:
        return None
    return (5, ()) if version >= 120000 else (15, ("lock_brief",))


def _add_primary_key(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
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
    return (20, ("lock_brief", "locks_referenced_table")) if s.not_valid else None


def _add_unique(s: Subject, ctx: RiskContext) -> tuple[int, tuple[str, ...]] | None:
    if s.using_index:
        return 15, ("lock_brief",)
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


_RULES: dict[str, Rule] = {
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
