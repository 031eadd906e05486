"""Structural diff of two SchemaGraphs: what was added, removed or changed, object by object.

The diff is the one comparison in zanith: ``assert_no_drift`` renders it, ``zanith diff`` prints it,
``generate`` turns it into operations and shadow verify judges by it. Each :class:`Difference` carries the
whole graph value for an added or removed object and the attribute values for a change, so consumers never
look the objects up again.

Column order is part of a table's shape (``SELECT *``, ``INSERT`` without a column list, ``COPY``,
``RETURNS SETOF t``): a ``column_order`` difference says the order ``ALTER TABLE`` reaches by appending
the added columns is not the other side's, and names what depends on the table's row type. Columns
added at the end are not an order difference; one added in the middle is. Derived attributes (an
index's or check's ``columns``) are not reported either; they change exactly when the text they are
derived from does. A function's or trigger's full
``definition`` is reported only when no attribute read from it (body, volatility, events ...) says what
changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .schema.codec import encode
from .schema.graph import (
    CheckConstraint,
    Column,
    ExclusionConstraint,
    Extension,
    Function,
    Index,
    SchemaGraph,
    Table,
    Trigger,
    qualified,
)
from .schema.queries import order_after_appends, row_type_users

#: Attributes derived from others; reporting them too would only repeat a difference (they are reported
#: when nothing else is).
_DERIVED: dict[type, frozenset[str]] = {
    Index: frozenset({"columns"}),
    CheckConstraint: frozenset({"columns"}),
    ExclusionConstraint: frozenset({"columns"}),
    Function: frozenset({"definition"}),
    Trigger: frozenset({"definition"}),
}

#: Order in which object types are reported (and, for generate, a sensible default order).
OBJECT_TYPES = (
    "schema",
    "extension",
    "collation",
    "text_search_dictionary",
    "text_search_configuration",
    "enum",
    "domain",
    "composite_type",
    "sequence",
    "function",
    "aggregate",
    "table",
    "column",
    "column_order",
    "primary_key",
    "unique",
    "check",
    "exclusion",
    "foreign_key",
    "index",
    "trigger",
    "policy",
    "view",
    "comment",
    "privilege",
)


@dataclass(frozen=True)
class Difference:
    action: str
    """``added``, ``removed`` or ``changed`` (``parked`` for what :func:`parked` reports)."""
    object_type: str
    """One of :data:`OBJECT_TYPES`."""
    table: str | None
    """Qualified table for table-level objects (columns, indexes, constraints), else None."""
    name: str
    """The object's name: qualified for top-level objects, bare within a table."""
    attribute: str | None = None
    before: Any = None
    after: Any = None
    dependents: tuple[str, ...] = ()
    """For a ``column_order`` difference: what depends on the table's row type (``view s.v``,
    ``function s.f()``), whose shape follows the order."""
    artifact: int | None = None
    """For a ``parked`` object: its recovery artifact's id (``zanith recover``), when known."""

    @property
    def path(self) -> str:
        """``public.users.email``: the object this difference is about, for humans and lookups."""
        return f"{self.table}.{self.name}" if self.table else self.name

    def render(self) -> str:
        label = f"{self.object_type.replace('_', ' ')} {self.name}"
        where = f"table {self.table}: " if self.table else ""
        if self.action == "parked":
            kept = f"artifact {self.artifact}" if self.artifact is not None else "no artifact recorded"
            return f"{where}{self.object_type} {self.name} parked as {self.before} (soft-dropped, data kept; {kept})"
        if self.object_type == "column_order":
            users = f" (row type used by {', '.join(self.dependents)})" if self.dependents else ""
            return f"{where}column order {_value(self.before)} → {_value(self.after)}{users}"
        if self.action == "added":
            return f"{where}+ {label}{_summary(self.after)}"
        if self.action == "removed":
            return f"{where}- {label}{_summary(self.before)}"
        return f"{where}{label}: {self.attribute} {_value(self.before)} → {_value(self.after)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "object_type": self.object_type,
            "table": self.table,
            "name": self.name,
            "attribute": self.attribute,
            "before": encode(self.before),
            "after": encode(self.after),
            "dependents": list(self.dependents),
            "artifact": self.artifact,
            "text": self.render(),
        }


