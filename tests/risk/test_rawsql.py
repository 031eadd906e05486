"""Raw SQL is parsed with PostgreSQL's parser and each statement scored like the op kind it amounts to."""

from __future__ import annotations

import pytest

from zanith_core.risk import RiskContext, TableStats, classify_sql
from zanith_core.risk import analyse_sql as analyse
from zanith_core.schema.graph import CheckConstraint, Column, ForeignKey, SchemaGraph, Table, UniqueConstraint

STATIC = RiskContext()

# (statement, op kinds it maps onto, reasons it must carry, reasons it must not carry, score)
STATEMENTS = [
    (
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",
        ("add_index",),
        {"index_build", "non_transactional", "invalid_on_failure"},
        {"lock_blocks_writes"},
        25,
    ),
    (
        "CREATE INDEX users_email_idx ON users (email)",
        ("add_index",),
        {"lock_blocks_writes", "index_build"},
        {"non_transactional"},
        50,
    ),
    (
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)",
        ("add_index",),
        {"validation_may_fail", "invalid_on_failure"},
        set(),
        30,
    ),
    (
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)",
        ("add_foreign_key",),
        {"lock_blocks_writes", "scan_under_lock", "locks_referenced_table"},
        set(),
        55,
    ),
    (
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
        ("add_foreign_key",),
        {"lock_brief", "locks_referenced_table"},
        {"scan_under_lock"},
        20,
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT age_pos CHECK (age > 0)",
        ("add_check",),
        {"scan_under_lock", "lock_blocks_reads", "validation_may_fail"},
        set(),
        50,
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT age_pos CHECK (age > 0) NOT VALID",
        ("add_check",),
        {"lock_brief"},
        {"scan_under_lock"},
        15,
    ),
    ("ALTER TABLE users VALIDATE CONSTRAINT age_pos", ("validate_constraint",), {"validation_may_fail"}, set(), 20),
    (
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
        ("set_not_null",),
        {"scan_under_lock", "lock_blocks_reads"},
        set(),
        50,
    ),
    ("ALTER TABLE users ALTER COLUMN email DROP NOT NULL", ("drop_not_null",), {"lock_brief"}, set(), 15),
    (
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()",
        ("add_column",),
        {"volatile_default", "table_rewrite", "lock_blocks_reads"},
        {"lock_brief"},
        60,
    ),
    (
        "ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now()",
        ("add_column",),
        {"lock_brief"},
        {"table_rewrite"},
        10,
    ),
    ("ALTER TABLE users ADD COLUMN id2 bigserial", ("add_column",), {"table_rewrite"}, set(), 60),
    ("ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY", ("add_column",), {"table_rewrite"}, set(), 60),
    (
        "ALTER TABLE users ADD COLUMN d int GENERATED ALWAYS AS (age * 2) STORED",
        ("add_column",),
        {"table_rewrite"},
        set(),
        60,
    ),
    (
        "ALTER TABLE users ADD COLUMN code text NOT NULL",
        ("add_column",),
        {"validation_may_fail", "breaks_old_writers"},
        set(),
        40,
    ),
    (
        "ALTER TABLE users ADD COLUMN code text UNIQUE",
        ("add_column", "add_unique"),
        {"index_build", "lock_blocks_reads"},
        set(),
        60,
    ),
    (
        "ALTER TABLE users ALTER COLUMN age TYPE bigint",
        ("alter_column_type",),
        {"table_rewrite", "lock_blocks_reads"},
        set(),
        60,
    ),
    ("ALTER TABLE users ALTER COLUMN email SET DEFAULT 'x'", ("set_default",), {"lock_brief"}, set(), 10),
    ("ALTER TABLE users ALTER COLUMN email DROP DEFAULT", ("drop_default",), {"breaks_old_writers"}, set(), 15),
    ("ALTER TABLE users DROP COLUMN email", ("drop_column",), {"data_loss", "breaks_old_readers"}, set(), 80),
    (
        "ALTER TABLE users RENAME COLUMN email TO mail",
        ("rename_column",),
        {"breaks_old_readers", "breaks_old_writers"},
        set(),
        30,
    ),
    ("ALTER TABLE users RENAME TO people", ("rename_table",), {"breaks_old_readers"}, set(), 30),
    ("ALTER INDEX users_email_idx RENAME TO users_mail_idx", ("rename_index",), {"version_dependent"}, set(), 5),
    (
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id)",
        ("add_primary_key",),
        {"lock_blocks_reads", "index_build"},
        set(),
        60,
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key",
        ("add_unique",),
        {"lock_brief"},
        {"index_build"},
        15,
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
        ("add_unique",),
        {"index_build", "lock_blocks_reads"},
        set(),
        60,
    ),
    ("DROP TABLE users", ("drop_table",), {"data_loss", "breaks_old_readers"}, set(), 90),
    ("DROP INDEX CONCURRENTLY users_email_idx", ("drop_index",), {"non_transactional"}, set(), 10),
    ("DROP INDEX users_email_idx", ("drop_index",), {"lock_brief"}, set(), 15),
    (
        "CREATE TABLE audit (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))",
        ("create_table",),
        {"locks_referenced_table"},
        set(),
        5,
    ),
    ("CREATE TYPE mood AS ENUM ('sad', 'happy')", ("create_enum",), set(), set(), 0),
    ("ALTER TYPE mood ADD VALUE 'ok'", ("add_enum_value",), {"version_dependent"}, set(), 5),
    ("DROP TYPE mood", ("drop_enum",), {"breaks_old_readers"}, set(), 10),
    ("TRUNCATE users", (), {"data_loss"}, set(), 90),
    ("DELETE FROM users", (), {"data_loss"}, set(), 85),
    ("DELETE FROM users WHERE id = 1", (), {"data_loss"}, set(), 45),
    ("UPDATE users SET age = 0", (), {"backfill_required"}, set(), 50),
    ("UPDATE users SET age = 0 WHERE age IS NULL", (), {"backfill_required"}, set(), 20),
    ("INSERT INTO users (id) VALUES (1)", (), set(), set(), 5),
    ("SET lock_timeout = '2s'", (), set(), set(), 0),
    (
        "ALTER TABLE m ATTACH PARTITION m_x FOR VALUES FROM (1) TO (2)",
        (),
        {"locks_parent", "scan_under_lock", "validation_may_fail"},
        {"unclassified_sql"},
        40,
    ),
    ("ALTER TABLE m DETACH PARTITION m_x", (), {"locks_parent", "lock_brief"}, {"unclassified_sql"}, 30),
    ("ALTER TABLE m DETACH PARTITION m_x CONCURRENTLY", (), {"locks_parent", "non_transactional"}, set(), 15),
    ("ALTER INDEX m_k_idx ATTACH PARTITION m_x_k_idx", (), {"lock_brief"}, {"unclassified_sql"}, 10),
    ("COMMIT", (), {"non_transactional"}, set(), 30),
    ("DO $$ BEGIN PERFORM 1; END $$", (), {"unclassified_sql"}, set(), 60),
    ("ALTER TABLE users SET LOGGED", ("set_persistence",), {"table_rewrite", "lock_blocks_reads"}, set(), 60),
    (
        "ALTER TABLE users SET (fillfactor = 70), RESET (autovacuum_enabled)",
        ("set_storage_parameters",),
        set(),
        set(),
        5,
    ),
    ("ALTER INDEX users_email_idx SET (fillfactor = 70)", ("set_storage_parameters",), set(), set(), 5),
    ("GRANT SELECT ON users TO reporting", (), {"unclassified_sql"}, set(), 60),
    ("ALTER TABLE users ADD COLUMN", (), {"unparseable_sql"}, set(), 70),
    ("CREAT TABLE users (id int)", (), {"unparseable_sql"}, set(), 70),
]


