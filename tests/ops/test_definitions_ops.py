"""The definition family's op kinds: every kind has a case run on a real server, where ``apply_to`` must
equal what introspection reads after the op, and the reversal must come back; values survive JSON,
migration files (``repr``) and a double reversal."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from support import READER, assert_schema, declared_from_sql, execute

from zanith_core import migration_api
from zanith_core.ops import (
    CATALOG,
    DEFINITION_KINDS,
    InvalidOperation,
    Lock,
    NotApplicable,
    RenameColumn,
    RenameTable,
    operation_from_dict,
)
from zanith_core.ops import definitions as d
from zanith_core.ops.base import Operation
from zanith_core.read import introspect
from zanith_core.risk import classify
from zanith_core.risk.catalog import OP_KINDS
from zanith_core.schema.graph import Extension, Privilege, SchemaGraph
from zanith_core.servers import Server

BASE = """
CREATE SCHEMA extra;
CREATE TABLE t (id bigint PRIMARY KEY, v integer, note text);
CREATE FUNCTION f() RETURNS integer LANGUAGE sql STABLE AS $$ SELECT 1 $$;
CREATE FUNCTION tg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_tg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION tg();
CREATE POLICY p ON t USING (v > 0);
CREATE DOMAIN d AS integer CHECK (VALUE > 0);
CREATE TYPE pair AS (a integer, b text);
CREATE SEQUENCE s;
CREATE VIEW v AS SELECT id, v FROM t;
COMMENT ON VIEW v IS 'a view';
COMMENT ON COLUMN v.id IS 'the id';
CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE FUNCTION add2(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT a + b $$;
CREATE AGGREGATE total(integer) (SFUNC = add2, STYPE = integer, INITCOND = '0');
CREATE COLLATION coll (provider = libc, locale = 'POSIX');
CREATE TEXT SEARCH DICTIONARY dict (TEMPLATE = snowball, language = 'english');
CREATE TEXT SEARCH DICTIONARY lonely (TEMPLATE = simple);
CREATE TEXT SEARCH CONFIGURATION cfg (PARSER = default);
ALTER TEXT SEARCH CONFIGURATION cfg ADD MAPPING FOR asciiword WITH dict, simple;
"""

# What every object of BASE becomes (the replace / alter cases), and new objects (the create cases).
CHANGED = """
CREATE OR REPLACE FUNCTION f() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 2 $$;
CREATE OR REPLACE TRIGGER t_tg BEFORE INSERT OR UPDATE OF v ON t FOR EACH ROW EXECUTE FUNCTION tg();
DROP POLICY p ON t;
CREATE POLICY p ON t FOR SELECT TO PUBLIC USING (v > 1);
ALTER DOMAIN d SET DEFAULT 1;
ALTER DOMAIN d ADD CONSTRAINT d_small CHECK (VALUE < 100) NOT VALID;
ALTER TYPE pair ADD ATTRIBUTE c date;
ALTER SEQUENCE s INCREMENT BY 2 MAXVALUE 500 CYCLE;
CREATE OR REPLACE VIEW v AS SELECT id, v, note FROM t;
CREATE OR REPLACE AGGREGATE total(integer) (SFUNC = add2, STYPE = integer, INITCOND = '1', PARALLEL = SAFE);
CREATE FUNCTION g(x text DEFAULT 'a') RETURNS SETOF t LANGUAGE sql AS $$ SELECT * FROM t WHERE note = x $$;
COMMENT ON FUNCTION g(text) IS 'rows by note';
CREATE PROCEDURE tidy() LANGUAGE plpgsql AS $$ BEGIN DELETE FROM t WHERE v < 0; END $$;
CREATE TRIGGER t_tg2 AFTER DELETE ON t FOR EACH STATEMENT EXECUTE FUNCTION tg();
CREATE POLICY p2 ON t AS RESTRICTIVE FOR UPDATE USING (v < 10) WITH CHECK (v < 5);
CREATE DOMAIN d2 AS text COLLATE "C" DEFAULT 'x' NOT NULL CHECK (length(VALUE) < 9);
CREATE TYPE pair2 AS (x numeric(4, 1), y text COLLATE "C");
CREATE SEQUENCE s2 AS integer START WITH 7 INCREMENT BY -1 MINVALUE -50 MAXVALUE 7;
CREATE VIEW v2 AS SELECT id FROM v WHERE v > 0;
CREATE MATERIALIZED VIEW mv2 AS SELECT note, count(*) AS n FROM t GROUP BY note;
CREATE INDEX mv2_n ON mv2 (n DESC);
CREATE AGGREGATE total2(integer) (SFUNC = add2, STYPE = integer);
ALTER TEXT SEARCH DICTIONARY lonely (stopwords = 'english');
ALTER TEXT SEARCH CONFIGURATION cfg ALTER MAPPING FOR asciiword WITH simple;
ALTER TEXT SEARCH CONFIGURATION cfg ADD MAPPING FOR word WITH simple;
CREATE COLLATION coll2 (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');
CREATE TEXT SEARCH DICTIONARY dict2 (TEMPLATE = simple, stopwords = 'english');
CREATE TEXT SEARCH CONFIGURATION cfg2 (COPY = english);
ALTER MATERIALIZED VIEW mv SET (fillfactor = 70);
"""


@pytest.fixture(scope="module")
def base(zanith_shadow: Server, tmp_path_factory: pytest.TempPathFactory) -> SchemaGraph:
    return declared_from_sql(zanith_shadow, BASE, tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def changed(zanith_shadow: Server, tmp_path_factory: pytest.TempPathFactory) -> SchemaGraph:
    return declared_from_sql(zanith_shadow, BASE + CHANGED, tmp_path_factory.mktemp("changed"))


def _get(graph: SchemaGraph, field: str, name: str) -> Any:
    return next(o for o in getattr(graph, field) if o.name == name)


def _create(field: str, name: str) -> Callable[[SchemaGraph, SchemaGraph], Operation]:
    def build(_before: SchemaGraph, changed: SchemaGraph) -> Operation:
        item = _get(changed, field, name)
        noun = d.definition_noun(item)
        return d.VERBS[(noun, "create")](item, _comments(changed, item))  # type: ignore[call-arg]

    return build


def _drop(field: str, name: str) -> Callable[[SchemaGraph, SchemaGraph], Operation]:
    def build(before: SchemaGraph, _changed: SchemaGraph) -> Operation:
        item = _get(before, field, name)
        return d.VERBS[(d.definition_noun(item), "drop")](item, _comments(before, item))  # type: ignore[call-arg]

    return build


def _change(field: str, name: str) -> Callable[[SchemaGraph, SchemaGraph], Operation]:
    def build(before: SchemaGraph, changed: SchemaGraph) -> Operation:
        old, new = _get(before, field, name), _get(changed, field, name)
        assert old != new
        if field == "views":
            return d.ReplaceView(new, old, _comments(changed, new), _comments(before, old))
        return d.VERBS[(d.definition_noun(new), "change")](new, old)  # type: ignore[call-arg]

    return build


def _comments(graph: SchemaGraph, item: Any) -> tuple[Any, ...]:
    return tuple(d.attached_comments(graph, *d.FAMILIES[d.definition_noun(item)].comment_target(item)))


def _fixed(op: Operation) -> Callable[[SchemaGraph, SchemaGraph], Operation]:
    return lambda _before, _changed: op


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[SchemaGraph, SchemaGraph], Operation]
    setup: str = ""
    privileges: bool = False


SCHEMAS = ("public", "extra", "extra2")
GRANTED = Privilege("table", ("public", "t"), None, READER, "SELECT")

CASES = [
    Case("create_function", _create("functions", "g")),
    Case("create_function:procedure", _create("functions", "tidy")),
    Case("replace_function", _change("functions", "f")),
    Case("drop_function", _drop("functions", "f")),
    Case("create_aggregate", _create("aggregates", "total2")),
    Case("replace_aggregate", _change("aggregates", "total")),
    Case("drop_aggregate", _drop("aggregates", "total")),
    Case("create_trigger", _create("triggers", "t_tg2")),
    Case("replace_trigger", _change("triggers", "t_tg")),
    Case("drop_trigger", _drop("triggers", "t_tg")),
    Case("create_view", _create("views", "v2")),
    Case("create_view:materialized", _create("views", "mv2")),
    Case("replace_view", _change("views", "v")),
    Case("drop_view", _drop("views", "v")),
    Case("drop_view:materialized", _drop("views", "mv")),
    Case(
        "alter_view_options",
        lambda before, changed: d.AlterViewOptions(_get(changed, "views", "mv"), _get(before, "views", "mv")),
    ),
    Case("create_domain", _create("domains", "d2")),
    Case("alter_domain", _change("domains", "d")),
    Case("drop_domain", _drop("domains", "d")),
    Case("create_type", _create("composite_types", "pair2")),
    Case("alter_type", _change("composite_types", "pair")),
    Case("drop_type", _drop("composite_types", "pair")),
    Case("create_sequence", _create("sequences", "s2")),
    Case("alter_sequence", _change("sequences", "s")),
    Case("drop_sequence", _drop("sequences", "s")),
    Case("create_policy", _create("policies", "p2")),
    Case("replace_policy", _change("policies", "p")),
    Case("drop_policy", _drop("policies", "p")),
    Case("create_collation", _create("collations", "coll2")),
    Case("drop_collation", _drop("collations", "coll")),
    Case("create_text_search_dictionary", _create("text_search_dictionaries", "dict2")),
    Case("alter_text_search_dictionary", _change("text_search_dictionaries", "lonely")),
    Case("drop_text_search_dictionary", _drop("text_search_dictionaries", "lonely")),
    Case("create_text_search_configuration", _create("text_search_configurations", "cfg2")),
    Case("alter_text_search_configuration", _change("text_search_configurations", "cfg")),
    Case("drop_text_search_configuration", _drop("text_search_configurations", "cfg")),
    Case("create_schema", _fixed(d.CreateSchema("extra2", "more things"))),
    Case("drop_schema", _fixed(d.DropSchema("extra"))),
    Case("create_extension", _fixed(d.CreateExtension(Extension("citext")))),
    Case("drop_extension", _fixed(d.DropExtension(Extension("citext"))), setup="CREATE EXTENSION citext"),
    Case(
        "update_extension",
        _fixed(d.UpdateExtension("citext", None, "1.4")),
        setup="CREATE EXTENSION citext VERSION '1.4'",
    ),
    Case("set_comment", _fixed(d.SetComment("table", ("public", "t"), None, "things", None))),
    Case("set_comment:removed", _fixed(d.SetComment("view", ("public", "v"), None, None, "a view"))),
    Case("grant", _fixed(d.Grant(GRANTED)), privileges=True),
    Case("revoke", _fixed(d.Revoke(GRANTED)), setup=f"GRANT SELECT ON t TO {READER}", privileges=True),
    Case("enable_rls", _fixed(d.EnableRls("public.t"))),
    Case("disable_rls", _fixed(d.DisableRls("public.t")), setup="ALTER TABLE t ENABLE ROW LEVEL SECURITY"),
    Case("force_rls", _fixed(d.ForceRls("public.t"))),
    Case("no_force_rls", _fixed(d.NoForceRls("public.t")), setup="ALTER TABLE t FORCE ROW LEVEL SECURITY"),
]


def test_every_definition_kind_has_a_case_and_a_risk_entry() -> None:
    assert {case.id.split(":")[0] for case in CASES} == set(DEFINITION_KINDS)
    assert set(DEFINITION_KINDS) <= set(CATALOG) and set(DEFINITION_KINDS) <= set(OP_KINDS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_apply_to_matches_postgres_and_reverse_comes_back(
    grantee_roles: tuple[str, str],
    zanith_db: Any, base: SchemaGraph, changed: SchemaGraph, case: Case
) -> None:
    conn = zanith_db.conn
    conn.execute(BASE)
    if case.setup:
        conn.execute(case.setup)
    before = introspect(conn, SCHEMAS, privileges=case.privileges)
    op = case.build(before, changed)
    op.validate()
    execute(conn, op)
    after = introspect(conn, SCHEMAS, privileges=case.privileges)
    assert_schema(after, op.apply_to(before), exact=True)
    if op.reversible:  # update_extension is not: extensions ship no downgrade scripts
        execute(conn, op.reverse())
        assert_schema(introspect(conn, SCHEMAS, privileges=case.privileges), before, exact=True)
    if op.kind not in ("grant", "revoke"):  # granting twice is no error, in Postgres either
        with pytest.raises(NotApplicable):
            op.apply_to(after)  # it was applied already: creating what exists, dropping what is gone ...


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_values_survive_json_migration_files_and_double_reversal(
    base: SchemaGraph, changed: SchemaGraph, case: Case
) -> None:
    op = case.build(base, changed)
    assert operation_from_dict(json.loads(json.dumps(op.to_dict()))) == op
    assert eval(repr(op), dict(vars(migration_api))) == op
    assert not op.reversible or op.reverse().reverse() == op
    assert op.sql().endswith(";") and op.target and isinstance(op.lock, Lock)
    assert classify(op).score == OP_KINDS[op.kind].score or op.kind in ("create_view", "replace_view")


def test_identifiers_are_quoted(changed: SchemaGraph) -> None:
    op = d.DropTrigger(_get(changed, "triggers", "t_tg2"))
    assert op.sql() == 'DROP TRIGGER "t_tg2" ON "public"."t";'
    weird = d.SetComment("column", ("public", 'we"ird', "a b"), None, "it's", None)
    assert weird.sql() == 'COMMENT ON COLUMN "public"."we""ird"."a b" IS \'it\'\'s\';'


def test_apply_to_refuses_what_postgres_refuses(base: SchemaGraph) -> None:
    with pytest.raises(NotApplicable, match=r"function public\.tg\(\) is still used by trigger public\.t\.t_tg"):
        d.DropFunction(_get(base, "functions", "tg")).apply_to(base)
    with pytest.raises(NotApplicable, match=r"function public\.add2\(integer, integer\) is still used by aggregate"):
        d.DropFunction(_get(base, "functions", "add2")).apply_to(base)
    with pytest.raises(NotApplicable, match=r"comments on view public\.v"):
        d.DropView(_get(base, "views", "v")).apply_to(base)  # its comments were not recorded for the reversal
    with pytest.raises(NotApplicable, match="schema public still holds"):
        d.DropSchema("public").apply_to(base)
    with pytest.raises(NotApplicable, match="row-level security is already in that state"):
        d.DisableRls("public.t").apply_to(base)


def test_replace_validates_what_cannot_change_in_place(base: SchemaGraph, changed: SchemaGraph) -> None:
    f = _get(base, "functions", "f")
    with pytest.raises(InvalidOperation, match="OR REPLACE cannot change"):
        d.ReplaceFunction(replace(f, returns="bigint"), f).validate()
    with pytest.raises(InvalidOperation, match="`previous` must be the current definition"):
        d.ReplaceFunction(_get(changed, "functions", "g"), f).validate()
    pair = _get(base, "composite_types", "pair")
    reordered = type(pair)(pair.schema, pair.name, tuple(reversed(pair.attributes)))
    with pytest.raises(InvalidOperation, match="can only append attributes"):
        d.AlterType(reordered, pair).validate()


def test_renames_carry_comments_grants_and_triggers_like_postgres(
    grantee_roles: tuple[str, str], zanith_db: Any
) -> None:
    conn = zanith_db.conn
    conn.execute(
        BASE + "COMMENT ON TABLE t IS 'things'; COMMENT ON COLUMN t.v IS 'value';"
        f"GRANT SELECT ON t TO {READER};"
        "CREATE TRIGGER t_v AFTER UPDATE OF v ON t FOR EACH ROW EXECUTE FUNCTION tg();"
    )
    graph = introspect(conn, privileges=True)
    for op in (RenameColumn("public.t", "v", "value"), RenameTable("public.t", "things")):
        graph = op.apply_to(graph)
        execute(conn, op)
    live = introspect(conn, privileges=True)
    assert (graph.comments, graph.privileges) == (live.comments, live.privileges)
    # Postgres reprints expressions with the new names; the graph keeps the text (the diff replaces them).
    assert [(p.table, p.name) for p in graph.policies] == [(p.table, p.name) for p in live.policies]
    assert [(t.table, t.name, t.columns) for t in graph.triggers] == [
        (t.table, t.name, t.columns) for t in live.triggers
    ]
    assert ("public.things", "t_v", ("value",)) in [(t.table, t.name, t.columns) for t in live.triggers]
