"""Live statistics of the target database: the one query behind context-aware scoring."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from ..schema.graph import split_qualified
from .subject import ColumnStats, TableStats

# A partitioned table holds no rows itself: its size is the sum of its leaf partitions'.
_QUERY = """
SELECT n.nspname, c.relname, s.rows, s.bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
    SELECT CASE WHEN bool_or(p.reltuples < 0) THEN NULL ELSE sum(p.reltuples)::bigint END AS rows,
           coalesce(sum(pg_table_size(p.oid)), 0)::bigint AS bytes
    FROM pg_class p
    WHERE p.oid IN (
        SELECT t.relid FROM pg_partition_tree(c.oid) t WHERE t.isleaf
        UNION ALL SELECT c.oid WHERE c.relkind <> 'p'
    )
) s
WHERE c.relkind IN ('r', 'p', 'm')
  AND (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""


# Two ANY filters, the pairs picked in Python: a row IN (SELECT ... unnest) makes the planner join the whole
# of pg_statistic (10 ms on an empty database) where these filters reach it by index (0.2 ms).
_COLUMNS = """
SELECT schemaname, tablename, attname, null_frac, n_distinct FROM pg_stats
WHERE NOT inherited AND schemaname = ANY(%s::text[]) AND tablename = ANY(%s::text[])
"""


def live_stats(conn: psycopg.Connection[Any], tables: Iterable[str]) -> dict[str, TableStats]:
    """Estimated rows (``reltuples``; None if never analysed), on-disk size and the columns' ``pg_stats``
    (what the role may see of them) of each existing table."""
    names = sorted({split_qualified(t) for t in tables})
    if not names:
        return {}
    keys = ([s for s, _ in names], [t for _, t in names])
    columns: dict[str, list[tuple[str, ColumnStats]]] = {}
    wanted = set(names)
    for schema, name, column, nulls, distinct in conn.execute(_COLUMNS, keys).fetchall():
        if (schema, name) in wanted:
            columns.setdefault(f"{schema}.{name}", []).append((column, ColumnStats(float(nulls), float(distinct))))
    return {
        f"{schema}.{name}": TableStats(rows=count, bytes=size, columns=tuple(columns.get(f"{schema}.{name}", ())))
        for schema, name, count, size in conn.execute(_QUERY, keys).fetchall()
    }