@pytest.mark.parametrize(
    ("text", "kinds", "present", "absent", "score"), STATEMENTS, ids=[s[0][:50] for s in STATEMENTS]
)
def test_statement_is_mapped_and_scored(
    text: str, kinds: tuple[str, ...], present: set[str], absent: set[str], score: int
) -> None:
    (statement,) = analyse(text, STATIC)
    assert statement.kinds == kinds
    assert present <= set(statement.risk.reasons), statement.risk
    assert not absent & set(statement.risk.reasons), statement.risk
    assert statement.risk.score == score


def test_unparseable_text_is_never_waved_through() -> None:
    risk = classify_sql("ALTER TABLE users ALTER COLUMN SET", STATIC)
    assert risk.level in ("high", "critical")
    assert risk.reasons == ("unparseable_sql",)


def test_a_script_takes_its_riskiest_statement_and_every_reason() -> None:
    text = """
        SET lock_timeout = '2s';
        CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
        ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
    """
    statements = analyse(text, STATIC)
    assert [s.sql.split()[0] for s in statements] == ["SET", "CREATE", "ALTER"]
    risk = classify_sql(text, STATIC)
    assert risk.score == 60
    assert {"index_build", "volatile_default", "table_rewrite"} <= set(risk.reasons)


def test_multiple_alter_table_subcommands_take_the_strongest() -> None:
    (statement,) = analyse("ALTER TABLE users ADD COLUMN a int, ALTER COLUMN email SET NOT NULL", STATIC)
    assert statement.kinds == ("add_column", "set_not_null")
    assert statement.risk.score == 50
    assert "lock_brief" not in statement.risk.reasons  # the lock held for the scan subsumes it


