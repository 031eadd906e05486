"""What PostgreSQL does across a partitioned table's partitions, asked of a graph.

An index (or a unique or primary key) on a partitioned table is one index per partition, attached to
the parent's. ``CREATE INDEX CONCURRENTLY`` is refused on a partitioned table, so an existing one gets
its index piece by piece — ``ON ONLY`` the parent, concurrently on each partition, then attached — and
each piece must carry the name PostgreSQL would have given it when creating it itself
(``ChooseIndexName``: ``payment_p2022_01_customer_id_idx``, ``payment_p2022_01_pkey``), or a database
migrated that way would differ from one loaded from the declared schema.

The graph does not hold the partitions' attached indexes (they are the parent's), so the names they
took are worked out the same way (:func:`attached_names`) and count as taken: a second index on the same
columns gets ``..._idx1`` on each partition, as PostgreSQL would give it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .graph import PartitionIndex, SchemaGraph, Table, qualified
from .naming import Namespace, index_column_names, make_object_name, name_addition
from .queries import descendants, relation_names, table_of


def _piece(partition: str, keys: Sequence[str], include: Sequence[str], label: str) -> tuple[str, str | None, str]:
    """``ChooseIndexName``'s parts for a partition's piece: its name, the columns' addition, the label."""
    return partition, None if label == "pkey" else name_addition(index_column_names(keys, include)), label


def _parent_keys(table: Table) -> Iterator[tuple[Sequence[str], Sequence[str], str]]:
    """Every index a partitioned ``table`` has its partitions attach: keys, INCLUDE, PostgreSQL's label."""
    for index in table.indexes:
        yield index.keys, index.include, "idx"
    for unique in table.uniques:
        yield unique.columns, (), "key"
    if table.primary_key is not None:
        yield table.primary_key.columns, (), "pkey"


def attached_names(graph: SchemaGraph, schema: str) -> set[str]:
    """The names of the indexes partitions in ``schema`` hold attached to their parents' (not in the graph)."""
    names: set[str] = set()
    for table in graph.tables:
        if table.partition_by is None:
            continue
        for keys, include, label in _parent_keys(table):
            for partition in descendants(graph, table.qualified_name):
                if partition.schema == schema:
                    names.add(make_object_name(*_piece(partition.name, keys, include, label)))
    return names


def partition_indexes(
    graph: SchemaGraph, table: str, index: str, keys: Sequence[str], include: Sequence[str] = (), label: str = "idx"
) -> tuple[PartitionIndex, ...]:
    """The index each partition of ``table`` (every level, parents first) gets for ``index``.

    ``label`` is PostgreSQL's: ``idx`` for an index, ``key`` for a unique constraint's, ``pkey`` for a
    primary key's (which names no columns).
    """
    namespaces: dict[str, Namespace] = {}
    parent = table_of(graph, table)
    names = {parent.qualified_name: qualified(parent.schema, index)}
    pieces: list[PartitionIndex] = []
    for partition in descendants(graph, table):
        taken = namespaces.get(partition.schema)
        if taken is None:
            taken = Namespace(set(relation_names(graph, partition.schema)) | attached_names(graph, partition.schema))
            namespaces[partition.schema] = taken
        name = taken.choose_relation(*_piece(partition.name, keys, include, label), constraint=label != "idx")
        assert partition.partition_of is not None
        parent_index = names[partition.partition_of]
        pieces.append(PartitionIndex(partition.qualified_name, name, parent_index, partition.partition_by is not None))
        names[partition.qualified_name] = qualified(partition.schema, name)
    return tuple(pieces)
