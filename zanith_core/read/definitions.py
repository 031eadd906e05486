"""Introspection of everything a schema holds besides tables: definitions, security, comments, dependencies.

Functions and procedures, aggregates, triggers, domains, composite types, row-level security (per-table
flags and policies), materialized views' indexes, comments on every object kind, privileges (only when
the project asks for them) and the dependencies between all of these, as PostgreSQL recorded them in
``pg_depend`` (``pg_rewrite`` stands for a view there). Like the table queries
(:mod:`zanith_core.read.tables`), each kind is one query, whatever the schema's size; they run in the
same transaction, under the same empty ``search_path``, so every name Postgres prints is qualified.

Left out, like the tables' queries leave them out: objects owned by an extension (``pg_depend`` deptype
``e``: they come back with ``CREATE EXTENSION``), zanith's own ``_zanith_*`` objects (dual-write
triggers and their functions, soft-dropped tables), internal triggers (the ones behind foreign keys),
the triggers a partition clones from its parent, and comments, privileges and dependencies of anything
the graph does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ..schema import graph as g
from ..schema.graph import qualified
from ..schema.queries import COLUMN_OWNERS, holds, known_objects, object_key
from .catalog import (
    Row,
    attribute_names,
    closing_paren,
    hidden,
    index_from_row,
    indexes_query,
    not_extension_member,
)

#: Objects created by initdb have lower oids; user objects never do.
FIRST_NORMAL_OBJECT_ID = 16384

_FUNCTIONS = f"""
SELECT n.nspname, p.proname, pg_catalog.oidvectortypes(p.proargtypes), p.prokind,
       pg_catalog.pg_get_function_arguments(p.oid),
       CASE WHEN p.prokind <> 'p' THEN pg_catalog.pg_get_function_result(p.oid) END,
       l.lanname, p.provolatile, p.proisstrict, p.prosecdef, p.prosrc, pg_catalog.pg_get_functiondef(p.oid)
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE p.prokind IN ('f', 'p', 'w') AND n.nspname = ANY(%(schemas)s)
  AND {not_extension_member("pg_proc", "p.oid")}
"""

_AGGREGATES = f"""
SELECT n.nspname, p.proname, pg_catalog.oidvectortypes(p.proargtypes), pg_catalog.pg_get_function_arguments(p.oid),
       a.aggtransfn::pg_catalog.text, pg_catalog.format_type(a.aggtranstype, NULL),
       CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::pg_catalog.text END, a.aggfinalextra,
       CASE WHEN a.aggcombinefn <> 0 THEN a.aggcombinefn::pg_catalog.text END,
       CASE WHEN a.aggserialfn <> 0 THEN a.aggserialfn::pg_catalog.text END,
       CASE WHEN a.aggdeserialfn <> 0 THEN a.aggdeserialfn::pg_catalog.text END,
       a.agginitval,
       CASE WHEN a.aggsortop <> 0 THEN a.aggsortop::pg_catalog.regoper::pg_catalog.text END,
       p.proparallel, a.aggkind
FROM pg_catalog.pg_aggregate a
JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s) AND {not_extension_member("pg_proc", "p.oid")}
"""

# tgparentid (PG 13+) marks the clone a partition gets of its parent's trigger.
_TRIGGERS = f"""
SELECT n.nspname, c.relname, t.tgname, pg_catalog.pg_get_triggerdef(t.oid), t.tgtype, t.tgenabled,
       {attribute_names("t.tgattr::pg_catalog.int2[]", "t.tgrelid")},
       t.tgfoid::pg_catalog.regprocedure::pg_catalog.text, t.tgconstraint <> 0, fn.nspname, fp.proname
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc fp ON fp.oid = t.tgfoid
JOIN pg_catalog.pg_namespace fn ON fn.oid = fp.pronamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname = ANY(%(schemas)s)
"""

_DOMAINS = f"""
SELECT n.nspname, t.typname, pg_catalog.format_type(t.typbasetype, t.typtypmod),
       pg_catalog.pg_get_expr(t.typdefaultbin, 0), t.typnotnull,
       CASE WHEN t.typcollation <> b.typcollation THEN
           CASE WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
                ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END
       END,
       ARRAY(SELECT con.conname FROM pg_catalog.pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname),
       ARRAY(SELECT pg_catalog.pg_get_constraintdef(con.oid) FROM pg_catalog.pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname),
       ARRAY(SELECT con.convalidated FROM pg_catalog.pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype = 'd' AND n.nspname = ANY(%(schemas)s) AND {not_extension_member("pg_type", "t.oid")}
"""

_COMPOSITE_TYPES = f"""
SELECT n.nspname, t.typname,
       ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
       ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
       ARRAY(SELECT CASE WHEN a.attcollation <> at.typcollation THEN
                        pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
             LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
             LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY(%(schemas)s) AND {not_extension_member("pg_type", "t.oid")}
"""

_POLICIES = """
SELECT n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive,
       ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public'
                         ELSE (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = r.oid) END
             FROM unnest(p.polroles) r(oid) ORDER BY 1),
       pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
"""

# Row-level security flags of tables, and the oids of materialized views (for their indexes).
_RELATIONS = """
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
  AND (c.relkind = 'm' OR (c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity)))
