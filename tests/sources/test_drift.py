"""assert_no_drift against a live database: passes when identical, fails naming each difference."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_zanith import assert_no_drift
from zanith_core.config import Config

SCHEMA = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE teams (id bigint PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email varchar(100) NOT NULL,
    team_id bigint REFERENCES teams (id) ON DELETE CASCADE,
    mood mood DEFAULT 'happy',
    score integer DEFAULT 0 CHECK (score >= 0)
);
CREATE INDEX users_email_idx ON users (lower(email));
CREATE VIEW happy_users AS SELECT id, email FROM users WHERE mood = 'happy';
"""

# (what is changed on the live database, a fragment the failure message must contain)
DRIFTS = [
    ("ALTER TABLE users ALTER COLUMN score TYPE bigint", "column score: type bigint → integer"),
    ("ALTER TABLE users ALTER COLUMN email DROP NOT NULL", "column email: nullable yes → no"),
    ("ALTER TABLE users ALTER COLUMN score SET DEFAULT 1", "column score: default 1 → 0"),
    ("ALTER TABLE users ADD COLUMN bio text", "- column bio text"),
    ("DROP INDEX users_email_idx", "+ index users_email_idx (lower((email)::text))"),
    ("ALTER TABLE users DROP CONSTRAINT users_score_check", "+ check users_score_check"),
    ("ALTER TABLE users DROP CONSTRAINT users_team_id_fkey", "+ foreign key users_team_id_fkey (team_id)"),
    ("ALTER TABLE teams DROP CONSTRAINT teams_name_key", "+ unique teams_name_key (name)"),
    ("ALTER TYPE mood ADD VALUE 'meh'", "enum public.mood: values (happy, sad, meh) → (happy, sad)"),
    ("CREATE OR REPLACE VIEW happy_users AS SELECT id, email FROM users", "view public.happy_users: definition"),
    ("CREATE TABLE extra (id int)", "- table public.extra"),
]


@pytest.fixture
def declared(tmp_path: Path) -> Path:
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA)
    return path


def test_identical_database_passes(zanith_db, declared: Path) -> None:  # type: ignore[no-untyped-def]
    zanith_db.conn.execute(SCHEMA)
    assert_no_drift(str(declared), database=zanith_db)


@pytest.mark.parametrize(("change", "fragment"), DRIFTS, ids=[d[0][:40] for d in DRIFTS])
def test_drift_fails_naming_the_difference(zanith_db, declared: Path, change: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    zanith_db.conn.execute(SCHEMA)
    zanith_db.conn.execute(change)
    with pytest.raises(AssertionError) as info:
        assert_no_drift(str(declared), database=zanith_db.url)
    assert fragment in str(info.value)


def test_zanith_objects_are_never_drift(zanith_db, declared: Path) -> None:  # type: ignore[no-untyped-def]
    zanith_db.conn.execute(SCHEMA)
    zanith_db.conn.execute("CREATE TABLE _zanith_migrations (id text PRIMARY KEY)")
    zanith_db.conn.execute("ALTER TABLE users ADD COLUMN _zanith_0001_old_email text")
    assert_no_drift(str(declared), database=zanith_db.conn)


def test_column_order_is_drift_unless_the_project_ignores_it(zanith_db, declared: Path) -> None:  # type: ignore[no-untyped-def]
    appended = SCHEMA.replace("email varchar(100) NOT NULL,\n    team_id", "team_id").replace(
        "CREATE INDEX", "ALTER TABLE users ADD COLUMN email varchar(100) NOT NULL;\nCREATE INDEX"
    )
    zanith_db.conn.execute(appended)
    with pytest.raises(AssertionError, match=r"table public.users: column order \(id, team_id, mood, score, email\)"):
        assert_no_drift(str(declared), database=zanith_db.url)
    ignoring = Config(ignore_column_order=True, shadow_url=zanith_db.server.url)  # the declared side loads there
    assert_no_drift(str(declared), database=zanith_db.url, config=ignoring)
