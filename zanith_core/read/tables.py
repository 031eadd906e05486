"""Introspection of tables: columns, keys, indexes, constraints, enums, sequences, views, extensions.

Each kind is one catalog query, whatever the number of tables. Left out on purpose:

* zanith's own objects: every ``_zanith_*`` table, column, view, enum and sequence, and every index or
  constraint that depends on a hidden column or points at a hidden table (soft drops, the ledger) —
  soft-dropped columns and tables are listed apart, in ``SchemaGraph.parked``;
* what a partition inherits from its parent: its columns, and the indexes and constraints cloned from
  the parent's (the parent declares them once; a partition keeps only what is its own);
* sequences that implement identity columns (they are part of the column).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from ..schema import graph as g
from ..schema.graph import qualified
from ..schema.identity import stored
from .catalog import (
    PG15,
    PG18,
    Row,
    any_hidden,
    attribute_names,
    closing_paren,
    hidden,
    index_from_row,
    indexes_query,
    not_extension_member,
)

_TABLES = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind = 'p', c.relpersistence = 'u',
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
       pn.nspname, pc.relname,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
       ARRAY(SELECT hn.nspname || '.' || h.relname
             FROM pg_catalog.pg_inherits hi
             JOIN pg_catalog.pg_class h ON h.oid = hi.inhparent
             JOIN pg_catalog.pg_namespace hn ON hn.oid = h.relnamespace
             WHERE hi.inhrelid = c.oid AND NOT c.relispartition ORDER BY hi.inhseqno),
       COALESCE(c.reloptions, ARRAY[]::pg_catalog.text[])
       || ARRAY(SELECT 'toast.' || o FROM pg_catalog.pg_class tc, unnest(tc.reloptions) o
                WHERE tc.oid = c.reltoastrelid)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
  AND {not_extension_member("pg_class", "c.oid")}
"""

# PostgreSQL 18 records NOT NULL as a constraint: an INHERITS child's column merged with the parent's
# (declared in both) is NOT NULL of its own only when that constraint is local, else by inheritance.
_INHERITED_NULLABLE = """NOT (a.attnotnull AND (a.attinhcount = 0 OR EXISTS (
    SELECT 1 FROM pg_catalog.pg_constraint nn WHERE nn.conrelid = a.attrelid AND nn.contype = 'n'
      AND nn.conkey[1] = a.attnum AND nn.conislocal)))"""

# A table's own columns only: a partition's all come from its parent (attislocal is false for every one
# of them, attached or created as a partition), an INHERITS child's inherited ones from its parents.
# A partition's column whose default or NOT NULL differs from its parent's is the partition's own too
# (``PARTITION OF parent (col WITH OPTIONS DEFAULT ...)``): it holds what the partition overrides.
_COLUMNS = """
SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), {nullable},
       CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
       a.attidentity,
       CASE WHEN a.attgenerated = 's' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
       CASE WHEN a.attcollation <> t.typcollation THEN
           CASE WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
                ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END
       END,
       ids.nspname, ids.relname, ids.seqstart, ids.seqincrement, ids.seqmin, ids.seqmax, ids.seqcache, ids.seqcycle
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN LATERAL (
    SELECT sn.nspname, sc.relname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle
    FROM pg_catalog.pg_depend dep
    JOIN pg_catalog.pg_sequence s ON s.seqrelid = dep.objid
    JOIN pg_catalog.pg_class sc ON sc.oid = s.seqrelid
    JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
    WHERE a.attidentity <> '' AND dep.classid = 'pg_catalog.pg_class'::regclass AND dep.deptype = 'i'
      AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.refobjid = a.attrelid
      AND dep.refobjsubid = a.attnum
    LIMIT 1) ids ON true
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
  AND (a.attislocal OR c.relispartition AND EXISTS (
      SELECT 1 FROM pg_catalog.pg_inherits pi
      JOIN pg_catalog.pg_attribute pa ON pa.attrelid = pi.inhparent AND pa.attname = a.attname
      LEFT JOIN pg_catalog.pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum
      WHERE pi.inhrelid = a.attrelid
        AND (pa.attnotnull <> a.attnotnull
             OR pg_catalog.pg_get_expr(pd.adbin, pd.adrelid)
                IS DISTINCT FROM pg_catalog.pg_get_expr(d.adbin, d.adrelid))))
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

# Constraints cloned from a parent (partitions, FKs on partitioned tables) are not local or have a
# parent constraint; NOT NULL constraints (contype 'n', PG 18) are the columns' nullability.
_CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype,
       {keys},
       fn.nspname, fc.relname,
       {referenced_keys},
       con.confupdtype, con.confdeltype, con.confmatchtype,
       con.condeferrable, con.condeferred, con.convalidated, con.connoinherit,
       CASE WHEN con.contype IN ('c', 'x') THEN pg_catalog.pg_get_constraintdef(con.oid) END,
       {nulls_not_distinct},
       CASE WHEN con.contype IN ('c', 'x') THEN ARRAY(
           SELECT DISTINCT a.attname FROM pg_catalog.pg_depend dep
           JOIN pg_catalog.pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
           WHERE dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.refobjid = con.conrelid
             AND dep.refobjsubid > 0
             AND ((dep.classid = 'pg_catalog.pg_constraint'::regclass AND dep.objid = con.oid)
                  OR (dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = con.conindid))
           ORDER BY 1) END,
       COALESCE(cic.reloptions, ARRAY[]::pg_catalog.text[])
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
LEFT JOIN pg_catalog.pg_index ci ON ci.indexrelid = con.conindid
LEFT JOIN pg_catalog.pg_class cic ON cic.oid = con.conindid
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
  AND con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conislocal AND con.conparentid = 0
"""

