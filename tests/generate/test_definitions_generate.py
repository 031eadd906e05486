"""Generate for definitions: each kind's change is generated, applied, reaches the declared schema and
its reversal comes back; dependent objects are ordered (and dropped and recreated) around what they block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import apply_ops, declared_from_sql, kinds, live, migrate_and_back, targets

from zanith_core.generate import GenerateError, generate_operations, reversal
from zanith_core.ops.definitions import DropFunction, EnableRls, ReplaceFunction
from zanith_core.risk import RiskContext, classify

CURRENT_ORG = "CREATE FUNCTION current_org() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT 1::bigint $$;"
BASE = f"""
CREATE TABLE items (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    price numeric(10, 2) NOT NULL DEFAULT 0,
    org_id bigint,
    updated_at timestamptz
);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
{CURRENT_ORG}
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_org ON items USING (org_id = current_org());
CREATE DOMAIN price AS numeric(10, 2) CHECK (VALUE >= 0);
CREATE VIEW cheap_items AS SELECT id, name FROM items WHERE price < 10;
COMMENT ON TABLE items IS 'Things we sell';
CREATE TYPE pair AS (a integer, b text);
CREATE SEQUENCE counter INCREMENT BY 1;
CREATE FUNCTION add_positive(s numeric, v numeric) RETURNS numeric LANGUAGE sql IMMUTABLE
    AS $$ SELECT s + greatest(v, 0) $$;
