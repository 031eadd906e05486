"""Both expand/contract generators end to end on a populated table, through the real runner.

After expand, the old and the new name are both readable and writable; after contract, only the new
one is there (with the old NOT NULL, default, index and constraints); each phase's reversal brings the
schema — and the data — back; every step scores within a budget of 35.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest
from convergence import generate_for
from judge import assert_converges
from support import apply, config, live, project, zanith

from zanith_core.authoring.expand_contract import (
    ExpandContractError,
    expand_contract_rename,
    expand_contract_type_change,
    online_pair,
)
from zanith_core.generate import reversal
from zanith_core.migrations import Migration
from zanith_core.migrations.writer import write_migration
from zanith_core.plan import plan, read_target
from zanith_core.schema.graph import SchemaGraph

ROWS = 2000
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

USERS = f"""
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL DEFAULT 'none' CHECK (length(email) > 0),
    score int,
    UNIQUE (email, score)
);
CREATE INDEX users_lower_email ON users (lower(email)) WHERE score > 0;
INSERT INTO users SELECT i, 'u' || i || '@example.com', i % 100 FROM generate_series(1, {ROWS}) i;
ANALYZE users;
"""


@pytest.fixture
def db(zanith_db):
    zanith_db.conn.execute(USERS)
    return zanith_db


def model(graph: SchemaGraph, *migrations: Migration) -> SchemaGraph:
    for m in migrations:
        for op in m.operations:
            graph = op.apply_to(graph)
    return graph


def undo(migration: Migration) -> Migration:
    return Migration(f"{migration.id}_undo", reversal(migration.operations), name=f"undo {migration.id}")


def column_names(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped"
        " ORDER BY attnum"
    ).fetchall()
    return [r[0] for r in rows]


# -- rename ----------------------------------------------------------------------------------------


def test_rename_expand_keeps_both_names_readable_and_writable(db, tmp_path):
    before = live(db.url)
    expand, contract = expand_contract_rename(before, "users", "email", "mail", now=NOW)
    assert (expand.phase, contract.phase) == ("expand", "contract") and expand.id < contract.id

    result = apply(db.url, expand, contract, project_dir=tmp_path)
    assert result.applied == (expand.id,) and result.waiting == (contract.id,)  # the window is open
    conn = db.conn
    assert conn.execute("SELECT count(*) FROM users WHERE mail IS DISTINCT FROM email").fetchone() == (0,)
    assert live(db.url) == model(before, expand)

    conn.execute("INSERT INTO users (id, email) VALUES (-1, 'old@writer')")  # an old client
    conn.execute("INSERT INTO users (id, mail) VALUES (-2, 'new@writer')")  # a new client (email is NOT NULL)
    conn.execute("UPDATE users SET email = 'old@update' WHERE id = 1")
    conn.execute("UPDATE users SET mail = 'new@update' WHERE id = 2")
    rows = conn.execute("SELECT id, email, mail FROM users WHERE id IN (-2, -1, 1, 2) ORDER BY id").fetchall()
    assert rows == [
        (-2, "new@writer", "new@writer"),
        (-1, "old@writer", "old@writer"),
        (1, "old@update", "old@update"),
        (2, "new@update", "new@update"),
    ]


def test_rename_contract_leaves_only_the_new_name_with_everything_carried_over(db, tmp_path):
    before = live(db.url)
    expand, contract = expand_contract_rename(before, "users", "email", "mail", now=NOW)
    apply(db.url, expand, contract, project_dir=tmp_path)
    db.conn.execute("INSERT INTO users (id, mail, score) VALUES (-1, 'window@writer', 5)")
    result = apply(db.url, expand, contract, contract=True, project_dir=tmp_path)
    assert result.applied == (contract.id,)

    conn = db.conn
    assert "email" not in column_names(conn) and "mail" in column_names(conn)
    with pytest.raises(psycopg.errors.UndefinedColumn):
        conn.execute("SELECT email FROM users")
    after = live(db.url)
    assert after == model(before, expand, contract)
    users = after.table("users")
    mail = users.column("mail")
    assert (mail.nullable, mail.default) == (False, "'none'::text")
    assert [(i.name, i.keys, i.predicate) for i in users.indexes] == [
        ("users_lower_email", ("lower(mail)",), "(score > 0)")
    ]
    assert [u.columns for u in users.uniques] == [("mail", "score")]
    assert [(c.expression, c.validated) for c in users.checks] == [("(length(mail) > 0)", True)]
    # Data intact; the old column is aside, its values kept as a recovery artifact.
    assert conn.execute("SELECT mail FROM users WHERE id IN (-1, 7) ORDER BY id").fetchall() == [
        ("window@writer",),
        ("u7@example.com",),
    ]
    assert conn.execute(
        "SELECT kind, row_count FROM zanith._zanith_migration_artifacts WHERE migration_id = %s AND kind LIKE 'soft%%'",
        (contract.id,),
    ).fetchall() == [("soft_dropped_column", ROWS + 1)]
    conn.execute("INSERT INTO users (id) VALUES (-3)")  # the default moved to the new column
    assert conn.execute("SELECT mail FROM users WHERE id = -3").fetchone() == ("none",)


def test_rename_each_phase_reverses(db, tmp_path):
    before = live(db.url)
    expand, contract = expand_contract_rename(before, "users", "email", "mail", now=NOW)
    apply(db.url, expand, contract, project_dir=tmp_path)
    apply(db.url, expand, contract, contract=True, project_dir=tmp_path)
    db.conn.execute("UPDATE users SET mail = 'changed@late' WHERE id = 3")

    apply(db.url, expand, contract, undo(contract), project_dir=tmp_path)
    assert live(db.url) == model(before, expand)
    assert db.conn.execute("SELECT count(*) FROM users WHERE mail IS DISTINCT FROM email").fetchone() == (1,)

    apply(db.url, expand, contract, undo(contract), undo(expand), project_dir=tmp_path)
    assert live(db.url) == before
    assert db.conn.execute("SELECT email FROM users WHERE id = 7").fetchone() == ("u7@example.com",)


def test_rename_expand_reverses_before_contract(db, tmp_path):
    before = live(db.url)
    expand, _contract = expand_contract_rename(before, "users", "email", "mail", now=NOW)
    apply(db.url, expand, project_dir=tmp_path)
    apply(db.url, expand, undo(expand), project_dir=tmp_path)
    assert live(db.url) == before
    db.conn.execute("UPDATE users SET email = 'after@undo' WHERE id = 1")  # no trigger left behind
    assert db.conn.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'users'::regclass").fetchone() == (0,)


# -- type change -----------------------------------------------------------------------------------


def test_type_change_expand_keeps_the_old_column_and_dual_writes_with_the_cast(db, tmp_path):
    before = live(db.url)
    expand, contract = expand_contract_type_change(before, "users", "score", "bigint", now=NOW)
    apply(db.url, expand, contract, project_dir=tmp_path)
    conn = db.conn
    assert conn.execute("SELECT count(*) FROM users WHERE score_new IS DISTINCT FROM score").fetchone() == (0,)
    assert live(db.url) == model(before, expand)
    conn.execute("UPDATE users SET score = 41 WHERE id = 1")
    conn.execute("UPDATE users SET score_new = 42 WHERE id = 2")
    conn.execute("INSERT INTO users (id, email, score) VALUES (-1, 'a', 43)")
    conn.execute("INSERT INTO users (id, email, score_new) VALUES (-2, 'b', 44)")
    rows = conn.execute("SELECT id, score, score_new FROM users WHERE id IN (-2, -1, 1, 2) ORDER BY id").fetchall()
    assert rows == [(-2, 44, 44), (-1, 43, 43), (1, 41, 41), (2, 42, 42)]


def test_type_change_contract_swaps_the_new_column_into_the_old_name(db, tmp_path):
    before = live(db.url)
    expand, contract = expand_contract_type_change(before, "users", "score", "bigint", now=NOW)
    apply(db.url, expand, contract, project_dir=tmp_path)
    apply(db.url, expand, contract, contract=True, project_dir=tmp_path)
    conn = db.conn
    after = live(db.url)
    assert after == model(before, expand, contract)
    users = after.table("users")
    assert [c.name for c in users.columns] == ["id", "email", "score"]
    assert users.column("score").type == "bigint"
    assert [(i.name, i.predicate) for i in users.indexes] == [("users_lower_email", "(score > 0)")]
    assert [u.columns for u in users.uniques] == [("email", "score")]
    assert conn.execute("SELECT score FROM users WHERE id = 150").fetchone() == (50,)
    aside = conn.execute(
        "SELECT physical_name, row_count FROM zanith._zanith_migration_artifacts WHERE migration_id = %s"
        " AND kind = 'soft_dropped_column'",
        (contract.id,),
    ).fetchone()
    assert aside is not None and aside[1] == ROWS and aside[0].startswith("public.users._zanith_")
    old_values = conn.execute(
        f'SELECT pg_typeof("{aside[0].rsplit(".", 1)[1]}")::text, count(*) FROM users GROUP BY 1'
    ).fetchall()
    assert old_values == [("integer", ROWS)]  # the original values, in the original type


def test_type_change_each_phase_reverses(db, tmp_path):
    before = live(db.url)
    expand, contract = expand_contract_type_change(before, "users", "score", "bigint", now=NOW)
    apply(db.url, expand, contract, project_dir=tmp_path)
    apply(db.url, expand, contract, contract=True, project_dir=tmp_path)
    apply(db.url, expand, contract, undo(contract), project_dir=tmp_path)
    assert live(db.url) == model(before, expand)
    apply(db.url, expand, contract, undo(contract), undo(expand), project_dir=tmp_path)
    assert live(db.url) == before
    assert db.conn.execute("SELECT score FROM users WHERE id = 150").fetchone() == (50,)


def test_type_change_with_using_and_reverse_using(db, tmp_path):
    db.conn.execute(
        "CREATE TABLE codes (id int PRIMARY KEY, code text); INSERT INTO codes VALUES (1, '12'), (2, ''), (3, NULL)"
    )
    before = live(db.url)
    expand, contract = expand_contract_type_change(
        before, "codes", "code", "integer", using="NULLIF(code, '')::integer", reverse_using="code_new::text", now=NOW
    )
    apply(db.url, expand, project_dir=tmp_path)
    db.conn.execute("UPDATE codes SET code_new = 7 WHERE id = 3")
    assert db.conn.execute("SELECT id, code, code_new FROM codes ORDER BY id").fetchall() == [
        (1, "12", 12),
        (2, "", None),
        (3, "7", 7),
    ]
    apply(db.url, expand, contract, contract=True, project_dir=tmp_path)
    assert db.conn.execute("SELECT id, code FROM codes ORDER BY id").fetchall() == [(1, 12), (2, None), (3, 7)]


@pytest.mark.parametrize(
    "constraint",
    [
        "CHECK (price >= 0)",
        "CONSTRAINT price_positive CHECK (price >= 0)",
        "CHECK (price >= id)",  # two columns: PostgreSQL names it items_check
        "UNIQUE",
        "REFERENCES prices (cents)",
    ],
    ids=["unnamed-check", "named-check", "two-column-check", "unique", "foreign-key"],
)
def test_type_change_converges_with_the_constraints_named_as_declared(zanith_db, tmp_path, constraint: str):
    """The contract carries each constraint of the retyped column under the name it had — the declared
    schema's — not a free one next to it (``items_price_check1``), which would leave a difference forever."""
    prices = "CREATE TABLE prices (cents bigint PRIMARY KEY);"
    declared = prices + f"CREATE TABLE items (id bigint PRIMARY KEY, price bigint {constraint});"
    zanith_db.conn.execute(
        prices + "INSERT INTO prices SELECT generate_series(1, 300);"
        f"CREATE TABLE items (id bigint PRIMARY KEY, price integer {constraint});"
        "INSERT INTO items SELECT i, i FROM generate_series(1, 300) i"
    )
    expand, contract = expand_contract_type_change(live(zanith_db.url), "items", "price", "bigint", now=NOW)
    apply(zanith_db.url, expand, contract, contract=True, project_dir=tmp_path)

    assert_converges(zanith_db.server, zanith_db.url, declared)
    assert generate_for(zanith_db.server, zanith_db.url, declared, tmp_path) == ()
    assert zanith_db.conn.execute("SELECT count(*), sum(price) FROM items").fetchone() == (300, 45150)