def diff(a: SchemaGraph, b: SchemaGraph) -> tuple[Difference, ...]:
    """Every difference that turns ``a`` into ``b``, in a stable order."""
    out: list[Difference] = []
    _named(out, "schema", {s: s for s in a.schemas}, {s: s for s in b.schemas}, None)
    _named(out, "extension", _by(a.extensions, "name"), _by(b.extensions, "name"), None)
    _named(out, "collation", _by_qualified(a.collations), _by_qualified(b.collations), None)
    for kind, field in (("text_search_dictionary", "text_search_dictionaries"),
                        ("text_search_configuration", "text_search_configurations")):
        _named(out, kind, _by_qualified(getattr(a, field)), _by_qualified(getattr(b, field)), None)
    _named(out, "enum", _by_qualified(a.enums), _by_qualified(b.enums), None)
    _named(out, "sequence", _by_qualified(a.sequences), _by_qualified(b.sequences), None)
    ta, tb = _by_qualified(a.tables), _by_qualified(b.tables)
    _named(out, "table", ta, tb, None, compare=False)
    for name in sorted(ta.keys() & tb.keys()):
        if ta[name] != tb[name]:
            _table(out, ta[name], tb[name])
            _column_order(out, (a, ta[name]), (b, tb[name]))
    _named(out, "view", _by_qualified(a.views), _by_qualified(b.views), None)
    _definitions(out, a, b)
    return tuple(sorted(out, key=_order))


def parked(graph: SchemaGraph, artifacts: Mapping[str, int] | None = None) -> tuple[Difference, ...]:
    """The soft-dropped columns and tables ``graph`` holds aside, as ``parked`` differences: not drift
    (they are on their way out, data kept), but never hidden either. ``artifacts`` maps an aside object's
    qualified physical name (``public.users._zanith_1a2b3c4d_email``, ``public._zanith_1a2b3c4d_orders``)
    to its recovery artifact's id."""
    found = []
    for p in graph.parked:
        column = p.kind == "column"
        where = f"{p.table}.{p.physical_name}" if column else qualified(p.table.partition(".")[0], p.physical_name)
        table, name = (p.table, p.name) if column else (None, p.table)
        artifact = (artifacts or {}).get(where)
        found.append(Difference("parked", p.kind, table, name, before=p.physical_name, artifact=artifact))
    return tuple(found)


def without_column_order(differences: Iterable[Difference]) -> tuple[Difference, ...]:
    """``differences`` without ``column_order`` ones: what a project with ``ignore_column_order`` counts."""
    return tuple(d for d in differences if d.object_type != "column_order")


def render(differences: Sequence[Difference]) -> str:
    """One line per difference; empty string when there is none."""
    return "\n".join(d.render() for d in differences)


def _order(d: Difference) -> tuple[Any, ...]:
    return (d.table or d.name, d.table is not None, OBJECT_TYPES.index(d.object_type), d.name, d.attribute or "")


def _table(out: list[Difference], a: Table, b: Table) -> None:
    t = a.qualified_name
    for attr in (
        "unlogged",
        "options",
        "partition_by",
        "partition_of",
        "partition_bound",
        "inherits",
        "rls_enabled",
        "rls_forced",
    ):
        if getattr(a, attr) != getattr(b, attr):
            out.append(Difference("changed", "table", None, t, attr, getattr(a, attr), getattr(b, attr)))
    _named(out, "column", _by(a.columns, "name"), _by(b.columns, "name"), t)
    pa = {a.primary_key.name: a.primary_key} if a.primary_key else {}
    pb = {b.primary_key.name: b.primary_key} if b.primary_key else {}
    _named(out, "primary_key", pa, pb, t)
    _named(out, "index", _by(a.indexes, "name"), _by(b.indexes, "name"), t)
    _named(out, "foreign_key", _by(a.foreign_keys, "name"), _by(b.foreign_keys, "name"), t)
    _named(out, "unique", _by(a.uniques, "name"), _by(b.uniques, "name"), t)
    _named(out, "check", _by(a.checks, "name"), _by(b.checks, "name"), t)
    _named(out, "exclusion", _by(a.exclusions, "name"), _by(b.exclusions, "name"), t)


def _column_order(out: list[Difference], a: tuple[SchemaGraph, Table], b: tuple[SchemaGraph, Table]) -> None:
    """A ``column_order`` difference for a table (in graph ``a``, then ``b``) when ``ALTER TABLE`` alone
    cannot reach its order in ``b``; only then are its row type's users looked for (a scan of both
    whole schemas)."""
    (graph_a, ta), (graph_b, tb) = a, b
    before, after = tuple(c.name for c in ta.columns), tuple(c.name for c in tb.columns)
    if order_after_appends(before, after) != after:
        name = ta.qualified_name
        dependents = tuple(sorted({*row_type_users(graph_a, name), *row_type_users(graph_b, name)}))
        out.append(Difference("changed", "column_order", name, ta.name, "order", before, after, dependents))


