"""Hypothesis strategies for property tests of schemas and migrations (public API).

``schema_graphs()``
    Valid, *canonical* :class:`~zanith_core.schema.graph.SchemaGraph` values in schema ``public``: what
    Postgres itself would print for them. Executing ``zanith_core.sql.tables.schema_ddl(g)`` on an empty
    database and introspecting it gives ``g`` back exactly, so a generated graph can stand for a
    database in any property test. A graph holds enums (ordered labels), sequences (standalone and
    owned by serial columns), tables (some unlogged) with typed columns (``integer``, ``bigint``,
    ``smallint``, ``text``, ``character varying(n)``, ``boolean``, ``numeric(10,2)``,
    ``timestamp with time zone``, ``date``, ``uuid``, ``jsonb`` and the generated enums), defaults
    Postgres prints back identically, identity, serial and stored generated columns, collations,
    primary keys, foreign keys between the generated tables (to a primary key or unique constraint,
    every action, MATCH FULL, deferrable, NOT VALID), unique constraints (NULLS NOT DISTINCT,
    deferrable), check constraints (NOT VALID, NO INHERIT), btree exclusion constraints and indexes
    (btree, hash, gin; unique, expression, DESC/NULLS FIRST, operator class, partial, INCLUDE).
    Names are valid identifiers, a few of them needing quotes (``"Invoice"``, ``"due date"``).
    Partitioned tables, views and extensions are not generated (their printed text varies across
    server versions or needs an extension).

``schema_diffs()``
    Pairs ``(a, b)`` of such graphs where ``b`` is a plausible evolution of ``a``, built from one to
    four changes: columns added, dropped, renamed, retyped (widened), made (not) nullable, given
    another default or none; indexes, checks, unique constraints and foreign keys added or dropped;
    tables added, dropped or renamed; enum values appended. Both sides are canonical, so
    ``introspect(database migrated from a to b) == b`` is the property a migration tool must meet.
    ``a != b`` always. Each evolution is unambiguous for a tool matching objects by name and shape:
    at most one column added, dropped or renamed per table, at most one table added, dropped or
    renamed, and a name freed by a drop or rename is not taken again.

Both take ``nulls_not_distinct=False`` for servers older than PostgreSQL 15. Typical use::

    from hypothesis import given, settings
    from pytest_zanith.strategies import schema_diffs

    @settings(max_examples=20, deadline=None)
    @given(schema_diffs())
    def test_migration_reaches_target(pair, zanith_shadow): ...
"""

from __future__ import annotations

from hypothesis import strategies as st

from zanith_core.schema.graph import SchemaGraph

from .evolutions import diffs
from .schema_builder import graphs


def schema_graphs(
    *, max_tables: int = 4, max_columns: int = 6, nulls_not_distinct: bool = True
) -> st.SearchStrategy[SchemaGraph]:
    """Valid, canonical schema graphs (see the module docstring)."""
    return graphs(max_tables, max_columns, nulls_not_distinct)


def schema_diffs(
    *, max_tables: int = 4, max_columns: int = 6, nulls_not_distinct: bool = True
) -> st.SearchStrategy[tuple[SchemaGraph, SchemaGraph]]:
    """Pairs ``(a, b)`` where ``b`` is a plausible evolution of ``a`` (see the module docstring)."""
    return diffs(max_tables, max_columns, nulls_not_distinct).filter(lambda pair: pair[0] != pair[1])


__all__ = ["schema_diffs", "schema_graphs"]