"""

_RELATION_KINDS = (
    "WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'f' THEN 'table' WHEN 'v' THEN 'view' "
    "WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' "
    "WHEN 'c' THEN 'type'"
)


def _identity(cls: str, obj: str, sub: str) -> str:
    """A subquery naming the catalog object ``(cls, obj, sub)`` as ``(kind, names, arguments)``.

    Kinds are :class:`~zanith_core.schema.graph.Comment`'s object types (plus ``domain constraint``); objects
    outside the introspected schemas give no row. Each branch is gated by its catalog, so Postgres runs
    only the one that applies.
    """
    ns = "n.nspname = ANY(%(schemas)s)"
    return f"""(
    SELECT CASE WHEN {sub} > 0 THEN 'column' ELSE CASE c.relkind {_RELATION_KINDS} END END,
           CASE WHEN {sub} > 0 THEN ARRAY[n.nspname, c.relname, a.attname] ELSE ARRAY[n.nspname, c.relname] END,
           NULL::pg_catalog.text
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = {sub}
    WHERE {cls} = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = {obj} AND {ns}
    UNION ALL
    SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END,
           ARRAY[n.nspname, p.proname], pg_catalog.oidvectortypes(p.proargtypes)
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE {cls} = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = {obj} AND {ns}
    UNION ALL
    SELECT CASE WHEN t.typtype = 'd' THEN 'domain' WHEN t.typtype = 'e' THEN 'enum'
                WHEN r.relkind IS NULL OR r.relkind = 'c' THEN 'type' ELSE CASE r.relkind {_RELATION_KINDS} END END,
           ARRAY[n.nspname, COALESCE(r.relname, t.typname)], NULL
    FROM pg_catalog.pg_type t0
    JOIN pg_catalog.pg_type t ON t.oid = COALESCE(
        (SELECT e.oid FROM pg_catalog.pg_type e WHERE e.oid = t0.typelem AND e.typarray = t0.oid), t0.oid)
    JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_catalog.pg_class r ON r.oid = t.typrelid
    WHERE {cls} = 'pg_catalog.pg_type'::pg_catalog.regclass AND t0.oid = {obj} AND {ns}
    UNION ALL
    SELECT 'trigger', ARRAY[n.nspname, c.relname, tg.tgname], NULL
    FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE {cls} = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND tg.oid = {obj} AND {ns}
    UNION ALL
    SELECT 'policy', ARRAY[n.nspname, c.relname, po.polname], NULL
    FROM pg_catalog.pg_policy po JOIN pg_catalog.pg_class c ON c.oid = po.polrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE {cls} = 'pg_catalog.pg_policy'::pg_catalog.regclass AND po.oid = {obj} AND {ns}
    UNION ALL
    SELECT CASE WHEN con.contypid <> 0 THEN 'domain constraint' ELSE 'constraint' END,
           ARRAY[n.nspname, COALESCE(c.relname, dt.typname), con.conname], NULL
    FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
    LEFT JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
    LEFT JOIN pg_catalog.pg_type dt ON dt.oid = con.contypid
    WHERE {cls} = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND con.oid = {obj} AND {ns}
    UNION ALL
    SELECT 'column', ARRAY[n.nspname, c.relname, a.attname], NULL
    FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_class c ON c.oid = ad.adrelid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE {cls} = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND ad.oid = {obj} AND {ns}
    UNION ALL
    SELECT CASE c.relkind {_RELATION_KINDS} END, ARRAY[n.nspname, c.relname], NULL
    FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE {cls} = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND rw.oid = {obj} AND c.relkind IN ('v', 'm') AND {ns}
    UNION ALL
    SELECT 'schema', ARRAY[n.nspname], NULL FROM pg_catalog.pg_namespace n
    WHERE {cls} = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.oid = {obj} AND {ns}
)"""


_CATALOGS = "'{pg_class,pg_proc,pg_type,pg_trigger,pg_policy,pg_constraint,pg_attrdef,pg_rewrite,pg_namespace}'"

# The edges between a table's own parts (constraints, defaults and indexes on its columns, a serial
# sequence's ownership) are most of pg_depend and none of the graph's business (see ``_relevant``):
# they are left out before their names are looked up, which is what makes this query cheap.
_DEPENDENCIES = f"""
SELECT DISTINCT dep.kind, dep.names, dep.arguments, ref.kind, ref.names, ref.arguments
FROM pg_catalog.pg_depend d
LEFT JOIN pg_catalog.pg_class dc ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dc.oid = d.objid
LEFT JOIN pg_catalog.pg_class rc ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = d.refobjid
CROSS JOIN LATERAL {_identity("d.classid", "d.objid", "d.objsubid")} dep(kind, names, arguments)
CROSS JOIN LATERAL {_identity("d.refclassid", "d.refobjid", "d.refobjsubid")} ref(kind, names, arguments)
WHERE d.deptype IN ('n', 'a') AND d.objid >= {FIRST_NORMAL_OBJECT_ID} AND d.refobjid >= {FIRST_NORMAL_OBJECT_ID}
  AND d.classid::pg_catalog.regclass::pg_catalog.text = ANY({_CATALOGS}::pg_catalog.text[])
  AND d.refclassid IN ('pg_catalog.pg_class'::pg_catalog.regclass, 'pg_catalog.pg_proc'::pg_catalog.regclass,
                       'pg_catalog.pg_type'::pg_catalog.regclass)
  AND NOT COALESCE(rc.relkind IN ('r', 'p', 'i', 'I', 't')
                   AND (d.classid IN ('pg_catalog.pg_constraint'::pg_catalog.regclass,
                                      'pg_catalog.pg_attrdef'::pg_catalog.regclass)
                        OR dc.relkind IN ('r', 'p', 'i', 'I', 't')
                        OR (dc.relkind = 'S' AND d.refobjsubid > 0)), false)
