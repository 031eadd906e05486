"""Scores of the partitioned forms: locks on the parent versus on each partition (docs/risk.md)."""

from __future__ import annotations

import pytest

from zanith_core.ops import (
    AddForeignKey,
    AddIndex,
    AddPrimaryKey,
    AddUnique,
    CreateTable,
    DropIndex,
    Operation,
    SetPartitionBound,
)
from zanith_core.risk import RiskContext, classify
from zanith_core.schema.graph import Column, ForeignKey, Index, PrimaryKey, SchemaGraph, Table, UniqueConstraint

PARENT = Table(
    "public",
    "m",
    columns=(Column("id", "integer", False), Column("k", "integer", False)),
    indexes=(Index("m_k_idx", ("k",), columns=("k",)),),
    partition_by="RANGE (k)",
)
PLAIN = Table("public", "plain", columns=(Column("id", "integer", False), Column("k", "integer", False)))
PART = Table("public", "m_a", partition_of="public.m", partition_bound="FOR VALUES FROM (0) TO (10)")
DEFAULT = Table("public", "m_rest", partition_of="public.m", partition_bound="DEFAULT")
GRAPH = SchemaGraph(tables=(PARENT, PLAIN, PART))
CONTEXT = RiskContext(graph=GRAPH)
NEW_PART = Table("public", "m_b", partition_of="public.m", partition_bound="FOR VALUES FROM (10) TO (20)")
K = Index("k2", ("k",), columns=("k",))
FK = ForeignKey("m_id_fkey", ("id",), "public.plain", ("id",))


@pytest.mark.parametrize(
    ("op", "context", "score", "reasons"),
    [
        (SetPartitionBound("public.m_a", "public.m", "FOR VALUES FROM (0) TO (5)", PART.partition_bound or ""),
         CONTEXT, 70, {"lock_blocks_reads", "scan_under_lock", "validation_may_fail", "locks_parent"}),
        (AddIndex("public.m", K, partitions=()), CONTEXT, 25, {"index_build", "each_partition"}),
        (AddIndex("public.plain", K), CONTEXT, 25, {"index_build"}),
        (DropIndex("public.m", PARENT.indexes[0], concurrently=False), CONTEXT, 20, {"each_partition"}),
        (AddUnique("public.m", UniqueConstraint("m_uq", ("id", "k")), partitions=()), CONTEXT, 30,
         {"each_partition", "validation_may_fail"}),
        (AddPrimaryKey("public.m", PrimaryKey("m_pkey", ("id", "k")), partitions=()), CONTEXT, 30,
         {"each_partition"}),
        (AddForeignKey("public.m", FK, not_valid=False), CONTEXT, 55,
         {"scan_under_lock", "each_partition", "locks_referenced_table"}),
        (AddForeignKey("public.plain", FK, not_valid=True), CONTEXT, 20, {"lock_brief"}),
        (CreateTable(NEW_PART), CONTEXT, 20, {"locks_parent"}),
        (CreateTable(NEW_PART), RiskContext(graph=SchemaGraph(tables=(PARENT, PART, DEFAULT))), 45,
         {"locks_parent", "scan_under_lock"}),
        (CreateTable(NEW_PART), RiskContext(graph=GRAPH, new_tables=frozenset({"public.m"})), 2, set()),
    ],
    ids=[
        "bounds", "index", "plain index", "drop index", "unique", "primary key", "foreign key",
        "plain foreign key", "new partition", "new partition with a default one", "partition of a new table",
    ],
)  # fmt: skip
def test_partitioned_forms_score_their_locks(
    op: Operation, context: RiskContext, score: int, reasons: set[str]
) -> None:
    risk = classify(op, context)
    assert risk.score == score
    assert reasons <= set(risk.reasons)
    if not op.tables[0].startswith("public.m") or (isinstance(op, CreateTable) and context.new_tables):
        assert "each_partition" not in risk.reasons and "locks_parent" not in risk.reasons
