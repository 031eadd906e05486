"""Every SchemaGraph survives the JSON round trip exactly; the format is versioned (and new fields default,
so older documents read); the ignore rules reach every kind."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from support import examples

from pytest_zanith.strategies import schema_diffs, schema_graphs
from zanith_core.diff import diff
from zanith_core.schema.graph import Collation, SchemaGraph, TextSearchConfiguration
from zanith_core.schema.scope import without_ignored


@settings(max_examples=examples(100), deadline=None)
@given(graph=schema_graphs())
def test_generated_graphs_survive_json(graph: SchemaGraph) -> None:
    text = graph.to_json()
    assert SchemaGraph.from_json(text) == graph
    assert SchemaGraph.from_json(text).to_json() == text
    assert diff(graph, SchemaGraph.from_json(text)) == ()


@settings(max_examples=examples(50), deadline=None)
@given(pair=schema_diffs())
def test_evolutions_differ_and_survive_json(pair: tuple[SchemaGraph, SchemaGraph]) -> None:
    before, after = pair
    assert before != after
    assert diff(before, after) != ()
    assert SchemaGraph.from_json(after.to_json()) == after


def test_json_names_its_format_and_version() -> None:
    data = json.loads(SchemaGraph().to_json())
    assert (data["format"], data["version"]) == ("zanith.schema", 1)
    with pytest.raises(ValueError, match="unsupported zanith schema version"):
        SchemaGraph.from_dict({**data, "version": 99})


def test_a_document_written_before_collations_text_search_and_versions_still_reads() -> None:
    old = {
        "format": "zanith.schema",
        "version": 1,
        "schemas": ["public"],
        "extensions": [{"name": "citext", "schema": "public"}],
        "views": [{"schema": "public", "name": "v", "definition": "SELECT 1", "materialized": True}],
    }
    graph = SchemaGraph.from_dict(old)
    assert graph.extensions[0].version is None and graph.views[0].options == ()
    assert graph.collations == graph.text_search_dictionaries == graph.text_search_configurations == ()


def test_ignore_patterns_reach_collations_and_text_search() -> None:
    graph = SchemaGraph(
        collations=(Collation("ext", "x"), Collation("public", "y")),
        text_search_configurations=(TextSearchConfiguration("ext", "c"),),
    )
    assert [c.name for c in without_ignored(graph, ["ext.*"]).collations] == ["y"]
    assert without_ignored(graph, ["text search configuration ext.*"]).text_search_configurations == ()