# -- budget and refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("generator", ["rename", "type_change"])
def test_every_step_scores_within_a_budget_of_35(db, tmp_path, generator):
    # Live statistics of a busy table (half a million rows): no small-table discount on the scores.
    db.conn.execute("UPDATE pg_class SET reltuples = 500000 WHERE oid = 'users'::regclass")
    before = live(db.url)
    if generator == "rename":
        pair = expand_contract_rename(before, "users", "email", "mail", now=NOW)
    else:
        pair = expand_contract_type_change(before, "users", "score", "bigint", now=NOW)
    measured = read_target(db.conn, pair, config(tmp_path)).plan(pair, budget=35, config=config(tmp_path))
    static = plan(pair, budget=35, graph=before)
    for scored in (measured, static):
        assert len(scored.steps) == sum(len(m.operations) for m in pair)
        assert [s.label for s in scored.steps if s.score > 35] == []
        assert scored.gate("budget").passed
    assert measured.stats == "live" and not any("small_table" in s.reasons for s in measured.steps)


def test_columns_expand_contract_cannot_carry_are_refused_up_front(db):
    db.conn.execute(
        "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint REFERENCES users(id));"
        "CREATE TABLE logs (line text)"
    )
    graph = live(db.url)
    with pytest.raises(ExpandContractError, match="in the primary key"):
        expand_contract_rename(graph, "users", "id", "user_id")
    with pytest.raises(ExpandContractError, match=r"foreign keys reference it \(public\.orders\.orders_user_id_fkey\)"):
        expand_contract_type_change(graph, "users", "id", "integer")
    with pytest.raises(ExpandContractError, match="no primary key or unique NOT NULL key"):
        expand_contract_rename(graph, "logs", "line", "text")
    with pytest.raises(ExpandContractError, match="already exists"):
        expand_contract_rename(graph, "users", "email", "score")
    with pytest.raises(ExpandContractError, match="does not exist"):
        expand_contract_rename(graph, "users", "nope", "x")
    with pytest.raises(ExpandContractError, match="already has type integer"):
        expand_contract_type_change(graph, "users", "score", "integer")