def test_statements_on_a_table_created_earlier_in_the_script_are_cheap() -> None:
    text = "CREATE TABLE t (id int); CREATE INDEX t_id ON t (id); ALTER TABLE t ALTER COLUMN id TYPE bigint"
    scores = [s.risk.score for s in analyse(text, STATIC)]
    assert scores == [2, 5, 5]
    assert classify_sql(text, STATIC).reasons == ("small_table",)


def test_raw_statements_use_the_schema_and_live_statistics() -> None:
    users = Table(
        "public",
        "users",
        columns=(Column("id", "integer"), Column("email", "character varying(20)"), Column("org", "integer")),
        foreign_keys=(ForeignKey("users_org_fk", ("org",), "public.orgs", ("id",)),),
        uniques=(UniqueConstraint("users_email_key", ("email",)),),
        checks=(CheckConstraint("email_nn", "((email IS NOT NULL))", columns=("email",)),),
    )
    ctx = RiskContext(graph=SchemaGraph(tables=(users,)), server_version_num=150000)
    drops = {
        "users_org_fk": "drop_foreign_key",
        "users_email_key": "drop_unique",
        "email_nn": "drop_check",
        "mystery": "drop_primary_key",
    }
    for name, kind in drops.items():
        (statement,) = analyse(f"ALTER TABLE users DROP CONSTRAINT {name}", ctx)
        assert statement.kinds == (kind,)
    assert classify_sql("ALTER TABLE users ALTER COLUMN email TYPE varchar(50)", ctx).score == 15
    assert classify_sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL", ctx).score == 15
    live = RiskContext(stats={"public.users": TableStats(rows=0, bytes=0)})
    assert classify_sql("ALTER TABLE users ALTER COLUMN id TYPE bigint", live).score == 15
    assert classify_sql("UPDATE users SET org = 1", live).score == 15
    assert classify_sql("TRUNCATE users", live).score == 90  # data loss is not discounted


def test_schema_qualified_names_and_non_ascii_text() -> None:
    (statement,) = analyse("COMMENT ON TABLE app.users IS 'café'; ", STATIC)
    assert statement.sql == "COMMENT ON TABLE app.users IS 'café'"
    live = RiskContext(stats={"app.users": TableStats(rows=5_000_000, bytes=0)})
    assert "large_table" in classify_sql("ALTER TABLE app.users ALTER COLUMN id TYPE bigint", live).reasons
    assert classify_sql("", STATIC).score == 0
