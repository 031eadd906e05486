"""What both halves of introspection share: catalog fragments, hidden names and reading index rows.

Tables and materialized views hold indexes alike, so the index query and the parsing of its rows live
here; so does the rule that zanith's own ``_zanith_*`` objects are hidden wherever they appear, and the
SQL that leaves out extension members.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..schema import graph as g
from ..schema.graph import RESERVED_PREFIX

Row = tuple[Any, ...]

#: The first server version whose ``pg_index`` has ``indnullsnotdistinct``.
PG15 = 150000
#: The first server version recording NOT NULL as a constraint (``pg_constraint.contype = 'n'``).
PG18 = 180000

_NOT_EXTENSION_MEMBER = """NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend e
    WHERE e.classid = {catalog}::regclass AND e.objid = {oid} AND e.deptype = 'e')"""


def not_extension_member(catalog: str, oid: str) -> str:
    """SQL true for an object (``oid`` in ``pg_catalog.<catalog>``) no extension owns."""
    return _NOT_EXTENSION_MEMBER.format(catalog=f"'pg_catalog.{catalog}'", oid=oid)


def hidden(*names: str | None) -> bool:
    """Whether any of ``names`` is zanith's own (the ledger, soft-dropped objects, dual-write triggers)."""
    return any(n is not None and n.startswith(RESERVED_PREFIX) for n in names)


def any_hidden(names: Iterable[str] | None) -> bool:
    return hidden(*(names or ()))


def attribute_names(numbers: str, relation: str, where: str = "") -> str:
    """SQL for the names of the attributes numbered ``numbers`` (an ``int2[]``) of ``relation``, in the
    array's order (``where`` filters on ``k.num`` / ``k.ord``); numbers with no attribute are left out.

    Each name is looked up by its number (a LATERAL index probe): joined to the whole of ``pg_attribute``
    instead, the planner reads and hashes every attribute of the relation for every row."""
    condition = f" WHERE {where}" if where else ""
    return f"""ARRAY(SELECT a.attname FROM unnest({numbers}) WITH ORDINALITY k(num, ord)
             JOIN LATERAL (SELECT a.attname FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = {relation} AND a.attnum = k.num) a ON true{condition}
             ORDER BY k.ord)"""


# Indexes backing a PK/unique/exclusion constraint belong to the constraint; an index attached to a
# parent's partitioned index (pg_inherits) is the parent's.
_INDEXES = """
SELECT i.indrelid, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisunique, am.amname,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid),
       {include},
       {nulls_not_distinct},
       ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = i.indrelid AND a.attnum > 0
               AND (a.attnum = ANY(i.indkey::pg_catalog.int2[]) OR a.attnum IN (
                    SELECT dep.refobjsubid FROM pg_catalog.pg_depend dep
                    WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = i.indexrelid
                      AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.refobjid = i.indrelid))
             ORDER BY a.attname),
       COALESCE(ic.reloptions, ARRAY[]::pg_catalog.text[])
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                  WHERE con.conrelid = i.indrelid AND con.conindid = i.indexrelid
                    AND con.contype IN ('p', 'u', 'x'))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits inh WHERE inh.inhrelid = i.indexrelid)
"""


def indexes_query(server_version_num: int, relkinds: str = "'r', 'p'") -> str:
    """The index query for a server version, over relations of ``relkinds`` (tables; ``'m'``: materialized
    views), so an index is read the same way wherever it lives."""
    nulls_not_distinct = "i.indnullsnotdistinct" if server_version_num >= PG15 else "false"
    include = attribute_names("i.indkey::pg_catalog.int2[]", "i.indrelid", "k.ord > i.indnkeyatts")
    query = _INDEXES.format(nulls_not_distinct=nulls_not_distinct, include=include)
    return query.replace("c.relkind IN ('r', 'p')", f"c.relkind IN ({relkinds})")


def index_from_row(row: Row) -> g.Index | None:
    """The index of a row of the index query (tables' and materialized views'), or None when hidden."""
    _, name, indexdef, unique, method, predicate, include, nulls_not_distinct, depends_on, options = row
    if hidden(name) or any_hidden(depends_on):
        return None
    return g.Index(
        name,
        index_keys(indexdef),
        unique=unique,
        method=method,
        predicate=predicate,
        include=tuple(include),
        nulls_not_distinct=nulls_not_distinct,
        columns=tuple(depends_on),
        options=tuple(options),
    )


def index_keys(indexdef: str) -> tuple[str, ...]:
    """The key elements of a ``pg_get_indexdef`` text, each exactly as Postgres printed it.

    ``CREATE INDEX i ON public.t USING btree (lower(s) DESC, s COLLATE "C") INCLUDE (n)`` gives
    ``("lower(s) DESC", 's COLLATE "C"')``: the first parenthesis outside quotes opens the key list
    (names before it that contain one are double-quoted), and keys split at its top-level commas.
    """
    start = first_paren(indexdef)
    body = indexdef[start + 1 : closing_paren(indexdef, start)]
    keys: list[str] = []
    depth, begin, quote = 0, 0, ""
    for pos, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            keys.append(body[begin:pos].strip())
            begin = pos + 1
    keys.append(body[begin:].strip())
    return tuple(keys)


def first_paren(text: str) -> int:
    found = text.find("(")
    if found >= 0 and "'" not in text[:found] and '"' not in text[:found]:
        return found  # no quote before it: the first parenthesis is outside quotes
    quote = ""
    for pos, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            return pos
    raise ValueError(f"no parenthesis in {text!r}")


def closing_paren(text: str, start: int) -> int:
    """Position of the parenthesis closing the one at ``start``, skipping quoted text.

    A doubled quote inside a literal or identifier closes and reopens it, which leaves the state right.
    """
    depth, quote = 0, ""
    for pos in range(start, len(text)):
        char = text[pos]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos
    raise ValueError(f"unbalanced parentheses in {text!r}")
