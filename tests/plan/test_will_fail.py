"""Steps the target's live statistics prove will fail: marked ``will_fail`` with their evidence, scored 100,
refused by any budget (issue 18, part 4). Each case is planned against a real table, analysed."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from support import config, migration

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.migration_api import AddColumn, AddIndex, AddPrimaryKey, AddUnique, Column, Index, PrimaryKey
from zanith_core.plan import read_target
from zanith_core.schema.graph import UniqueConstraint


def planned(db: ZanithDatabase, tmp_path: Path, *ops: object, budget: int | None = 100) -> object:
    pending = [migration("0001_change", *ops)]  # type: ignore[arg-type]
    target = read_target(db.conn, pending, config(tmp_path))
    return target.plan(pending, budget=budget, config=config(tmp_path))


def table(conn: psycopg.Connection, rows: int, *, duplicates: bool = False, nulls: bool = False) -> None:
    conn.execute("CREATE TABLE public.t (id int, code text)")
    if rows:
        value = "'same'" if duplicates else "'c' || g"
        conn.execute(
            f"INSERT INTO public.t SELECT {'NULL' if nulls else 'g'}, {value} FROM generate_series(1, {rows}) g"
        )
    conn.execute("ANALYZE public.t")


def test_a_not_null_column_without_default_on_rows_will_fail(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    table(zanith_db.conn, 2000)
    result = planned(zanith_db, tmp_path, AddColumn("public.t", Column("email", "text", nullable=False)))
    (step,) = result.steps  # type: ignore[attr-defined]
    assert step.will_fail is not None and step.score == 100
    assert (step.will_fail.table, step.will_fail.column, step.will_fail.rows) == ("public.t", "email", 2000)
    assert result.verdict == "refused"  # type: ignore[attr-defined]  # a budget of 100 refuses it too
    data = step.to_dict()
    assert data["will_fail"] is True and data["evidence"]["rows"] == 2000
    assert "will fail: a NOT NULL column without a default" in result.render()  # type: ignore[attr-defined]


def test_the_same_column_on_an_empty_table_or_with_a_default_is_fine(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    table(zanith_db.conn, 0)
    empty = planned(zanith_db, tmp_path, AddColumn("public.t", Column("email", "text", nullable=False)))
    assert [s.will_fail for s in empty.steps] == [None]  # type: ignore[attr-defined]
    zanith_db.conn.execute("INSERT INTO public.t VALUES (1, 'a'); ANALYZE public.t")
    defaulted = planned(zanith_db, tmp_path, AddColumn("public.t", Column("email", "text", False, "''::text")))
    assert [s.will_fail for s in defaulted.steps] == [None]  # type: ignore[attr-defined]


def test_unique_keys_over_duplicates_or_nulls_will_fail(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    table(zanith_db.conn, 500, duplicates=True, nulls=True)
    index = Index("t_code_key", ("code",), columns=("code",), unique=True)
    steps = planned(
        zanith_db,
        tmp_path,
        AddIndex("public.t", index, concurrently=False),
        AddUnique("public.t", UniqueConstraint("t_code_uq", ("code",))),
        AddPrimaryKey("public.t", PrimaryKey("t_pkey", ("id",))),
        AddUnique("public.t", UniqueConstraint("t_pair_uq", ("id", "code"))),  # several columns: not proven
    ).steps  # type: ignore[attr-defined]
    assert [s.will_fail.why if s.will_fail else None for s in steps] == [
        "a unique key on a column holding duplicate values",
        "a unique key on a column holding duplicate values",
        "a primary key on a column holding NULLs",
        None,
    ]


def test_unique_keys_over_distinct_values_are_not_predicted_to_fail(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    table(zanith_db.conn, 500)
    steps = planned(
        zanith_db,
        tmp_path,
        AddUnique("public.t", UniqueConstraint("t_code_uq", ("code",))),
        AddPrimaryKey("public.t", PrimaryKey("t_pkey", ("id",))),
    ).steps  # type: ignore[attr-defined]
    assert [s.will_fail for s in steps] == [None, None]


def test_a_plan_with_a_failing_step_round_trips_through_json(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    from zanith_core.plan import Plan

    table(zanith_db.conn, 10)
    result = planned(zanith_db, tmp_path, AddColumn("public.t", Column("email", "text", nullable=False)))
    again = Plan.from_dict(json.loads(json.dumps(result.to_dict())))  # type: ignore[attr-defined]
    assert again.steps == result.steps  # type: ignore[attr-defined]