def _definitions(out: list[Difference], a: SchemaGraph, b: SchemaGraph) -> None:
    """Functions, aggregates, domains, composite types, triggers, policies, comments and privileges."""
    _named(out, "domain", _by_qualified(a.domains), _by_qualified(b.domains), None)
    _named(out, "composite_type", _by_qualified(a.composite_types), _by_qualified(b.composite_types), None)
    _named(out, "function", _by(a.functions, "identity"), _by(b.functions, "identity"), None)
    _named(out, "aggregate", _by(a.aggregates, "identity"), _by(b.aggregates, "identity"), None)
    for object_type in ("trigger", "policy"):
        field = "triggers" if object_type == "trigger" else "policies"
        tables = {o.table for o in (*getattr(a, field), *getattr(b, field))}
        for table in sorted(tables):
            on_a = {o.name: o for o in getattr(a, field) if o.table == table}
            on_b = {o.name: o for o in getattr(b, field) if o.table == table}
            _named(out, object_type, on_a, on_b, table)
    _named(out, "comment", _by(a.comments, "identity"), _by(b.comments, "identity"), None)
    privileges_a = {f"{p.identity}: {p.privilege} to {p.grantee}": p for p in a.privileges}
    privileges_b = {f"{p.identity}: {p.privilege} to {p.grantee}": p for p in b.privileges}
    _named(out, "privilege", privileges_a, privileges_b, None)


def _named(
    out: list[Difference],
    object_type: str,
    a: dict[str, Any],
    b: dict[str, Any],
    table: str | None,
    *,
    compare: bool = True,
) -> None:
    for name in sorted(a.keys() - b.keys()):
        out.append(Difference("removed", object_type, table, name, before=a[name]))
    for name in sorted(b.keys() - a.keys()):
        out.append(Difference("added", object_type, table, name, after=b[name]))
    if not compare:
        return
    for name in sorted(a.keys() & b.keys()):
        va, vb = a[name], b[name]
        if va == vb or not dataclasses.is_dataclass(va):
            continue
        derived = _DERIVED.get(type(va), frozenset())
        keyed = ("name",) if isinstance(va, Extension) else ("name", "schema")  # an extension's name is its key
        reported = len(out)
        for f in dataclasses.fields(va):
            if f.name in derived or f.name in keyed or not f.compare:
                continue
            x, y = getattr(va, f.name), getattr(vb, f.name)
            if x != y:
                out.append(Difference("changed", object_type, table, name, f.name, x, y))
        if len(out) == reported:
            for attr in sorted(derived):
                x, y = getattr(va, attr), getattr(vb, attr)
                if x != y:
                    out.append(Difference("changed", object_type, table, name, attr, x, y))


def _by(items: Iterable[Any], key: str) -> dict[str, Any]:
    return {getattr(i, key): i for i in items}


def _by_qualified(items: Iterable[Any]) -> dict[str, Any]:
    return {f"{i.schema}.{i.name}": i for i in items}


def _value(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, tuple):
        return "(" + ", ".join(_value(x) for x in v) + ")"
    return str(v)


def _summary(obj: Any) -> str:
    """A short description of an added or removed object, after its name."""
    if isinstance(obj, Column):
        parts = [obj.type]
        if not obj.nullable:
            parts.append("NOT NULL")
        if obj.default is not None:
            parts.append(f"DEFAULT {obj.default}")
        return " " + " ".join(parts)
    if isinstance(obj, Index):
        text = f" ({', '.join(obj.keys)})"
        return (" UNIQUE" if obj.unique else "") + text + (f" WHERE {obj.predicate}" if obj.predicate else "")
    if isinstance(obj, Table):
        n = len(obj.columns)
        return f" ({n} column{'' if n == 1 else 's'})"
    values = getattr(obj, "values", None)
    if isinstance(values, tuple):
        return " (" + ", ".join(values) + ")"
    columns = getattr(obj, "columns", None)
    if isinstance(columns, tuple) and columns and all(isinstance(c, str) for c in columns):
        return f" ({', '.join(columns)})"
    return ""
