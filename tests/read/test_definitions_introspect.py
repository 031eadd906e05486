"""Introspection of definitions: what a real schema's functions, triggers, domains, types, policies,
comments, privileges and dependencies read as; what is left out (extensions, zanith's own objects,
partitions' clones, ignored objects); the diff of each; DDL and JSON round trips."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from support import READER, REALWORLD, REALWORLD_SCHEMAS, WRITER, assert_schema, declared_from_sql

from pytest_zanith.assertions import assert_no_drift
from zanith_core.config import Config, load_config
from zanith_core.diff import diff, render
from zanith_core.generate import generate_operations
from zanith_core.read import introspect
from zanith_core.schema.graph import Dependency, Privilege, SchemaGraph
from zanith_core.schema.scope import without_ignored
from zanith_core.servers import Server, connect
from zanith_core.sources import load_schema
from zanith_core.sql.script import schema_ddl


@pytest.fixture(scope="module")
def realworld(zanith_shadow: Server) -> SchemaGraph:
    return load_schema(str(REALWORLD), server=zanith_shadow, schemas=REALWORLD_SCHEMAS)


def _named(items: Any, name: str) -> Any:
    return next(i for i in items if i.name == name)


def test_functions_and_procedures(realworld: SchemaGraph) -> None:
    slugify = _named(realworld.functions, "slugify")
    assert (slugify.identity, slugify.parameters, slugify.returns) == ("app.slugify(text)", "value text", "text")
    assert (slugify.language, slugify.volatility, slugify.strict) == ("sql", "immutable", True)
    assert slugify.definition.startswith("CREATE OR REPLACE FUNCTION app.slugify(value text)")
    assert "regexp_replace" in slugify.body
    record = _named(realworld.functions, "record_change")
    assert (record.schema, record.language, record.security_definer, record.returns) == (
        "audit",
        "plpgsql",
        True,
        "trigger",
    )
    procedure = _named(realworld.functions, "close_stale_tickets")
    assert (procedure.kind, procedure.returns, procedure.arguments) == ("procedure", None, "integer")
    assert _named(realworld.functions, "current_org").volatility == "stable"
    (aggregate,) = realworld.aggregates
    assert (aggregate.identity, aggregate.state_function, aggregate.state_type, aggregate.initial_value) == (
        "app.sum_positive(numeric)",
        "app.sum_positive_state",
        "numeric",
        "0",
    )
    assert not any(f.name == "sum_positive" for f in realworld.functions)  # an aggregate is not a function


def test_triggers(realworld: SchemaGraph) -> None:
    search = _named(realworld.triggers, "tickets_search")
    assert (search.table, search.timing, search.events, search.level, search.columns) == (
        "app.tickets",
        "BEFORE",
        ("INSERT", "UPDATE"),
        "ROW",
        ("subject", "body"),
    )
    assert search.function == "app.ticket_search_vector()"
    audit = _named(realworld.triggers, "tickets_audit")
    assert (audit.timing, audit.events, audit.when) == ("AFTER", ("INSERT", "UPDATE", "DELETE"), None)
    payments = _named(realworld.triggers, "payments_audit")
    assert payments.when == "(new.amount > (1000)::numeric)"
    assert payments.definition.startswith("CREATE TRIGGER payments_audit AFTER INSERT ON app.payments")


def test_domains_composite_types_policies_and_row_level_security(realworld: SchemaGraph) -> None:
    money = _named(realworld.domains, "positive_money")
    assert (money.base_type, money.default, money.not_null) == ("numeric(12,2)", "0", True)
    assert [(c.name, c.expression) for c in money.checks] == [("positive_money_check", "(VALUE >= (0)::numeric)")]
    address = _named(realworld.composite_types, "address")
    assert [(a.name, a.type) for a in address.attributes] == [
        ("line1", "text"),
        ("city", "text"),
        ("postcode", "text"),
        ("country", "character(2)"),
    ]
    write = _named(realworld.policies, "tickets_tenant_write")
    assert (write.table, write.command, write.permissive, write.roles) == ("app.tickets", "INSERT", True, ("public",))
    assert (write.using, write.with_check) == (None, "(org_id = app.current_org())")
    customers = realworld.table("app.customers")
    assert customers is not None and (customers.rls_enabled, customers.rls_forced) == (True, True)
    counts = _named(realworld.views, "org_ticket_counts")
    key = ("org_ticket_counts_key", True, ("org_id", "state"))
    assert [(i.name, i.unique, i.keys) for i in counts.indexes] == [key]


def test_comments_on_every_kind(realworld: SchemaGraph) -> None:
    assert [(c.identity, c.text) for c in realworld.comments] == [
        ("column app.organizations.slug", "URL-safe unique name"),
        ("function app.slugify(text)", "Lower-case, dash-separated form of a title"),
        ("schema app", "Application tables"),
        ("table app.organizations", "Tenants"),
        ("table app.tickets", "Support requests"),
        ("view app.open_tickets", "Tickets an agent still has to act on"),
    ]


def test_dependencies_from_pg_depend_and_pg_rewrite(realworld: SchemaGraph) -> None:
    deps = set(realworld.dependencies)
    expected = {
        Dependency("view app.urgent_open_tickets", "view app.open_tickets"),  # a view reading a view
        Dependency("view app.open_tickets", "column app.tickets.priority"),  # pg_rewrite, per column
        Dependency("view app.org_ticket_counts", "column app.tickets.state"),  # a materialized view
        Dependency("trigger app.tickets.tickets_touch", "function app.touch_updated_at()"),
        Dependency("trigger app.tickets.tickets_search", "column app.tickets.subject"),  # UPDATE OF
        Dependency("column app.tickets.ref", "function app.next_ticket_ref()"),  # a default
        Dependency("column app.invoices.number", "sequence app.invoice_number_seq"),
        Dependency("column app.users.email", "domain app.email"),
        Dependency("column app.organizations.billing_address", "type app.address"),
        Dependency("policy app.tickets.tickets_tenant", "function app.current_org()"),
        Dependency("aggregate app.sum_positive(numeric)", "function app.sum_positive_state(numeric, numeric)"),
    }
    assert expected <= deps
    # a table's own parts (constraints and indexes on its columns) are the table model's business
    kinds = {(d.dependent.split()[0], d.referenced.split()[0]) for d in deps}
    assert not kinds & {("constraint", "column"), ("index", "column"), ("constraint", "table"), ("index", "table")}


def test_json_round_trip_keeps_dependencies_and_reads_version_1_documents(realworld: SchemaGraph) -> None:
    again = SchemaGraph.from_json(realworld.to_json())
    assert again == realworld and set(again.dependencies) == set(realworld.dependencies)
    data = realworld.to_dict()
    for key in ("functions", "aggregates", "triggers", "domains", "composite_types", "policies", "comments",
                "privileges", "dependencies"):  # fmt: skip
        del data[key]
    for table in data["tables"]:
        del table["rls_enabled"], table["rls_forced"]
    for view in data["views"]:
        del view["indexes"]
    older = SchemaGraph.from_dict(data)  # a document written before definitions existed
    assert older.tables == tuple(replace(t, rls_enabled=False, rls_forced=False) for t in realworld.tables)
    assert older.functions == () and older.dependencies == ()


# -- what is left out -----------------------------------------------------------------------------------


def test_extension_objects_zanith_objects_and_partition_clones_are_left_out(zanith_db: Any) -> None:
    zanith_db.conn.execute(
        """
        CREATE EXTENSION citext;
        CREATE TABLE users (id bigint PRIMARY KEY, email citext, updated_at timestamptz);
        CREATE FUNCTION _zanith_dw_users() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER _zanith_dw_users BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION _zanith_dw_users();
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);
        CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE TRIGGER events_touch BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION touch();
        COMMENT ON FUNCTION _zanith_dw_users() IS 'zanith dual-write';
        """
    )
    graph = introspect(zanith_db.conn)
    assert [f.name for f in graph.functions] == ["touch"]  # none of citext's, not zanith's own
    assert [(t.table, t.name) for t in graph.triggers] == [("public.events", "events_touch")]  # no clone
    assert [e.name for e in graph.extensions] == ["citext"] and graph.comments == ()
    assert graph.table("users").column("email").type == "public.citext"  # type: ignore[union-attr]


def test_a_fixed_number_of_queries_whatever_the_number_of_definitions(zanith_db: Any) -> None:
    conn = zanith_db.conn

    class Counting(psycopg.Cursor[Any]):
        executed: ClassVar[list[str]] = []

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Counting:
            Counting.executed.append(str(query))
            super().execute(query, params, **kwargs)
            return self

    def queries() -> int:
        Counting.executed.clear()
        conn.cursor_factory = Counting
        try:
            introspect(conn)
        finally:
            conn.cursor_factory = psycopg.Cursor
        return len(Counting.executed)

    def add(start: int, stop: int) -> None:
        for n in range(start, stop):
            conn.execute(
                f"CREATE TABLE t{n} (id bigint PRIMARY KEY, v text); ALTER TABLE t{n} ENABLE ROW LEVEL SECURITY;"
                f"CREATE FUNCTION f{n}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
                f"CREATE TRIGGER t{n}_f BEFORE UPDATE ON t{n} FOR EACH ROW EXECUTE FUNCTION f{n}();"
                f"CREATE POLICY p{n} ON t{n} USING (v <> ''); CREATE VIEW v{n} AS SELECT id FROM t{n};"
                f"COMMENT ON TABLE t{n} IS 'n{n}'; CREATE DOMAIN d{n} AS text CHECK (VALUE <> '')"
            )

    add(0, 2)
    few = queries()
    add(2, 40)
    graph = introspect(conn)
    assert (len(graph.functions), len(graph.triggers), len(graph.policies), len(graph.domains)) == (40,) * 4
    assert queries() == few < 30


# -- ignore rules and privileges ------------------------------------------------------------------------------

LEGACY = """
CREATE TABLE orders (id bigint PRIMARY KEY);
CREATE TABLE legacy_orders (id bigint PRIMARY KEY);
COMMENT ON TABLE legacy_orders IS 'kept for the old reports';
CREATE FUNCTION report_totals() RETURNS bigint LANGUAGE sql AS $$ SELECT 1::bigint $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER legacy_touch BEFORE UPDATE ON legacy_orders FOR EACH ROW EXECUTE FUNCTION touch();
"""


def test_ignore_patterns_hide_objects_on_both_sides(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute(LEGACY)
    patterns = ("public.legacy_*", "function public.report_*")
    graph = introspect(zanith_db.conn, ignore=patterns)
    assert [t.name for t in graph.tables] == ["orders"]
    assert [f.name for f in graph.functions] == ["touch"]
    assert graph.triggers == () and graph.comments == ()  # they belong to the ignored table
    assert without_ignored(introspect(zanith_db.conn), patterns) == graph
    # The project's settings reach assert_no_drift: the declared schema does not know legacy_orders.
    settings = '[tool.zanith]\nignore = ["public.legacy_*", "function public.report_*"]\n'
    (tmp_path / "pyproject.toml").write_text(settings)
    declared = declared_from_sql(
        zanith_db.server,
        "CREATE TABLE orders (id bigint PRIMARY KEY);"
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;",
        tmp_path,
    )
    assert_no_drift(declared, zanith_db, config=load_config(tmp_path, environ={}))
    with pytest.raises(AssertionError, match=r"- table public\.legacy_orders"):
        assert_no_drift(declared, zanith_db, config=Config(project_dir=tmp_path))


GRANTS = f"""
CREATE SCHEMA reports;
CREATE TABLE reports.totals (id bigint PRIMARY KEY, amount numeric);
CREATE FUNCTION reports.refresh() RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION reports.audit() RETURNS void LANGUAGE sql AS $$ SELECT $$;
GRANT USAGE ON SCHEMA reports TO {READER};
GRANT SELECT ON reports.totals TO {READER};
GRANT INSERT, UPDATE ON reports.totals TO {WRITER} WITH GRANT OPTION;
REVOKE EXECUTE ON FUNCTION reports.audit() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reports.audit() TO {WRITER};
"""


def test_privileges_are_read_only_when_asked_and_round_trip(
    grantee_roles: tuple[str, str], zanith_db: Any, tmp_path: Path
) -> None:
    zanith_db.conn.execute(GRANTS)
    schemas = ("reports",)
    assert introspect(zanith_db.conn, schemas).privileges == ()
    graph = introspect(zanith_db.conn, schemas, privileges=True)
    assert {(p.identity, p.grantee, p.privilege, p.grantable) for p in graph.privileges} == {
        ("schema reports", READER, "USAGE", False),
        ("table reports.totals", READER, "SELECT", False),
        ("table reports.totals", WRITER, "INSERT", True),
        ("table reports.totals", WRITER, "UPDATE", True),
        ("function reports.refresh()", "PUBLIC", "EXECUTE", False),  # the default a function gets
        ("function reports.audit()", WRITER, "EXECUTE", False),  # PUBLIC's was revoked
    }
    with zanith_db.server.scratch_database() as url, connect(url) as conn:
        for statement in schema_ddl(graph):
            conn.execute(statement)
        assert_schema(introspect(conn, schemas, privileges=True), graph, exact=True)


def test_grants_and_revokes_are_generated(grantee_roles: tuple[str, str], zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute(GRANTS)
    schemas = ("reports",)
    current = introspect(zanith_db.conn, schemas, privileges=True)
    wanted = replace(
        current,
        privileges=(
            *(p for p in current.privileges if p.grantee != WRITER),
            Privilege("function", ("reports", "audit"), "", READER, "EXECUTE"),
        ),
    )
    ops = generate_operations(current, wanted)
    assert [(op.kind, op.target) for op in ops] == [
        ("revoke", f"function reports.audit(): EXECUTE to {WRITER}"),
        ("revoke", f"table reports.totals: INSERT to {WRITER}"),
        ("revoke", f"table reports.totals: UPDATE to {WRITER}"),
        ("grant", f"function reports.audit(): EXECUTE to {READER}"),
    ]
    for op in ops:
        for statement in op.statements():
            zanith_db.conn.execute(statement)
    assert_schema(introspect(zanith_db.conn, schemas, privileges=True), wanted, exact=True)


# -- the diff names each kind ----------------------------------------------------------------------------

DIFF_BASE = """
CREATE TABLE t (id bigint PRIMARY KEY, v integer);
CREATE FUNCTION f() RETURNS integer LANGUAGE sql STABLE AS $$ SELECT 1 $$;
CREATE FUNCTION tg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_tg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION tg();
CREATE POLICY p ON t USING (v > 0);
CREATE DOMAIN d AS integer CHECK (VALUE > 0);
COMMENT ON TABLE t IS 'one';
"""

DIFF_CASES = [
    ("STABLE", "VOLATILE", "function public.f(): volatility stable → volatile"),
    ("SELECT 1 $$", "SELECT 2 $$", "function public.f(): body  SELECT 1  →  SELECT 2 "),
    ("BEFORE UPDATE ON t", "BEFORE INSERT ON t", "table public.t: trigger t_tg: events (UPDATE) → (INSERT)"),
    ("USING (v > 0)", "USING (v > 1)", "table public.t: policy p: using (v > 0) → (v > 1)"),
    ("CHECK (VALUE > 0)", "CHECK (VALUE > 1)", "domain public.d: checks"),
    ("'one'", "'two'", "comment table public.t: text one → two"),
    ("COMMENT ON", "ALTER TABLE t ENABLE ROW LEVEL SECURITY; COMMENT ON", "table public.t: rls_enabled no → yes"),
    ("CREATE POLICY p ON t USING (v > 0);", "", "table public.t: - policy p"),
]


@pytest.mark.parametrize(("old", "new", "line"), DIFF_CASES, ids=[c[2].split(":")[0] + c[1] for c in DIFF_CASES])
def test_each_definition_change_is_reported_by_the_diff(
    zanith_shadow: Server, tmp_path: Path, old: str, new: str, line: str
) -> None:
    before = declared_from_sql(zanith_shadow, DIFF_BASE, tmp_path)
    after = declared_from_sql(zanith_shadow, DIFF_BASE.replace(old, new, 1), tmp_path)
    text = render(diff(before, after))
    assert line in text
    assert len(text.splitlines()) == 1, text  # a function's definition is not reported twice


def test_the_realworld_schema_is_created_in_dependency_order_by_schema_ddl(realworld: SchemaGraph) -> None:
    statements = [s.as_string(None) for s in schema_ddl(realworld)]

    def where(prefix: str) -> int:
        return next(n for n, text in enumerate(statements) if text.startswith(prefix))

    assert where('CREATE DOMAIN "app"."email"') < where('CREATE TABLE "app"."users"')
    assert where("CREATE OR REPLACE FUNCTION app.next_ticket_ref()") < where('CREATE TABLE "app"."tickets"')
    assert where('CREATE VIEW "app"."open_tickets"') < where('CREATE VIEW "app"."urgent_open_tickets"')
    assert where('CREATE TABLE "app"."tickets"') < where("CREATE TRIGGER tickets_touch")
    assert where("CREATE POLICY") > where('CREATE TABLE "app"."customers"')
    assert statements[-1].startswith("COMMENT ON")