CREATE AGGREGATE sum_positive(numeric) (SFUNC = add_positive, STYPE = numeric, INITCOND = '0');
"""

# (id, [(text in BASE, replacement), ...], the op kinds generate must emit)
CHANGES: list[tuple[str, list[tuple[str, str]], list[str]]] = [
    ("function_body", [("NEW.updated_at := now()", "NEW.updated_at := clock_timestamp()")], ["replace_function"]),
    ("function_volatility", [("LANGUAGE sql STABLE", "LANGUAGE sql IMMUTABLE")], ["replace_function"]),
    ("trigger_events", [("BEFORE UPDATE ON items", "BEFORE INSERT OR UPDATE ON items")], ["replace_trigger"]),
    ("trigger_disabled", [("COMMENT ON TABLE", "ALTER TABLE items DISABLE TRIGGER items_touch; COMMENT ON TABLE")],
     ["replace_trigger"]),
    ("domain_check", [("CHECK (VALUE >= 0)", "CHECK (VALUE > 0)")], ["alter_domain"]),
    ("domain_default", [("CHECK (VALUE >= 0)", "DEFAULT 1 NOT NULL CHECK (VALUE >= 0)")], ["alter_domain"]),
    ("policy_expression", [("USING (org_id = current_org())", "USING (org_id = current_org() OR org_id IS NULL)")],
     ["replace_policy"]),
    ("policy_command", [("items_org ON items USING", "items_org ON items FOR SELECT USING")], ["replace_policy"]),
    ("comment_text", [("'Things we sell'", "'What we sell'")], ["set_comment"]),
    ("comment_added", [("CREATE SEQUENCE", "COMMENT ON FUNCTION touch() IS 'keeps updated_at'; CREATE SEQUENCE")],
     ["set_comment"]),
    ("view_definition", [("price < 10", "price < 20")], ["replace_view"]),
    ("composite_attribute", [("(a integer, b text)", "(a integer, b text, c date)")], ["alter_type"]),
    ("sequence_increment", [("INCREMENT BY 1", "INCREMENT BY 5 MAXVALUE 1000")], ["alter_sequence"]),
    ("aggregate_initial_value", [("INITCOND = '0'", "INITCOND = '1'")], ["replace_aggregate"]),
    ("rls_forced", [("CREATE POLICY", "ALTER TABLE items FORCE ROW LEVEL SECURITY; CREATE POLICY")], ["force_rls"]),
    ("rls_disabled", [("ALTER TABLE items ENABLE ROW LEVEL SECURITY;", "")], ["disable_rls"]),
    ("procedure_added", [("CREATE SEQUENCE", "CREATE PROCEDURE tidy(n integer) LANGUAGE sql AS $$ DELETE FROM items "
                          "WHERE id < n $$; CREATE SEQUENCE")], ["create_function"]),
    ("function_dropped", [(CURRENT_ORG, ""), ("USING (org_id = current_org())", "USING (org_id = 1)")],
     ["replace_policy", "drop_function"]),
    ("view_materialized", [("CREATE VIEW cheap_items", "CREATE MATERIALIZED VIEW cheap_items")], ["replace_view"]),
    ("trigger_dropped", [("CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();",
                          "")], ["drop_trigger"]),
]  # fmt: skip


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_each_change_is_generated_applied_and_reversed(
    zanith_db: Any, tmp_path: Path, edits: list[tuple[str, str]], expected: list[str]
) -> None:
    zanith_db.conn.execute(BASE)
    changed = BASE
    for old, new in edits:
        assert old in changed, old
        changed = changed.replace(old, new, 1)
    declared = declared_from_sql(zanith_db.server, changed, tmp_path)
    ops = migrate_and_back(zanith_db.url, declared)
    assert kinds(ops) == expected


def test_function_return_type_change_recreates_it_with_the_policy_using_it(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute(BASE)
    declared = declared_from_sql(
        zanith_db.server,
        BASE.replace("RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT 1::bigint $$", "RETURNS integer LANGUAGE sql "
                     "STABLE AS $$ SELECT 1 $$"),
        tmp_path,
    )  # fmt: skip
    ops = migrate_and_back(zanith_db.url, declared)
    assert targets(ops) == [
        ("drop_policy", "public.items.items_org"),
        ("drop_function", "public.current_org()"),
        ("create_function", "public.current_org()"),
        ("create_policy", "public.items.items_org"),
    ]


# -- dependency ordering ------------------------------------------------------------------------------------

STACKED = """
CREATE TABLE ledger (id bigint PRIMARY KEY, amount integer NOT NULL, note text);
CREATE VIEW positive_entries AS SELECT id, amount FROM ledger WHERE amount > 0;
CREATE VIEW large_entries AS SELECT id, amount FROM positive_entries WHERE amount > 1000;
COMMENT ON VIEW large_entries IS 'entries worth a second look';
COMMENT ON COLUMN positive_entries.amount IS 'in cents';
CREATE VIEW notes AS SELECT id, note FROM ledger;
"""


def test_type_change_of_a_column_two_stacked_views_use(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute(STACKED)
    zanith_db.conn.execute("INSERT INTO ledger VALUES (1, 5000, 'big'), (2, -3, 'refund')")
    declared = declared_from_sql(zanith_db.server, STACKED.replace("amount integer", "amount bigint"), tmp_path)
    ops = migrate_and_back(zanith_db.url, declared)
    assert targets(ops) == [
        ("drop_view", "public.large_entries"),  # what reads a view goes before it
        ("drop_view", "public.positive_entries"),
        ("alter_column_type", "public.ledger.amount"),
        ("create_view", "public.positive_entries"),
        ("create_view", "public.large_entries"),
    ]  # the view that does not read the column (notes) is left alone
    recreated = [op for op in ops if op.kind == "create_view"]
    assert [c.identity for op in recreated for c in op.comments] == [  # type: ignore[attr-defined]
        "column public.positive_entries.amount",  # the comments come back with the views
        "view public.large_entries",
    ]
    assert zanith_db.conn.execute("SELECT count(*) FROM large_entries").fetchone() == (1,)


FUNCTION_USERS = """
CREATE FUNCTION feature_on(name text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT name <> 'off' $$;
CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, audited boolean DEFAULT feature_on('audit'));
CREATE TABLE audit_log (event_id bigint, at timestamptz DEFAULT now());
CREATE FUNCTION log_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit_log (event_id) VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER events_audit AFTER INSERT ON events FOR EACH ROW WHEN (feature_on(NEW.kind))
    EXECUTE FUNCTION log_event();