"""

_COMMENTS = f"""
SELECT o.kind, o.names, o.arguments, d.description
FROM pg_catalog.pg_description d
CROSS JOIN LATERAL {_identity("d.classoid", "d.objoid", "d.objsubid")} o(kind, names, arguments)
WHERE d.objoid >= {FIRST_NORMAL_OBJECT_ID}
  AND d.classoid::pg_catalog.regclass::pg_catalog.text = ANY({_CATALOGS}::pg_catalog.text[])
"""

# The owner's own entries are left out (owners differ between environments); a NULL ACL means the
# default one, which for routines grants EXECUTE to PUBLIC.
_PRIVILEGES = """
SELECT acl.kind, acl.names, acl.arguments,
       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = x.grantee) END,
       x.privilege_type, x.is_grantable
FROM (
    SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END, ARRAY[n.nspname, c.relname], NULL::text,
           COALESCE(c.relacl,
                    pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)),
           c.relowner
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relacl IS NOT NULL AND n.nspname = ANY(%(schemas)s)
    UNION ALL
    SELECT CASE WHEN p.prokind = 'p' THEN 'procedure' ELSE 'function' END, ARRAY[n.nspname, p.proname],
           pg_catalog.oidvectortypes(p.proargtypes),
           COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner)), p.proowner
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p', 'w') AND n.nspname = ANY(%(schemas)s)
    UNION ALL
    SELECT 'schema', ARRAY[n.nspname], NULL, n.nspacl, n.nspowner
    FROM pg_catalog.pg_namespace n WHERE n.nspacl IS NOT NULL AND n.nspname = ANY(%(schemas)s)
) acl(kind, names, arguments, acl, owner)
CROSS JOIN LATERAL pg_catalog.aclexplode(acl.acl) x
WHERE x.grantee <> acl.owner
"""


def definition_queries(server_version_num: int, *, privileges: bool = False) -> dict[str, str]:
    """The catalog queries of this module, by kind (each takes the ``schemas`` parameter)."""
    queries = {
        "functions": _FUNCTIONS,
        "aggregates": _AGGREGATES,
        "triggers": _TRIGGERS,
        "domains": _DOMAINS,
        "composite_types": _COMPOSITE_TYPES,
        "policies": _POLICIES,
        "relations": _RELATIONS,
        "view_indexes": indexes_query(server_version_num, "'m'"),
        "comments": _COMMENTS,
        "dependencies": _DEPENDENCIES,
    }
    if privileges:
        queries["privileges"] = _PRIVILEGES
    return queries


# -- assembling ------------------------------------------------------------------------------------


_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
_PARALLEL = {"s": "safe", "r": "restricted", "u": "unsafe"}
_AGGREGATE_KINDS = {"n": "normal", "o": "ordered-set", "h": "hypothetical"}
_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}

# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h)
_TG_ROW, _TG_BEFORE, _TG_INSTEAD = 1 << 0, 1 << 1, 1 << 6
_TG_EVENTS = (("INSERT", 1 << 2), ("UPDATE", 1 << 4), ("DELETE", 1 << 3), ("TRUNCATE", 1 << 5))


def add_definitions(graph: g.SchemaGraph, rows: Mapping[str, list[Row]]) -> g.SchemaGraph:
    """``graph`` (the tables' part) completed with the rows of :func:`definition_queries`."""
    tables = {t.qualified_name for t in graph.tables}
    relations = [r for r in rows["relations"] if not hidden(r[2])]
    rls = {qualified(s, n): (enabled, forced) for _, s, n, kind, enabled, forced in relations if kind != "m"}
    matviews = {oid: qualified(s, n) for oid, s, n, kind, *_ in relations if kind == "m"}
    view_indexes: dict[str, list[g.Index]] = {}
    for row in rows["view_indexes"]:
        index = index_from_row(row)
        if row[0] in matviews and index is not None:
            view_indexes.setdefault(matviews[row[0]], []).append(index)
    completed = replace(
        graph,
        tables=tuple(_with_rls(t, rls.get(t.qualified_name)) for t in graph.tables),
        views=tuple(replace(v, indexes=_by_name(view_indexes.get(v.qualified_name, ()))) for v in graph.views),
        functions=tuple(_function(r) for r in rows["functions"] if not hidden(r[1])),
        aggregates=tuple(_aggregate(r) for r in rows["aggregates"] if not hidden(r[1])),
        triggers=tuple(
            _trigger(r) for r in rows["triggers"]
            if not hidden(r[1], r[2], r[10]) and (qualified(r[0], r[1]) in tables or _is_view(graph, r[0], r[1]))
        ),
        domains=tuple(_domain(r) for r in rows["domains"] if not hidden(r[1])),
        composite_types=tuple(
            g.CompositeType(s, n, tuple(g.Attribute(*a) for a in zip(names, types, colls, strict=True)))
            for s, n, names, types, colls in rows["composite_types"] if not hidden(n)
        ),
        policies=tuple(_policy(r) for r in rows["policies"] if qualified(r[0], r[1]) in tables),
    )  # fmt: skip
    known = known_objects(completed)
    comments = (g.Comment(k, tuple(n), a, text) for k, n, a, text in rows["comments"])
    privileges = (
        g.Privilege(k, tuple(n), a, grantee, privilege, grantable)
        for k, n, a, grantee, privilege, grantable in rows.get("privileges", ())
        if grantee is not None
    )
    return replace(
        completed,
        comments=tuple(c for c in comments if holds(known, c.object_type, c.names, c.arguments)),
        privileges=tuple(p for p in privileges if holds(known, p.object_type, p.names, p.arguments)),
        dependencies=tuple(_dependencies(rows["dependencies"], known)),
    )


def _by_name(indexes: Iterable[g.Index]) -> tuple[g.Index, ...]:
    return tuple(sorted(indexes, key=lambda i: i.name))


def _with_rls(table: g.Table, flags: tuple[bool, bool] | None) -> g.Table:
    return table if flags is None else replace(table, rls_enabled=flags[0], rls_forced=flags[1])


def _is_view(graph: g.SchemaGraph, schema: str, name: str) -> bool:
    return graph.view(qualified(schema, name)) is not None


def _function(row: Row) -> g.Function:
    schema, name, args, kind, params, returns, language, volatility, strict, secdef, body, definition = row
    return g.Function(
        schema,
        name,
        args,
        kind="procedure" if kind == "p" else "function",
        parameters=params,
        returns=returns,
        language=language,
        volatility=_VOLATILITY[volatility],
        strict=strict,
        security_definer=secdef,
        body=body,
        definition=definition,
    )


def _aggregate(row: Row) -> g.Aggregate:
    (schema, name, args, params, sfunc, stype, final, final_extra, combine, serial, deserial, initial, sortop,
     parallel, kind) = row  # fmt: skip
    return g.Aggregate(
        schema,
        name,
        args,
        params,
        state_function=sfunc,
        state_type=stype,
        final_function=final,
        final_function_extra=final_extra,
        combine_function=combine,
        serial_function=serial,
        deserial_function=deserial,
        initial_value=initial,
        sort_operator=sortop,
        parallel=_PARALLEL[parallel],
        kind=_AGGREGATE_KINDS[kind],
    )


def _trigger(row: Row) -> g.Trigger:
    schema, table, name, definition, tgtype, enabled, columns, function, constraint, _fschema, _fname = row
    timing = "INSTEAD OF" if tgtype & _TG_INSTEAD else "BEFORE" if tgtype & _TG_BEFORE else "AFTER"
    return g.Trigger(
        qualified(schema, table),
        name,
        definition,
        timing=timing,
        events=tuple(event for event, bit in _TG_EVENTS if tgtype & bit),
        level="ROW" if tgtype & _TG_ROW else "STATEMENT",
        columns=tuple(columns),
        when=trigger_condition(definition),
        function=function,
        constraint=constraint,
        enabled=_ENABLED[enabled],
    )


def trigger_condition(definition: str) -> str | None:
    """The ``WHEN`` condition of a ``pg_get_triggerdef`` text, inside its parentheses, or None."""
    start = definition.find(" WHEN (")
    if start < 0:
        return None
    open_paren = start + len(" WHEN ")
    return definition[open_paren + 1 : closing_paren(definition, open_paren)]


def _domain(row: Row) -> g.Domain:
    schema, name, base, default, not_null, collation, check_names, check_defs, validated = row
    checks = tuple(
        g.DomainCheck(n, _check_body(d), v) for n, d, v in zip(check_names, check_defs, validated, strict=True)
    )
    return g.Domain(schema, name, base, default, not_null, collation, checks)


def _check_body(definition: str) -> str:
    """``CHECK ((VALUE > 0)) NOT VALID`` → ``(VALUE > 0)``."""
    start = definition.index("(")
    return definition[start + 1 : closing_paren(definition, start)]


def _policy(row: Row) -> g.Policy:
    schema, table, name, command, permissive, roles, using, with_check = row
    return g.Policy(
        qualified(schema, table), name, _POLICY_COMMANDS[command], permissive, tuple(roles), using, with_check
    )


# -- dependencies ------------------------------------------------------------------------------------


def _dependency_key(kind: str, names: Sequence[str], arguments: str | None, known: set[str]) -> str | None:
    """A row's object as a dependency key, or None when the graph does not hold it.

    Views and materialized views are both ``view``; procedures are ``function``s; a view's or composite
    type's column stands for its owner; a domain's constraint for the domain.
    """
    if kind == "column" and object_key(kind, names) not in known:
        owner = names[:2]
        return next((object_key(k, owner) for o, k in COLUMN_OWNERS if object_key(o, owner) in known), None)
    if kind == "domain constraint":
        kind, names = "domain", names[:2]
    if object_key(kind, names, arguments) not in known:
        return None
    normal = {"materialized view": "view", "procedure": "function"}.get(kind, kind)
    return object_key(normal, names, arguments)


def _dependencies(rows: Iterable[Row], known: set[str]) -> Iterable[g.Dependency]:
    for kind, names, args, ref_kind, ref_names, ref_args in rows:
        dependent = _dependency_key(kind, names, args, known)
        referenced = _dependency_key(ref_kind, ref_names, ref_args, known)
        if dependent and referenced and dependent != referenced and _relevant(dependent, referenced):
            yield g.Dependency(dependent, referenced)


_TABLE_LEVEL = frozenset({"table", "column", "constraint", "index"})


def _relevant(dependent: str, referenced: str) -> bool:
    """Edges between a table's own parts (constraints and indexes on columns, a serial sequence's
    ownership) are the table model's business; every other edge touching a definition is kept."""
    kind, ref_kind = dependent.split(" ", 1)[0], referenced.split(" ", 1)[0]
    return not ((kind in _TABLE_LEVEL and ref_kind in _TABLE_LEVEL) or (kind, ref_kind) == ("sequence", "column"))


__all__ = [
    "add_definitions",
    "definition_queries",
    "trigger_condition",
]