def test_generators_accept_a_table_and_targets_parse():
    from zanith_core.schema.graph import Column, PrimaryKey, Table

    table = Table("public", "t", (Column("id", "integer", False), Column("a", "text")), PrimaryKey("t_pkey", ("id",)))
    expand, contract = expand_contract_rename(table, "t", "a", "b", now=NOW)
    assert [op.kind for op in expand.operations] == ["add_column", "add_dual_write", "backfill"]
    assert [op.kind for op in contract.operations] == ["drop_dual_write", "soft_drop_column"]
    assert expand.id == "20260102_030405_rename_t_a_to_b_expand"
    assert contract.id == "20260102_030406_rename_t_a_to_b_contract"


def test_the_cli_spelling_picks_the_generator(db):
    graph = live(db.url)
    expand, _ = online_pair(graph, rename="users.email=mail", name="rename email", now=NOW)
    assert expand.id == "20260102_030405_rename_email_expand"
    assert [op.kind for op in expand.operations] == ["add_column", "add_dual_write", "backfill"]
    expand, _ = online_pair(graph, retype="public.users.score=bigint", using="score::bigint * 10", now=NOW)
    assert expand.operations[2].expression == "score::bigint * 10"
    with pytest.raises(ExpandContractError, match=r"expected --online-rename TABLE\.OLD=NEW"):
        online_pair(graph, rename="email=mail")
    with pytest.raises(ExpandContractError, match="exactly one"):
        online_pair(graph, rename="users.email=mail", retype="users.score=bigint")
    with pytest.raises(ExpandContractError, match="--using goes with --online-retype"):
        online_pair(graph, rename="users.email=mail", using="x")


