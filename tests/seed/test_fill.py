"""Synthetic rows: every table of a varied schema filled within its own rules, the same rows for the same
seed, and a table that cannot be filled named with its reason (issue 18, part 2)."""

from __future__ import annotations

import psycopg
import pytest

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.seed import SeedRequest, seed_shadow
from zanith_core.servers import Server

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email varchar(24) NOT NULL UNIQUE CHECK (position('@' in email) > 1),
    handle char(6) NOT NULL UNIQUE,
    mood mood NOT NULL,
    born date, seen timestamptz NOT NULL, score numeric(5, 2) CHECK (score >= 0),
    age positive, tags text[] NOT NULL, meta jsonb NOT NULL, uid uuid NOT NULL UNIQUE,
    ip inet, active boolean NOT NULL, wake time, span interval, raw bytea, ratio double precision,
    mentor bigint REFERENCES users
);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users,
    total numeric(10, 2) NOT NULL CHECK (total > 10),
    note text,
    shout text GENERATED ALWAYS AS (upper(note)) STORED
);
CREATE TABLE pairs (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE pair_refs (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL, FOREIGN KEY (a, b) REFERENCES pairs);
CREATE TABLE events (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2020 PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2020-07-01');
CREATE TABLE points (p point NOT NULL);
CREATE TABLE ranges (r int4range, id int GENERATED ALWAYS AS IDENTITY);
"""


def loaded(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return url


def contents(url: str) -> dict[str, str]:
    """Each table's rows, hashed in a stable order."""
    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p')"
                " AND relnamespace = 'public'::regnamespace AND NOT relispartition"
            )
        ]
        return {
            n: conn.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {n} t"
            ).fetchone()[0]  # type: ignore[index]
            for n in names
        }


def test_every_table_is_filled_within_its_constraints(zanith_db: ZanithDatabase) -> None:
    report = seed_shadow(loaded(zanith_db.url), ["public"], SeedRequest(rows=300), before="0002")
    rows = dict(report.rows)
    assert rows["public.users"] == 300 and rows["public.pairs"] == 300 and rows["public.pair_refs"] == 300
    assert 200 < rows["public.orders"] < 300  # the rows whose total breaks the CHECK are left out
    assert rows["public.events"] == 181  # only the days some partition takes
    assert rows["public.ranges"] == 300  # a nullable column of a type without values: NULL
    assert dict(report.skipped) == {
        "public.points": "column p of type point: no synthetic values for the type, and no default"
    }
    with psycopg.connect(zanith_db.url) as conn:
        # every order points at a user, the mentors are NULL (a self-reference), varchar(24) and char(6) held
        assert conn.execute("SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id").fetchone() == (
            rows["public.orders"],
        )
        assert conn.execute("SELECT count(mentor), max(length(email)) <= 24 FROM users").fetchone() == (0, True)
        assert conn.execute("SELECT count(DISTINCT user_id) > 1 FROM orders").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM orders WHERE shout = upper(note)").fetchone() == (
            rows["public.orders"],
        )
        # the identity sequence went on from the seeded rows: the next insert does not collide
        conn.execute("INSERT INTO pairs VALUES (-1, -1)")
        assert conn.execute("SELECT count(DISTINCT mood) FROM users").fetchone() == (3,)
    assert report.to_dict()["rows"]["public.users"] == 300 and report.before == "0002"


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(
    zanith_db: ZanithDatabase, zanith_shadow: Server
) -> None:
    seed_shadow(loaded(zanith_db.url), ["public"], SeedRequest(rows=50, seed=7), before=None)
    with (
        zanith_shadow.scratch_database("zanith_seed_b") as again,
        zanith_shadow.scratch_database("zanith_seed_c") as other,
    ):
        seed_shadow(loaded(again), ["public"], SeedRequest(rows=50, seed=7), before=None)
        seed_shadow(loaded(other), ["public"], SeedRequest(rows=50, seed=8), before=None)
        first, second, third = contents(zanith_db.url), contents(again), contents(other)
    assert first == second
    assert first["pairs"] != third["pairs"] and first["users"] != third["users"]


def test_rows_scale_with_the_source_estimates_capped_by_rows(zanith_db: ZanithDatabase, zanith_shadow: Server) -> None:
    with zanith_shadow.scratch_database("zanith_seed_live") as live:
        with psycopg.connect(live, autocommit=True) as conn:
            conn.execute("CREATE TABLE pairs (a int, b int, PRIMARY KEY (a, b)); CREATE TABLE users (id int)")
            conn.execute("INSERT INTO pairs SELECT g, g FROM generate_series(1, 40) g")
            conn.execute("INSERT INTO users SELECT g FROM generate_series(1, 5000) g")
            conn.execute("ANALYZE")
        report = seed_shadow(loaded(zanith_db.url), ["public"], SeedRequest(rows=1000, source=live), before=None)
    rows = dict(report.rows)
    assert rows["public.pairs"] == 40 and rows["public.users"] == 1000  # as live, at most the cap
    assert rows["public.pair_refs"] == 1000  # not in the source: the cap


def test_a_sample_needs_a_source() -> None:
    with pytest.raises(Exception, match="--sample-from URL"):
        SeedRequest("sample")
