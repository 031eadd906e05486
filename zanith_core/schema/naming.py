"""The names PostgreSQL gives unnamed constraints, indexes and sequences, computed in Python.

The declared-schema DSL must name every object up front (SchemaGraph values carry names), and a DSL
schema must load to the same graph as the equivalent ``.sql`` file in which Postgres chose the names.
So this module follows the server's own rules (``makeObjectName``, ``ChooseRelationName``,
``ChooseConstraintName``, ``ChooseIndexColumnNames`` and ``FigureColname`` in the PostgreSQL sources):
``users_pkey``, ``users_email_key``, ``orders_user_id_fkey``, ``users_email_idx``, ``users_lower_idx``
for ``lower(email)``, ``users_price_check``; long names are truncated to 63 bytes, the longer part first;
a clash gets a numeric suffix on the label (``users_email_idx1``). Index keys and check expressions are
read with the real Postgres parser (pglast).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, MinMaxOp

#: Postgres' NAMEDATALEN: identifiers hold at most 63 bytes.
MAX_IDENTIFIER_BYTES = 63


def _clip(text: str, max_bytes: int) -> str:
    raw = text.encode()
    return raw[:max_bytes].decode(errors="ignore") if len(raw) > max_bytes else text


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """``name1_name2_label`` within 63 bytes, shortening the longer of the two names first."""
    overhead = (1 if name2 is not None else 0) + (len(label.encode()) + 1 if label else 0)
    available = MAX_IDENTIFIER_BYTES - overhead
    len1 = len(name1.encode())
    len2 = len(name2.encode()) if name2 is not None else 0
    while len1 + len2 > available:
        if len1 > len2:
            len1 -= 1
        else:
            len2 -= 1
    result = _clip(name1, len1)
    if name2 is not None:
        result += "_" + _clip(name2, len2)
    if label:
        result += "_" + label
    return result


def name_addition(columns: Sequence[str]) -> str:
    """Column names joined with ``_``, stopping once the result reaches 64 bytes (``ChooseIndexNameAddition``)."""
    out = ""
    for name in columns:
        out = f"{out}_{name}" if out else name
        if len(out.encode()) >= MAX_IDENTIFIER_BYTES + 1:
            break
    return out


def index_column_names(keys: Sequence[str], include: Sequence[str] = ()) -> tuple[str, ...]:
    """The per-column names Postgres derives for an index's keys and INCLUDE columns, made distinct.

    A plain column key is its own name; an expression is named like a SELECT output column
    (``lower(email)`` → ``lower``, ``(a::text)`` → ``a``), else ``expr``.
    """
    statement = f"CREATE INDEX ON _t ({', '.join(keys)})"
    if include:
        statement += f" INCLUDE ({', '.join(include)})"
    try:
        (raw,) = pglast.parse_sql(statement)
    except pglast.parser.ParseError:
        return tuple(keys) + tuple(include)  # the server will reject the DDL with a clear message
    stmt = raw.stmt
    assert isinstance(stmt, ast.IndexStmt)
    elements = (*(stmt.indexParams or ()), *(stmt.indexIncludingParams or ()))
    names: list[str] = []
    for element in elements:
        original = element.name or (_figure_colname(element.expr)[0] if element.expr else None) or "expr"
        candidate, n = original, 0
        while candidate in names:
            n += 1
            candidate = _clip(original, MAX_IDENTIFIER_BYTES - len(str(n))) + str(n)
        names.append(candidate)
    return tuple(names)


def _figure_colname(node: Any) -> tuple[str | None, int]:
    """Postgres' ``FigureColnameInternal``: a name for an expression and how strongly it is meant."""
    if isinstance(node, ast.ColumnRef):
        name = _last_name(node.fields)
        return (name, 2) if name else (None, 0)
    if isinstance(node, ast.A_Indirection):
        for item in reversed(node.indirection or ()):
            if isinstance(item, ast.String):
                return item.sval, 2
        return _figure_colname(node.arg)
    if isinstance(node, ast.FuncCall):
        return _last_name(node.funcname), 2
    if isinstance(node, ast.A_Expr):
        return ("nullif", 2) if node.kind == A_Expr_Kind.AEXPR_NULLIF else (None, 0)
    if isinstance(node, ast.TypeCast):
        name, strength = _figure_colname(node.arg)
        if strength <= 1 and node.typeName is not None:
            return _last_name(node.typeName.names), 1
        return name, strength
    if isinstance(node, ast.CollateClause):
        return _figure_colname(node.arg)
    if isinstance(node, ast.CaseExpr):
        name, strength = _figure_colname(node.defresult)
        return (name, strength) if strength > 1 else ("case", 1)
    if isinstance(node, ast.MinMaxExpr):
        return ("greatest" if node.op == MinMaxOp.IS_GREATEST else "least"), 2
    fixed = {ast.A_ArrayExpr: "array", ast.RowExpr: "row", ast.CoalesceExpr: "coalesce"}
    for kind, name in fixed.items():
        if isinstance(node, kind):
            return name, 2
    return None, 0


def _last_name(names: Any) -> str | None:
    """The last element of a qualified name (``pg_catalog.lower`` → ``lower``), unless it is ``*``."""
    last = names[-1] if names else None
    return last.sval if isinstance(last, ast.String) else None


def check_column(expression: str) -> str | None:
    """The one column a check expression references, or None (then Postgres names it ``table_check``)."""
    try:
        (raw,) = pglast.parse_sql(f"SELECT ({expression})")
    except (pglast.parser.ParseError, ValueError):
        return None
    columns = {name for name in _column_refs(raw.stmt)}
    return columns.pop() if len(columns) == 1 else None


def _column_refs(node: Any) -> Iterable[str]:
    if isinstance(node, ast.ColumnRef):
        name = _last_name(node.fields)
        if name:
            yield name
        return
    if isinstance(node, ast.Node):
        for attr in node:  # a pglast node iterates over its attribute names
            yield from _column_refs(getattr(node, attr))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _column_refs(item)


@dataclass
class Namespace:
    """The names taken in one schema, so that chosen names avoid them like the server's do.

    Relations (tables, indexes, sequences) share one namespace; constraint names another, which
    constraint-backed indexes (primary keys, uniques) must avoid too.
    """

    relations: set[str] = field(default_factory=set)
    constraints: set[str] = field(default_factory=set)

    def choose_relation(self, name1: str, name2: str | None, label: str, *, constraint: bool = False) -> str:
        """``ChooseRelationName``: the first free ``name1_name2_label[N]``, then taken."""
        n = 0
        while True:
            name = make_object_name(name1, name2, f"{label}{n or ''}")
            if name not in self.relations and not (constraint and name in self.constraints):
                break
            n += 1
        self.relations.add(name)
        if constraint:
            self.constraints.add(name)
        return name

    def choose_constraint(self, name1: str, name2: str | None, label: str) -> str:
        """``ChooseConstraintName``: the first ``name1_name2_label[N]`` no constraint here uses."""
        n = 0
        while (name := make_object_name(name1, name2, f"{label}{n or ''}")) in self.constraints:
            n += 1
        self.constraints.add(name)
        return name