def test_the_window_is_explicit_in_the_cli(db, tmp_path):
    proj = project(tmp_path / "proj")
    for migration in expand_contract_rename(live(db.url), "users", "email", "mail", now=NOW):
        write_migration(migration, proj / "migrations")
    expand_id, contract_id = (
        "20260102_030405_rename_users_email_to_mail_expand",
        ("20260102_030406_rename_users_email_to_mail_contract"),
    )

    first = zanith("apply", "--database-url", db.url, "--json", project=proj)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["applied"] == [expand_id]
    assert json.loads(first.stdout)["waiting"] == [contract_id]
    status = zanith("status", "--database-url", db.url, project=proj)
    assert f"waiting for --contract: {contract_id}" in status.stdout  # the open window

    second = zanith("apply", "--database-url", db.url, "--contract", "--json", project=proj)
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["applied"] == [contract_id]
    assert json.loads(zanith("status", "--database-url", db.url, "--json", project=proj).output)["waiting"] == []


def test_generate_writes_both_phases_from_the_cli(db, tmp_path):
    proj = project(tmp_path / "proj")
    online = ["--online-rename", "users.email=mail"]
    rename = zanith("generate", "--name", "rename email", "--from", db.url, *online, "--json", project=proj)
    assert rename.exit_code == 0, rename.output
    written = json.loads(rename.stdout)["migrations"]
    assert [m["phase"] for m in written] == ["expand", "contract"]
    assert [op["kind"] for op in written[0]["operations"]] == ["add_column", "add_dual_write", "backfill"]
    assert written[1]["operations"][-2]["kind"] == "soft_drop_column"

    db.conn.execute("CREATE TABLE codes (id int PRIMARY KEY, n int); INSERT INTO codes VALUES (1, 5)")
    args = ["--online-retype", "codes.n=bigint", "--using", "n::bigint * 10"]
    retype = zanith("generate", "--name", "wider score", "--from", db.url, *args, project=proj)
    assert retype.exit_code == 0, retype.output
    assert "expand:" in retype.stdout and "contract:" in retype.stdout
    ids = sorted(p.stem for p in (proj / "migrations").glob("*.py"))
    assert len(ids) == 4 and ids[0].endswith("rename_email_expand") and ids[3].endswith("wider_score_contract")

    applied = zanith("apply", "--database-url", db.url, "--contract", "--json", project=proj)
    assert applied.exit_code == 0, applied.output
    assert len(json.loads(applied.stdout)["applied"]) == 4
    assert [c.name for c in live(db.url).table("users").columns] == ["id", "score", "mail"]
    assert db.conn.execute("SELECT n, pg_typeof(n)::text FROM codes").fetchone() == (50, "bigint")

    bad = zanith("generate", "--name", "x", "--from", db.url, "--online-rename", "email=mail", project=proj)
    assert bad.exit_code == 1 and bad.stderr.startswith("error: expected --online-rename TABLE.OLD=NEW")


