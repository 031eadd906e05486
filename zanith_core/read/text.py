"""Introspection of how text compares and is searched: collations, text search dictionaries and
configurations (with their mappings).

One query per kind, like the other readers, under the same empty ``search_path`` (so templates, parsers
and dictionaries print qualified); objects an extension owns are left out (they come back with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ..schema import graph as g
from .catalog import Row, hidden, not_extension_member

_PROVIDERS = {"c": "libc", "i": "icu", "b": "builtin"}


def _collations(server_version_num: int) -> str:
    locale = "c.colliculocale" if server_version_num >= 150000 else "NULL"
    locale = "c.colllocale" if server_version_num >= 170000 else locale
    rules = "c.collicurules" if server_version_num >= 160000 else "NULL"
    return f"""
SELECT n.nspname, c.collname, c.collprovider, {locale}, c.collcollate, c.collctype, c.collisdeterministic, {rules}
FROM pg_catalog.pg_collation c
JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
WHERE n.nspname = ANY(%(schemas)s) AND {not_extension_member("pg_collation", "c.oid")}
"""


_DICTIONARIES = f"""
SELECT n.nspname, d.dictname, pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.tmplname),
       d.dictinitoption
FROM pg_catalog.pg_ts_dict d
JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
JOIN pg_catalog.pg_ts_template t ON t.oid = d.dicttemplate
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace
WHERE n.nspname = ANY(%(schemas)s) AND {not_extension_member("pg_ts_dict", "d.oid")}
"""

_CONFIGURATIONS = f"""
SELECT n.nspname, c.cfgname, pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.prsname),
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(tt.alias, ARRAY(
                   SELECT m.mapdict::pg_catalog.regdictionary::pg_catalog.text FROM pg_catalog.pg_ts_config_map m
                   WHERE m.mapcfg = c.oid AND m.maptokentype = tt.tokid ORDER BY m.mapseqno)) ORDER BY tt.alias)
        FROM pg_catalog.ts_token_type(c.cfgparser) tt
        WHERE tt.tokid IN (SELECT m.maptokentype FROM pg_catalog.pg_ts_config_map m WHERE m.mapcfg = c.oid))
FROM pg_catalog.pg_ts_config c
JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
JOIN pg_catalog.pg_ts_parser p ON p.oid = c.cfgparser
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace
WHERE n.nspname = ANY(%(schemas)s) AND {not_extension_member("pg_ts_config", "c.oid")}
"""


def text_queries(server_version_num: int) -> dict[str, str]:
    """The catalog queries of this module, by kind (each takes the ``schemas`` parameter)."""
    return {
        "collations": _collations(server_version_num),
        "text_search_dictionaries": _DICTIONARIES,
        "text_search_configurations": _CONFIGURATIONS,
    }


def add_text_objects(graph: g.SchemaGraph, rows: Mapping[str, list[Row]]) -> g.SchemaGraph:
    """``graph`` with the collations and text search objects of :func:`text_queries`' rows."""
    return replace(
        graph,
        collations=tuple(_collation(r) for r in rows["collations"] if not hidden(r[1])),
        text_search_dictionaries=tuple(
            g.TextSearchDictionary(s, n, template, options)
            for s, n, template, options in rows["text_search_dictionaries"] if not hidden(n)
        ),
        text_search_configurations=tuple(
            g.TextSearchConfiguration(s, n, parser, tuple(g.TextSearchMapping(t, tuple(d)) for t, d in maps or ()))
            for s, n, parser, maps in rows["text_search_configurations"] if not hidden(n)
        ),
    )  # fmt: skip


def _collation(row: Row) -> g.Collation:
    schema, name, provider, locale, collate, ctype, deterministic, rules = row
    libc = provider == "c"
    return g.Collation(
        schema,
        name,
        _PROVIDERS[provider],
        locale=None if libc else locale,
        lc_collate=collate if libc else None,
        lc_ctype=ctype if libc else None,
        deterministic=deterministic,
        rules=rules,
    )


__all__ = ["add_text_objects", "text_queries"]