_ENUMS = f"""
SELECT n.nspname, t.typname,
       ARRAY(SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND n.nspname = ANY(%(schemas)s)
  AND {not_extension_member("pg_type", "t.oid")}
"""

# deptype 'i' ties an identity sequence to its column; 'a' (auto) is OWNED BY.
_SEQUENCES = f"""
SELECT n.nspname, c.relname, pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
       s.seqmin, s.seqmax, s.seqcache, s.seqcycle, own.nspname, own.relname, own.attname
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT tn.nspname, tc.relname, a.attname FROM pg_catalog.pg_depend dep
    JOIN pg_catalog.pg_class tc ON tc.oid = dep.refobjid
    JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
    WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid
      AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.deptype = 'a' AND dep.refobjsubid > 0
    LIMIT 1) own ON true
WHERE n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
                  WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid
                    AND dep.deptype = 'i')
  AND {not_extension_member("pg_class", "c.oid")}
"""

_VIEWS = f"""
SELECT n.nspname, c.relname, pg_catalog.pg_get_viewdef(c.oid), c.relkind = 'm',
       COALESCE(c.reloptions, '{{}}')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY(%(schemas)s)
  AND {not_extension_member("pg_class", "c.oid")}
"""

# plpgsql is installed in every database by initdb; it is part of PostgreSQL, not of a schema.
_EXTENSIONS = """
SELECT x.extname, n.nspname,
       CASE WHEN x.extversion IS DISTINCT FROM a.default_version THEN x.extversion END,
       ARRAY(SELECT u.target FROM pg_catalog.pg_extension_update_paths(x.extname) u
             WHERE u.source = x.extversion AND u.path IS NOT NULL ORDER BY 1)
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
LEFT JOIN pg_catalog.pg_available_extensions a ON a.name = x.extname
WHERE x.extname <> 'plpgsql'
"""

# One statement: read what we must know before the other queries, and make every printer qualify names
# (set_config(..., true) lasts until the end of the transaction introspect() runs in).


def table_queries(server_version_num: int) -> dict[str, str]:
    """The tables' catalog queries for a server version (each takes the ``schemas`` parameter)."""
    con_nnd = "ci.indnullsnotdistinct" if server_version_num >= PG15 else "false"
    return {
        "tables": _TABLES,
        "columns": _COLUMNS.format(nullable=_INHERITED_NULLABLE if server_version_num >= PG18 else "NOT a.attnotnull"),
        "constraints": _CONSTRAINTS.format(
            keys=attribute_names("con.conkey", "con.conrelid"),
            referenced_keys=attribute_names("con.confkey", "con.confrelid"),
            nulls_not_distinct=f"COALESCE({con_nnd}, false)",
        ),
        "indexes": indexes_query(server_version_num),
        "enums": _ENUMS,
        "sequences": _SEQUENCES,
        "views": _VIEWS,
        "extensions": _EXTENSIONS,
    }


# -- assembling ------------------------------------------------------------------------------------


_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


_FK_MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}


_IDENTITY = {"a": "always", "d": "by default"}


@dataclass
class _TableParts:
    """A table's pieces while rows are being sorted into place."""

    schema: str
    name: str
    partitioned: bool
    unlogged: bool
    partition_by: str | None
    partition_of: str | None
    partition_bound: str | None
    inherits: tuple[str, ...]
    columns: list[g.Column]
    options: tuple[str, ...] = ()
    primary_key: g.PrimaryKey | None = None

    def __post_init__(self) -> None:
        self.indexes: list[g.Index] = []
        self.foreign_keys: list[g.ForeignKey] = []
        self.uniques: list[g.UniqueConstraint] = []
        self.checks: list[g.CheckConstraint] = []
        self.exclusions: list[g.ExclusionConstraint] = []

    def table(self) -> g.Table:
        return g.Table(
            schema=self.schema,
            name=self.name,
            columns=tuple(self.columns),
            primary_key=self.primary_key,
            indexes=tuple(self.indexes),
            foreign_keys=tuple(self.foreign_keys),
            uniques=tuple(self.uniques),
            checks=tuple(self.checks),
            exclusions=tuple(self.exclusions),
            unlogged=self.unlogged,
            partition_by=self.partition_by,
            partition_of=self.partition_of,
            partition_bound=self.partition_bound,
            inherits=self.inherits,
            options=self.options,
        )


