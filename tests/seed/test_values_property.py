"""Property: for any table of the types synthetic values cover — any mix of NOT NULL, UNIQUE, length and
precision limits — the fill inserts exactly the rows asked for, every value of its column's type and
distinct where the column is unique (a repeated value would be dropped by ``ON CONFLICT`` and the count
would fall short)."""

from __future__ import annotations

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.seed import SeedRequest, seed_shadow

ROWS = 40

#: (type, whether 40 distinct values fit it)
TYPES = st.one_of(
    st.sampled_from(
        [
            ("smallint", True),
            ("integer", True),
            ("bigint", True),
            ("real", True),
            ("double precision", True),
            ("text", True),
            ("boolean", False),
            ("date", True),
            ("timestamp", True),
            ("timestamptz", True),
            ("time", True),
            ("interval", True),
            ("uuid", True),
            ("jsonb", False),
            ("json", False),
            ("bytea", True),
            ("inet", True),
            ("cidr", True),
            ("text[]", False),
            ("mood", False),
            ("tsvector", False),
            ("money", True),
        ]
    ),
    st.integers(min_value=3, max_value=30).map(lambda n: (f"varchar({n})", True)),
    st.integers(min_value=3, max_value=12).map(lambda n: (f"char({n})", True)),
    st.tuples(st.integers(2, 12), st.integers(0, 4)).map(lambda ps: (f"numeric({ps[0] + ps[1]}, {ps[1]})", True)),
)

COLUMNS = st.lists(st.tuples(TYPES, st.booleans(), st.booleans()), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=COLUMNS, seed=st.integers(0, 1000))
def test_any_table_of_covered_types_gets_every_row(
    zanith_db: ZanithDatabase, columns: list[tuple[tuple[str, bool], bool, bool]], seed: int
) -> None:
    parts = []
    for n, ((type_, distinct), not_null, unique) in enumerate(columns):
        parts.append(f"c{n} {type_}{' NOT NULL' if not_null else ''}{' UNIQUE' if unique and distinct else ''}")
    with psycopg.connect(zanith_db.url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS prop CASCADE; CREATE SCHEMA prop")
        conn.execute("CREATE TYPE prop.mood AS ENUM ('sad', 'ok')")
        conn.execute(f"SET search_path = prop; CREATE TABLE prop.t ({', '.join(parts)})")
    report = seed_shadow(zanith_db.url, ["prop"], SeedRequest(rows=ROWS, seed=seed), before=None)
    assert dict(report.rows) == {"prop.t": ROWS}, report.render()
    with psycopg.connect(zanith_db.url) as conn:
        nulls = conn.execute(
            "SELECT count(*) FROM prop.t WHERE " + " OR ".join(f"c{n} IS NULL" for n in range(len(columns)))
        ).fetchone()
    assert nulls == (0,)  # every covered type gets a value, nullable or not
