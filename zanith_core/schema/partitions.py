"""What PostgreSQL does across a partitioned table's partitions, asked of a graph.

An index (or a unique or primary key) on a partitioned table is one index per partition, attached to
the parent's. ``CREATE INDEX CONCURRENTLY`` is refused on a partitioned table, so an existing one gets
its index piece by piece — ``ON ONLY`` the parent, concurrently on each partition, then attached — and
each piece must carry the name PostgreSQL would have given it when creating it itself
(``ChooseIndexName``: ``payment_p2022_01_customer_id_idx``, ``payment_p2022_01_pkey``), or a database
migrated that way would differ from one loaded from the declared schema.
"""

from __future__ import annotations

from collections.abc import Sequence

from .graph import PartitionIndex, SchemaGraph
from .naming import Namespace, index_column_names, name_addition
from .queries import descendants, relation_names, table_of


def partition_indexes(
    graph: SchemaGraph, table: str, index: str, keys: Sequence[str], include: Sequence[str] = (), label: str = "idx"
) -> tuple[PartitionIndex, ...]:
    """The index each partition of ``table`` (every level, parents first) gets for ``index``.

    ``label`` is PostgreSQL's: ``idx`` for an index, ``key`` for a unique constraint's, ``pkey`` for a
    primary key's (which names no columns).
    """
    namespaces: dict[str, Namespace] = {}
    names = {table_of(graph, table).qualified_name: index}
    pieces: list[PartitionIndex] = []
    for partition in descendants(graph, table):
        namespace = namespaces.setdefault(partition.schema, Namespace(set(relation_names(graph, partition.schema))))
        columns = None if label == "pkey" else name_addition(index_column_names(keys, include))
        name = namespace.choose_relation(partition.name, columns, label, constraint=label != "idx")
        assert partition.partition_of is not None
        parent_index = names[partition.partition_of]
        pieces.append(PartitionIndex(partition.qualified_name, name, parent_index, partition.partition_by is not None))
        names[partition.qualified_name] = name
    return tuple(pieces)