"""


def test_dropping_a_function_used_by_a_trigger_and_a_default(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute(FUNCTION_USERS)
    declared = declared_from_sql(
        zanith_db.server,
        """
        CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, audited boolean);
        CREATE TABLE audit_log (event_id bigint, at timestamptz DEFAULT now());
        """,
        tmp_path,
    )
    before = live(zanith_db.url)
    ops = migrate_and_back(zanith_db.url, declared)
    assert targets(ops) == [
        ("drop_trigger", "public.events.events_audit"),
        ("drop_default", "public.events.audited"),
        ("drop_function", "public.feature_on(text)"),
        ("drop_function", "public.log_event()"),
    ]
    # While the trigger and the default still use it, dropping the function is refused by Postgres:
    # the risk model says so; once they are gone (as in the generated order) it is an ordinary drop.
    drop = next(op for op in ops if op.target == "public.feature_on(text)")
    assert isinstance(drop, DropFunction)
    in_use = classify(drop, RiskContext(graph=before))
    assert in_use.score == 70 and "validation_may_fail" in in_use.reasons
    graph = before
    for op in ops[: ops.index(drop)]:
        graph = op.apply_to(graph)
    assert classify(drop, RiskContext(graph=graph)).score == 30


def test_a_domain_used_by_three_tables(zanith_db: Any, tmp_path: Path) -> None:
    tables = "".join(f"CREATE TABLE {t} (id bigint PRIMARY KEY, email text);" for t in ("users", "leads", "contacts"))
    zanith_db.conn.execute(tables)
    domain = "CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');"
    declared = declared_from_sql(zanith_db.server, domain + tables.replace("email text", "email email"), tmp_path)
    # Executed without the runner: its column_backup artifact of a type change keeps the column's type,
    # so the reversal's drop_domain would find the (hidden) backup table still using the domain.
    ops = migrate_and_back(zanith_db.url, declared, runner=False)
    assert targets(ops) == [
        ("create_domain", "public.email"),
        ("alter_column_type", "public.contacts.email"),
        ("alter_column_type", "public.leads.email"),
        ("alter_column_type", "public.users.email"),
    ]
    # The reversal changes the three columns back before it drops the domain.
    assert [op.kind for op in reversal(ops)] == ["alter_column_type"] * 3 + ["drop_domain"]
    apply_ops(zanith_db.url, ops)
    tightened = declared_from_sql(
        zanith_db.server, domain.replace("'%@%'", "'%@%.%'") + tables.replace("email text", "email email"), tmp_path
    )
    assert kinds(migrate_and_back(zanith_db.url, tightened)) == ["alter_domain"]


def test_a_new_table_gets_its_function_default_trigger_and_policy_in_order(zanith_db: Any, tmp_path: Path) -> None:
    declared = declared_from_sql(
        zanith_db.server,
        """
        CREATE SEQUENCE ticket_numbers START WITH 100;
        CREATE FUNCTION next_ref() RETURNS text LANGUAGE sql AS $$ SELECT 'T-' || nextval('ticket_numbers') $$;
        CREATE TABLE tickets (id bigint PRIMARY KEY, ref text NOT NULL DEFAULT next_ref(), org bigint,
                              closed_at timestamptz);
        CREATE FUNCTION visible_org() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT 7::bigint $$;
        CREATE FUNCTION open_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tickets $$;
        ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tickets_org ON tickets USING (org = visible_org());
        COMMENT ON TABLE tickets IS 'support requests';
        """,
        tmp_path,
    )
    ops = migrate_and_back(zanith_db.url, declared)
    assert kinds(ops) == [
        "create_sequence",
        "create_function",  # next_ref: the new table's default calls it
        "create_table",  # with row-level security enabled: nobody can read the new table yet anyway
        "create_function",  # open_count reads the table (a LANGUAGE sql body is checked against it)
        "create_function",
        "create_policy",
        "set_comment",
    ]


def test_enabling_rls_comes_after_the_policies_and_scores_by_them(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute("CREATE TABLE notes (id bigint PRIMARY KEY, owner text)")
    declared = declared_from_sql(
        zanith_db.server,
        "CREATE TABLE notes (id bigint PRIMARY KEY, owner text);"
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY own ON notes USING (owner = current_user);",
        tmp_path,
    )
    before = live(zanith_db.url)
    ops = migrate_and_back(zanith_db.url, declared)
    assert kinds(ops) == ["create_policy", "enable_rls"]
    enable = ops[1]
    assert isinstance(enable, EnableRls)
    assert classify(enable, RiskContext(graph=before)).score == 70  # no policy yet: readers see nothing
    assert classify(enable, RiskContext(graph=ops[0].apply_to(before))).score == 25


def test_replacing_a_function_is_cheap(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute(BASE)
    declared = declared_from_sql(zanith_db.server, BASE.replace("SELECT 1::bigint", "SELECT 2::bigint"), tmp_path)
    (op,) = generate_operations(live(zanith_db.url), declared)
    assert isinstance(op, ReplaceFunction)
    assert classify(op).score <= 5


def test_a_function_a_default_uses_cannot_be_recreated_by_generate(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute(FUNCTION_USERS)
    declared = declared_from_sql(
        zanith_db.server, FUNCTION_USERS.replace("RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT name <> 'off' $$",
                                                 "RETURNS integer LANGUAGE sql STABLE AS $$ SELECT 1 $$")
        .replace("audited boolean", "audited integer").replace("WHEN (feature_on(NEW.kind))",
                                                               "WHEN (feature_on(NEW.kind) = 1)"),
        tmp_path,
    )  # fmt: skip
    with pytest.raises(GenerateError, match=r"function public.feature_on\(text\).*column public.events.audited"):
        generate_operations(live(zanith_db.url), declared)


def test_a_domain_a_soft_dropped_column_still_uses_is_kept(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute("CREATE DOMAIN code AS text; CREATE TABLE t (id bigint PRIMARY KEY, c code)")
    declared = declared_from_sql(zanith_db.server, "CREATE TABLE t (id bigint PRIMARY KEY)", tmp_path)
    with pytest.raises(GenerateError, match=r"domain public\.code cannot be dropped: soft-dropped column public\.t\.c"):
        generate_operations(live(zanith_db.url), declared)
    ops = generate_operations(live(zanith_db.url), declared, hard_drop=True)
    assert kinds(ops) == ["drop_column", "drop_domain"]
    apply_ops(zanith_db.url, ops)


def test_schema_and_extension_come_first_and_go_last(zanith_db: Any, tmp_path: Path) -> None:
    declared = declared_from_sql(
        zanith_db.server,
        "CREATE SCHEMA billing; COMMENT ON SCHEMA billing IS 'money';"
        "CREATE EXTENSION citext WITH SCHEMA public;"
        "CREATE TABLE billing.accounts (id bigint PRIMARY KEY, email public.citext);"
        "CREATE FUNCTION billing.balance(bigint) RETURNS numeric LANGUAGE sql AS $$ SELECT 0::numeric $$;",
        tmp_path,
        schemas=("public", "billing"),
    )
    assert declared.functions == (declared.functions[0],)  # citext's own functions are the extension's
    ops = migrate_and_back(zanith_db.url, declared, schemas=("public", "billing"))
    assert kinds(ops) == ["create_schema", "create_extension", "create_table", "create_function"]
    back = [op.reverse().kind for op in reversed(ops)]
    assert back == ["drop_function", "drop_table", "drop_extension", "drop_schema"]
