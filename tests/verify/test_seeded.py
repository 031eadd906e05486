"""Seeded shadow verify: the pending migrations run on rows — synthetic, or sampled from a real database —
so a step that fails on data fails verify with the row that broke it, before any production apply
(issue 18, part 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import apply, migration, raw, zanith
from verify_support import make_project, project_config

from zanith_core.errors import ConfigError
from zanith_core.seed import SeedRequest, seed_shadow
from zanith_core.servers import Server
from zanith_core.verify import verify_on_shadow

USERS = "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, name text, code text)"
ORDERS = "CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users, total int)"
BASE = [migration("0001_users", USERS, ORDERS)]


@pytest.fixture
def source(zanith_shadow: Server, tmp_path: Path) -> Iterator[str]:
    """A 'production' database at 0001, with duplicate e-mails, a code that is not a number, and names."""
    with zanith_shadow.scratch_database("zanith_source") as url:
        apply(url, *BASE, project_dir=tmp_path)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO users SELECT g,"
                " CASE WHEN g IN (3, 4) THEN 'twin@example.com' ELSE 'u' || g || '@example.com' END,"
                " 'Person ' || g, CASE WHEN g = 7 THEN 'x7' ELSE g::text END FROM generate_series(1, 20) g"
            )
            conn.execute("INSERT INTO orders SELECT g, 1 + g % 20, g FROM generate_series(1, 50) g")
        yield url


def verify(tmp_path: Path, server: Server, *pending: str, seed: SeedRequest, transactional: bool = True) -> object:
    config = project_config(make_project(tmp_path, migrations={}, schema_sql=f"{USERS};\n{ORDERS};\n"))
    todo = [*BASE, migration("0002_change", *(raw(s, transactional=transactional) for s in pending))]
    return verify_on_shadow(config, migrations=todo, server=server, seed=seed)


@pytest.mark.parametrize("concurrently", [False, True], ids=["in-a-transaction", "concurrently"])
def test_duplicates_sampled_from_the_target_fail_a_unique_index_on_the_shadow(
    tmp_path: Path, zanith_shadow: Server, source: str, concurrently: bool
) -> None:
    how = "CONCURRENTLY " if concurrently else ""
    verdict = verify(
        tmp_path,
        zanith_shadow,
        f"CREATE UNIQUE INDEX {how}users_email_key ON users (email)",
        seed=SeedRequest("sample", 100, source),
        transactional=not concurrently,
    )
    assert verdict.verdict == "apply_failed", verdict.render()  # type: ignore[attr-defined]
    assert "Key (email)=(twin@example.com) is duplicated" in verdict.breaking_row  # type: ignore[attr-defined]
    data = verdict.to_dict()  # type: ignore[attr-defined]
    assert data["seed"]["kind"] == "sample" and data["seed"]["before"] == "0002_change"
    assert data["seed"]["rows"] == {"public.users": 20, "public.orders": 50}
    assert "the row that broke it: " in verdict.render()  # type: ignore[attr-defined]
    # the same migration on an unseeded shadow passes: the rows are what breaks it
    unseeded = verify_on_shadow(
        project_config(tmp_path),
        migrations=[*BASE, migration("0002_change", raw("CREATE UNIQUE INDEX users_email_key ON users (email)"))],
        server=zanith_shadow,
    )
    assert unseeded.verdict == "drift", unseeded.render()  # it ran; only the declared schema lacks the index


def test_a_cast_that_fails_on_one_value_names_its_row(tmp_path: Path, zanith_shadow: Server, source: str) -> None:
    verdict = verify(
        tmp_path,
        zanith_shadow,
        "ALTER TABLE users ALTER COLUMN code TYPE integer USING code::integer",
        seed=SeedRequest("sample", 100, source),
    )
    assert verdict.verdict == "apply_failed"  # type: ignore[attr-defined]
    row = verdict.breaking_row  # type: ignore[attr-defined]
    assert row.startswith("public.users ") and json.loads(row.split(" ", 1)[1])["code"] == "x7"


def test_a_check_that_existing_rows_break_names_the_first_of_them(
    tmp_path: Path, zanith_shadow: Server, source: str
) -> None:
    verdict = verify(
        tmp_path,
        zanith_shadow,
        "ALTER TABLE orders ADD CONSTRAINT orders_big CHECK (total > 2)",
        seed=SeedRequest("sample", 100, source),
    )
    assert verdict.verdict == "apply_failed"  # type: ignore[attr-defined]
    assert json.loads(verdict.breaking_row.split(" ", 1)[1])["total"] <= 2  # type: ignore[attr-defined]


def test_a_not_null_column_without_default_fails_on_synthetic_rows(tmp_path: Path, zanith_shadow: Server) -> None:
    verdict = verify(
        tmp_path, zanith_shadow, "ALTER TABLE users ADD COLUMN born date NOT NULL", seed=SeedRequest(rows=10)
    )
    assert verdict.verdict == "apply_failed"  # type: ignore[attr-defined]
    assert verdict.breaking_row.startswith('public.users {"id":')  # type: ignore[attr-defined]
    assert dict(verdict.seed.rows) == {"public.users": 10, "public.orders": 10}  # type: ignore[attr-defined]
    steps = verdict.to_dict()["steps"]  # type: ignore[attr-defined]
    assert [(s["migration"], s["index"]) for s in steps] == [("0001_users", 1), ("0001_users", 2)]


def test_the_sample_keeps_references_and_masks_personal_columns(
    tmp_path: Path, zanith_shadow: Server, source: str
) -> None:
    with zanith_shadow.scratch_database("zanith_sampled") as shadow:
        apply(shadow, *BASE, project_dir=tmp_path)
        report = seed_shadow(
            shadow, ["public"], SeedRequest("sample", 5, source, mask=("users.name", "*.code")), before=None
        )
        with psycopg.connect(shadow) as conn:
            users = conn.execute("SELECT id, email, name, code FROM users ORDER BY id").fetchall()
            orders = conn.execute("SELECT user_id FROM orders").fetchall()
        with psycopg.connect(source) as conn:
            real = {r[0]: r for r in conn.execute("SELECT id, email, name, code FROM users").fetchall()}
    assert dict(report.rows) == {"public.users": 5, "public.orders": len(orders)}
    assert [u[:2] for u in users] == [real[u[0]][:2] for u in users]  # copied as they are
    assert not {u[2] for u in users} & {r[2] for r in real.values()}  # masked: none of the real names
    assert not {u[3] for u in users} & {r[3] for r in real.values()}
    assert orders and {o[0] for o in orders} <= {u[0] for u in users}  # only orders of sampled users


def test_a_mask_on_a_key_column_is_refused(tmp_path: Path, zanith_shadow: Server, source: str) -> None:
    with zanith_shadow.scratch_database("zanith_sampled") as shadow:
        apply(shadow, *BASE, project_dir=tmp_path)
        with pytest.raises(ConfigError, match=r"sample_mask matches public\.orders\.user_id, a key column"):
            seed_shadow(shadow, ["public"], SeedRequest("sample", 5, source, mask=("orders.user_id",)), before=None)


def test_a_source_zanith_does_not_manage_cannot_set_the_seed_point(tmp_path: Path, zanith_shadow: Server) -> None:
    with (
        zanith_shadow.scratch_database("zanith_unmanaged") as unmanaged,
        pytest.raises(ConfigError, match="has no migration applied by zanith"),
    ):
        verify(tmp_path, zanith_shadow, "SELECT 1", seed=SeedRequest("sample", 5, unmanaged))


def test_the_cli_seeds_and_prints_rows_and_observed_steps(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = zanith("verify", "--seed", "--seed-rows", "25", "--json", project=project)
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["seed"]["rows"] == {"public.users": 25} and data["seed"]["before"] == "0003"
    assert all(s["observed"] is not None for s in data["steps"]) and len(data["steps"]) == 4
    both = zanith("verify", "--seed-from", "postgresql://a/b", "--sample-from", "postgresql://c/d", project=project)
    assert both.exit_code == 2 and "give one of them" in both.output


def test_the_seed_point_can_be_named(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    early = zanith("verify", "--seed-before", "0002", "--seed-rows", "5", "--json", project=project)
    assert early.exit_code == 5, early.output  # 0002 adds email NOT NULL without a default: it fails on 5 rows
    data = json.loads(early.output)
    assert data["seed"]["before"] == "0002" and data["seed"]["rows"] == {"public.users": 5}
    assert data["failure"]["migration_id"] == "0002" and data["breaking_row"].startswith('public.users {"id":')
    late = zanith("verify", "--seed-before", "0003", "--seed-rows", "5", "--json", project=project)
    assert late.exit_code == 0 and json.loads(late.output)["seed"]["before"] == "0003"
    ambiguous = zanith("verify", "--seed-before", "000", project=project)
    assert ambiguous.exit_code == 1 and "3 migrations of 3 has that id" in ambiguous.output


def test_an_unreachable_sample_source_is_an_unreachable_verdict(tmp_path: Path, zanith_shadow: Server) -> None:
    verdict = verify(
        tmp_path, zanith_shadow, "SELECT 1", seed=SeedRequest("sample", 5, "postgresql://postgres@127.0.0.1:1/x")
    )
    assert verdict.verdict == "unreachable"  # type: ignore[attr-defined]
    assert "cannot connect to postgresql://postgres@127.0.0.1:1/x" in verdict.detail  # type: ignore[attr-defined]