def build_tables(schemas: tuple[str, ...], rows: Mapping[str, list[Row]]) -> g.SchemaGraph:
    """The tables' part of the graph (no definitions yet) from the rows of :func:`table_queries`."""
    tables: dict[int, _TableParts] = {}
    parked: list[g.Parked] = []
    for oid, schema, name, partitioned, unlogged, part_by, parent_schema, parent, bound, inherits, options in rows[
        "tables"
    ]:
        original = g.parked_name(name)
        if original is not None and parent is None:
            parked.append(g.Parked("table", qualified(schema, original), original, name))
        if hidden(name) or hidden(parent) or any(hidden(p.rpartition(".")[2]) for p in inherits):
            continue
        parent_name = qualified(parent_schema, parent) if parent is not None else None
        tables[oid] = _TableParts(
            schema, name, partitioned, unlogged, part_by, parent_name, bound, tuple(inherits), [], tuple(options)
        )

    columns: defaultdict[int, list[g.Column]] = defaultdict(list)
    for relid, name, type_, nullable, default, identity, generated, collation, *sequence in rows["columns"]:
        original = g.parked_name(name)
        if relid in tables and original is not None:
            owner = tables[relid]
            parked.append(g.Parked("column", qualified(owner.schema, owner.name), original, name))
        if relid in tables and not hidden(name):
            ident = _IDENTITY.get(identity)
            column = g.Column(name, type_, nullable, default, ident, generated, collation)
            if ident is not None and sequence[1] is not None:
                seq_schema, seq_name, *options = sequence
                identity_options = g.IdentityOptions(qualified(seq_schema, seq_name), *options)
                column = stored(tables[relid].schema, tables[relid].name, column, identity_options)
            columns[relid].append(column)
    for relid, cols in columns.items():
        tables[relid].columns = cols

    for row in rows["constraints"]:
        parts = tables.get(row[0])
        if parts is not None:
            _add_constraint(parts, row)
    for row in rows["indexes"]:
        parts = tables.get(row[0])
        if parts is not None:
            _add_index(parts, row)

    sequences = tuple(_sequence(row) for row in rows["sequences"] if not _sequence_hidden(row))
    return g.SchemaGraph(
        schemas=schemas,
        extensions=tuple(g.Extension(n, s, v, tuple(u)) for n, s, v, u in rows["extensions"]),
        enums=tuple(g.Enum(s, n, tuple(v)) for s, n, v in rows["enums"] if not hidden(n)),
        sequences=sequences,
        tables=tuple(p.table() for p in tables.values()),
        views=tuple(g.View(s, n, d, m, options=tuple(o)) for s, n, d, m, o in rows["views"] if not hidden(n)),
        parked=tuple(parked),
    )


def _add_constraint(parts: _TableParts, row: Row) -> None:
    (_, name, kind, cols, ref_schema, ref_table, ref_cols, on_update, on_delete, match, deferrable, deferred,
     validated, no_inherit, definition, nulls_not_distinct, depends_on, options) = row  # fmt: skip
    if hidden(name) or any_hidden(cols) or any_hidden(ref_cols) or hidden(ref_table) or any_hidden(depends_on):
        return
    if kind == "p":
        parts.primary_key = g.PrimaryKey(name, tuple(cols), tuple(options))
    elif kind == "u":
        unique = g.UniqueConstraint(name, tuple(cols), nulls_not_distinct, deferrable, deferred, tuple(options))
        parts.uniques.append(unique)
    elif kind == "f":
        fk = g.ForeignKey(
            name,
            tuple(cols),
            qualified(ref_schema, ref_table),
            tuple(ref_cols),
            on_delete=_FK_ACTIONS[on_delete],
            on_update=_FK_ACTIONS[on_update],
            match=_FK_MATCH[match],
            deferrable=deferrable,
            initially_deferred=deferred,
            validated=validated,
        )
        parts.foreign_keys.append(fk)
    elif kind == "c":
        expression = check_expression(definition)
        parts.checks.append(g.CheckConstraint(name, expression, validated, no_inherit, tuple(depends_on)))
    else:
        parts.exclusions.append(g.ExclusionConstraint(name, definition, tuple(depends_on)))


def check_expression(definition: str) -> str:
    """The expression inside ``CHECK (...)`` of a ``pg_get_constraintdef`` text.

    ``CHECK ((price > 0)) NO INHERIT NOT VALID`` gives ``(price > 0)``; the flags after the closing
    parenthesis are columns of their own in the graph.
    """
    start = definition.index("(")
    return definition[start + 1 : closing_paren(definition, start)]


def _add_index(parts: _TableParts, row: Row) -> None:
    index = index_from_row(row)
    if index is not None:
        parts.indexes.append(index)


def _sequence_hidden(row: Row) -> bool:
    return hidden(row[1]) or hidden(row[10]) or hidden(row[11])


def _sequence(row: Row) -> g.Sequence:
    schema, name, data_type, start, increment, minimum, maximum, cache, cycle, o_schema, o_table, o_column = row
    owned_by = f"{qualified(o_schema, o_table)}.{o_column}" if o_table is not None else None
    return g.Sequence(schema, name, data_type, start, increment, minimum, maximum, cache, cycle, owned_by)