def test_rename_carries_a_foreign_key_not_valid_then_validated(db, tmp_path):
    db.conn.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, buyer bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE);"
        "INSERT INTO orders SELECT i, i FROM generate_series(1, 50) i"
    )
    before = live(db.url)
    expand, contract = expand_contract_rename(before, "orders", "buyer", "customer_id", now=NOW)
    steps = [(op.kind, op.target) for op in contract.operations]
    fk = "public.orders.orders_customer_id_fkey"
    assert steps.index(("add_foreign_key", fk)) < steps.index(("validate_constraint", fk))
    assert steps.index(("validate_constraint", fk)) < steps.index(
        ("drop_foreign_key", "public.orders.orders_buyer_fkey")
    )
    apply(db.url, expand, contract, project_dir=tmp_path)
    apply(db.url, expand, contract, contract=True, project_dir=tmp_path)
    orders = live(db.url).table("orders")
    assert [(fk.name, fk.columns, fk.ref_table, fk.on_delete, fk.validated) for fk in orders.foreign_keys] == [
        ("orders_customer_id_fkey", ("customer_id",), "public.users", "CASCADE", True)
    ]
    assert orders.column("customer_id").nullable is False
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.conn.execute("INSERT INTO orders (id, customer_id) VALUES (-1, 999999)")
