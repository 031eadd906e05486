"""`zanith baseline` and `zanith adopt`: a database zanith did not make, written down and recorded unrun.

The claims of issue 15, each as a user meets it: a database made by SQLAlchemy's ``create_all`` (with the
``alembic_version`` table of an Alembic-managed one beside it) and one loaded from a pg_dump-style script
with functions, a trigger and a view are baselined; afterwards plan is empty, diff finds nothing, verify
(a fresh shadow built from the baseline migration) passes, and the next declared change generates, plans
and applies normally — judged by pg_dump (tests/judge.py), not by zanith's own diff. A hot-fix made by
hand shows in ``status``, ``adopt`` records it with who and when, and the next generate does not repeat it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from judge import assert_converges, assert_same_schema
from support import FIXTURES, LEDGER, project, write_sql_migration, zanith

from zanith_core.authoring.adopt import Recorded
from zanith_core.errors import AdoptionRefused, ZanithError
from zanith_core.ledger.events import events
from zanith_core.ledger.locks import lock_key
from zanith_core.servers import connect

PGDUMP_SHOP = (FIXTURES / "pgdump_shop.sql").read_text()
TRIGGER = """
CREATE FUNCTION shop.touch_customer() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.email := shop.normalize_email(NEW.email);
    RETURN NEW;
END;
$$;

CREATE TRIGGER customer_touch BEFORE INSERT OR UPDATE ON shop.customer
    FOR EACH ROW EXECUTE FUNCTION shop.touch_customer();
"""
DUMP = PGDUMP_SHOP + TRIGGER
"""A pg_dump-style script with functions (one calling another declared after it), a trigger and a view."""

ALEMBIC_VERSION = (
    "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL,"
    " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));"
    "INSERT INTO alembic_version VALUES ('3f2a9c1d7e4b')"
)
"""What Alembic leaves in a database it manages (``alembic stamp``/``upgrade``): one table, one row."""


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def _empty_afterwards(folder: Path, url: str, declared: str) -> None:
    """Plan against the target is empty, diff finds nothing, verify (from history, on a shadow) passes."""
    plan = json.loads(_ok(zanith("plan", "--database-url", url, "--json", project=folder)).stdout)
    assert plan["migrations"] == [] and plan["verdict"] == "ok", plan
    diffed = zanith("diff", "--from", url, "--to", declared, project=folder)
    assert (diffed.exit_code, diffed.stdout.strip()) == (0, "no differences"), diffed.output
    _ok(zanith("verify", project=folder))


def _release(folder: Path, url: str, name: str) -> Path:
    """Generate, plan and apply the next declared change as any release; the generated file."""
    _ok(zanith("generate", "--name", name, "--yes", project=folder))
    written = sorted((folder / "migrations").glob(f"*_{name}.py"))
    assert len(written) == 1, list((folder / "migrations").iterdir())
    plan = json.loads(_ok(zanith("plan", "--database-url", url, "--json", project=folder)).stdout)
    assert [m["id"] for m in plan["migrations"]] == [written[0].stem]
    _ok(zanith("apply", "--database-url", url, project=folder))
    return written[0]


def _ledger_rows(url: str) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(
            "SELECT id, how, applied_by, applied_at IS NOT NULL, current_user"
            " FROM zanith._zanith_migrations ORDER BY applied_at, id"
        ).fetchall()


# -- baseline --------------------------------------------------------------------------------------


MODELS = (FIXTURES / "shop_sqlalchemy.py").read_text()
HELPFUL = '    sa.Column("helpful", sa.Integer, nullable=False, server_default=sa.text("0")),\n'
NEXT_MODELS = MODELS.replace('    sa.Column("body", sa.Text),\n', '    sa.Column("body", sa.Text),\n' + HELPFUL)


def _create_all(url: str, source: str, folder: Path, module: str) -> None:
    (folder / f"{module}.py").write_text(source)
    namespace: dict[str, Any] = {}
    exec(compile(source, module, "exec"), namespace)  # the models, as the app imports them
    engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(url))
    try:
        namespace["metadata"].create_all(engine)
    finally:
        engine.dispose()


def test_baseline_adopts_a_create_all_database_beside_alembic(zanith_db: Any, tmp_path: Path) -> None:
    module = f"models_{secrets.token_hex(4)}"  # fresh: the in-process CLI's import cache never interferes
    folder = project(tmp_path / "app", schema=f"{module}:metadata", ignore=["public.alembic_version"])
    _create_all(zanith_db.url, MODELS, folder, module)
    with connect(zanith_db.url) as conn:
        conn.execute(ALEMBIC_VERSION)
        conn.execute("INSERT INTO customers (email, name) VALUES ('ann@example.com', 'Ann')")
        oid = conn.execute("SELECT 'customers'::regclass::oid").fetchone()

    done = _ok(zanith("baseline", "--database-url", zanith_db.url, "--json", project=folder))
    recorded = json.loads(done.stdout)
    assert set(recorded) == {"how", "recorded", "file", "differences", "applied_by", "applied_at"}
    assert recorded["how"] == "baselined" and len(recorded["recorded"]) == 1
    baseline_file = Path(recorded["file"])
    assert baseline_file.parent == folder / "migrations" and baseline_file.stem == recorded["recorded"][0]
    assert "alembic_version" not in baseline_file.read_text()  # ignored: noted, left alone
    assert _ledger_rows(zanith_db.url) == [(recorded["recorded"][0], "baselined", recorded["applied_by"], True,
                                            recorded["applied_by"])]  # fmt: skip

    with connect(zanith_db.url) as conn:  # recorded, not run: same table, same row, no step rows
        assert conn.execute("SELECT 'customers'::regclass::oid").fetchone() == oid
        assert conn.execute("SELECT email FROM customers").fetchall() == [("ann@example.com",)]
        assert conn.execute("SELECT count(*) FROM zanith._zanith_migration_steps").fetchone() == (0,)
    _empty_afterwards(folder, zanith_db.url, f"{module}:metadata")

    # the next release of the models, as a module of a new name
    (folder / f"{module}_next.py").write_text(NEXT_MODELS)
    toml = folder / "pyproject.toml"
    toml.write_text(toml.read_text().replace(f"{module}:metadata", f"{module}_next:metadata"))
    _release(folder, zanith_db.url, "helpful")
    # Judged by pg_dump: the adopted, then migrated, database dumps as create_all of the new models does.
    with zanith_db.server.scratch_database(prefix="zanith_judge") as expected:
        _create_all(expected, NEXT_MODELS, tmp_path, "expected_models")
        with connect(expected) as conn:
            conn.execute(ALEMBIC_VERSION)
        assert_same_schema(zanith_db.url, expected)
    with connect(zanith_db.url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("3f2a9c1d7e4b",)]


def test_baseline_adopts_a_pg_dump_script_with_functions_triggers_and_views(zanith_db: Any, tmp_path: Path) -> None:
    with connect(zanith_db.url) as conn:
        conn.execute(DUMP)  # type: ignore[arg-type]
    folder = project(tmp_path / "shop", schema_sql=DUMP, schemas=["shop"])

    done = _ok(zanith("baseline", "--database-url", zanith_db.url, project=folder))
    assert "baselined" in done.stdout and "recorded" in done.stdout and "(SQL not run)" in done.stdout
    assert "set baseline = " in done.stdout
    text = next((folder / "migrations").glob("*_baseline.py")).read_text()
    assert "customer_touch" in text and "open_orders" in text and "normalize_email" in text

    _empty_afterwards(folder, zanith_db.url, "schema.sql")
    status = _ok(zanith("status", "--database-url", zanith_db.url, project=folder))  # the snapshot is the live schema
    assert "WARNING" not in status.output and "applied: 1" in status.stdout
    # a fresh database built from history alone is the dump itself
    with zanith_db.server.scratch_database(prefix="zanith_fresh") as fresh:
        _ok(zanith("apply", "--database-url", fresh, project=folder))
        assert_converges(zanith_db.server, fresh, DUMP)

    added = "    created_at timestamp with time zone DEFAULT now() NOT NULL,\n"
    release = DUMP.replace(added, added + "    phone text,\n", 1)
    assert release != DUMP
    release += "\nCREATE INDEX customer_phone_idx ON shop.customer (phone);\n"
    (folder / "schema.sql").write_text(release)
    _release(folder, zanith_db.url, "phone")
    assert_converges(zanith_db.server, zanith_db.url, release)


def test_baseline_refuses_a_ledger_that_has_migrations_and_writes_nothing(zanith_db: Any, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    write_sql_migration(folder / "migrations", "0001_users", "CREATE TABLE users (id bigint PRIMARY KEY)")
    _ok(zanith("apply", "--database-url", zanith_db.url, project=folder))
    before = sorted(p.name for p in (folder / "migrations").iterdir())

    refused = zanith("baseline", "--database-url", zanith_db.url, project=folder)
    assert refused.exit_code == 8, refused.output
    assert "already has 1 migration(s) (last: 0001_users)" in refused.stderr
    assert "zanith baseline --at ID" in refused.stderr and "zanith adopt" in refused.stderr
    assert sorted(p.name for p in (folder / "migrations").iterdir()) == before
    assert [r[:2] for r in _ledger_rows(zanith_db.url)] == [("0001_users", "applied")]


def test_baseline_refuses_files_the_target_never_applied_and_an_empty_database(zanith_db: Any, tmp_path: Path) -> None:
    empty = project(tmp_path / "empty")
    nothing = zanith("baseline", "--database-url", zanith_db.url, project=empty)
    assert nothing.exit_code == 8 and "holds nothing in schemas public to baseline" in nothing.stderr
    assert list((empty / "migrations").iterdir()) == []

    folder = project(tmp_path / "p")
    write_sql_migration(folder / "migrations", "0001_users", "CREATE TABLE users (id bigint PRIMARY KEY)")
    with connect(zanith_db.url) as conn:
        conn.execute("CREATE TABLE users (id bigint PRIMARY KEY)")
    refused = zanith("baseline", "--database-url", zanith_db.url, project=folder)
    assert refused.exit_code == 8, refused.output
    assert "`zanith baseline --at 0001_users`" in refused.stderr


def test_baseline_at_records_existing_migrations_once_they_match_the_live_schema(
    zanith_db: Any, tmp_path: Path
) -> None:
    folder = project(tmp_path / "p")
    migrations = folder / "migrations"
    write_sql_migration(migrations, "0001_users", "CREATE TABLE users (id bigint PRIMARY KEY)")
    _ok(zanith("apply", "--database-url", zanith_db.url, project=folder))
    write_sql_migration(migrations, "0002_email", "ALTER TABLE users ADD COLUMN email text")
    write_sql_migration(migrations, "0003_name", "ALTER TABLE users ADD COLUMN name text")
    with connect(zanith_db.url) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN email text")  # 0002 was run by hand, 0003 was not

    unknown = zanith("baseline", "--database-url", zanith_db.url, "--at", "0009_nope", project=folder)
    assert unknown.exit_code == 8 and "--at 0009_nope: no such migration" in unknown.stderr
    wrong = zanith("baseline", "--database-url", zanith_db.url, "--at", "0003_name", project=folder)
    assert wrong.exit_code == 8, wrong.output
    assert "the live schema is not what the migrations up to 0003_name make" in wrong.stderr
    assert "name" in wrong.stderr
    assert [r[0] for r in _ledger_rows(zanith_db.url)] == ["0001_users"]

    done = json.loads(_ok(zanith("baseline", "--database-url", zanith_db.url, "--at", "0002_email", "--json",
                                 project=folder)).stdout)  # fmt: skip
    assert done["recorded"] == ["0002_email"] and done["file"] is None and done["how"] == "baselined"
    assert [r[:2] for r in _ledger_rows(zanith_db.url)] == [("0001_users", "applied"), ("0002_email", "baselined")]
    behind = zanith("baseline", "--database-url", zanith_db.url, "--at", "0001_users", project=folder)
    assert behind.exit_code == 8 and "already past it (last applied: 0002_email)" in behind.stderr

    applied = _ok(zanith("apply", "--database-url", zanith_db.url, project=folder))
    assert "applied 1 migrations" in applied.stdout  # 0003 only: 0002 is recorded, never run
    assert [r[:2] for r in _ledger_rows(zanith_db.url)][-1] == ("0003_name", "applied")


def test_baseline_waits_for_no_one_it_refuses_while_an_apply_holds_the_lock(zanith_db: Any, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    with connect(zanith_db.url) as conn:
        conn.execute("CREATE TABLE users (id bigint PRIMARY KEY)")
    with connect(zanith_db.url) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(LEDGER),))
        busy = zanith("baseline", "--database-url", zanith_db.url, project=folder)
    assert busy.exit_code == 1 and "another apply is running" in busy.stderr
    assert list((folder / "migrations").iterdir()) == []


# -- adopt -----------------------------------------------------------------------------------------

SCHEMA = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"
HOT_FIX = "ALTER TABLE users ADD COLUMN nickname text; CREATE INDEX users_nickname_idx ON users (nickname);"


def test_a_hot_fix_is_warned_about_adopted_with_who_and_when_and_not_generated_again(
    zanith_db: Any, tmp_path: Path
) -> None:
    folder = project(tmp_path / "p", schema_sql=SCHEMA)
    url = ["--database-url", zanith_db.url]
    _ok(zanith("generate", "--name", "init", project=folder))
    _ok(zanith("apply", *url, project=folder))
    quiet = _ok(zanith("status", *url, project=folder))
    assert "WARNING" not in quiet.output and json.loads(zanith("status", *url, "--json", project=folder).stdout)[
        "drift"] is None  # fmt: skip
    nothing = _ok(zanith("adopt", *url, project=folder))
    assert "nothing to adopt" in nothing.stdout
    assert json.loads(_ok(zanith("adopt", *url, "--json", project=folder)).stdout)["recorded"] == []
    assert sorted(p.stem.split("_", 2)[-1] for p in (folder / "migrations").glob("*.py")) == ["init"]

    with connect(zanith_db.url) as conn:
        conn.execute(HOT_FIX)  # someone fixed production by hand
    warned = _ok(zanith("status", *url, project=folder))
    assert "WARNING: the live schema changed since" in warned.stderr
    assert "column nickname" in warned.stderr and "index users_nickname_idx" in warned.stderr
    assert "zanith adopt" in warned.stderr
    drift = json.loads(zanith("status", *url, "--json", project=folder).stdout)["drift"]
    assert drift["since"].endswith("_init")
    assert sorted((d["action"], d["object_type"], d["name"]) for d in drift["differences"]) == [
        ("added", "column", "nickname"), ("added", "index", "users_nickname_idx")
    ]  # fmt: skip

    adopted = json.loads(_ok(zanith("adopt", *url, "--name", "hotfix", "--json", project=folder)).stdout)
    assert adopted["how"] == "adopted" and len(adopted["recorded"]) == 1 and adopted["file"].endswith("_hotfix.py")
    assert len(adopted["differences"]) == 2
    rows = _ledger_rows(zanith_db.url)
    assert rows[-1][:4] == (adopted["recorded"][0], "adopted", rows[-1][4], True)  # by current_user, when
    assert adopted["applied_by"] == rows[-1][4]
    with connect(zanith_db.url) as conn:  # recorded, not run: no step rows, and the index was not rebuilt
        assert conn.execute(
            "SELECT count(*) FROM zanith._zanith_migration_steps WHERE migration_id = %s", (adopted["recorded"][0],)
        ).fetchone() == (0,)
        (event,) = events(conn, LEDGER, adopted["recorded"][0])  # and the act is a ledger event
        assert (event.action, event.recorded_by, event.detail) == ("adopted", rows[-1][4], {"differences": 2})
    assert "WARNING" not in _ok(zanith("status", *url, project=folder)).output
    status = json.loads(zanith("status", *url, "--json", project=folder).stdout)["applied"]
    assert [(a["how"], a["applied_by"]) for a in status] == [("applied", rows[-1][4]), ("adopted", rows[-1][4])]
    listed = _ok(zanith("history", *url, project=folder)).stdout
    assert f"{adopted['recorded'][0]}  " in listed and f"adopted by {rows[-1][4]} (SQL not run)" in listed
    history = json.loads(zanith("history", *url, "--json", project=folder).stdout)["migrations"]
    assert [(m["how"], m["steps"]) for m in history][-1] == ("adopted", [])
    shown = _ok(zanith("show", adopted["recorded"][0], *url, project=folder)).stdout
    assert f"how: adopted, by {rows[-1][4]} (SQL not run)" in shown and "snapshot after: 1 tables, 3 columns" in shown

    # The declared schema catches up with the hot-fix and gains one more change: generate writes only that.
    (folder / "schema.sql").write_text(
        SCHEMA.replace("email text NOT NULL", "email text NOT NULL, nickname text, plan text")
        + "CREATE INDEX users_nickname_idx ON users (nickname);\n"
    )
    written = _release(folder, zanith_db.url, "plan")
    text = written.read_text()
    assert "plan" in text and "nickname" not in text
    declared = (folder / "schema.sql").read_text()
    assert_converges(zanith_db.server, zanith_db.url, declared)
    _ok(zanith("verify", project=folder))  # a fresh shadow replays init, hotfix, plan


def test_adopt_writes_a_drop_and_a_rename_made_by_hand_as_what_happened(zanith_db: Any, tmp_path: Path) -> None:
    before = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, legacy text);\n"
    folder = project(tmp_path / "p", schema_sql=before)
    url = ["--database-url", zanith_db.url]
    _ok(zanith("generate", "--name", "init", project=folder))
    _ok(zanith("apply", *url, project=folder))
    with connect(zanith_db.url) as conn:
        conn.execute("ALTER TABLE users DROP COLUMN legacy; ALTER TABLE users RENAME COLUMN email TO mail")
        conn.execute("INSERT INTO users VALUES (1, 'ann@example.com')")

    ambiguous = zanith("adopt", *url, project=folder)  # email → mail, or legacy → mail? the person says
    assert ambiguous.exit_code == 1 and "--rename users.email=mail" in ambiguous.stderr
    assert sorted(p.stem.split("_", 2)[-1] for p in (folder / "migrations").glob("*.py")) == ["init"]
    adopted = json.loads(_ok(zanith("adopt", *url, "--rename", "users.email=mail", "--json", project=folder)).stdout)
    text = Path(adopted["file"]).read_text()
    # what already happened: a rename (not a drop and an add) and a drop (not a soft-drop keeping data aside)
    assert 'RenameColumn(table="public.users", column="email", new_name="mail")' in text, text
    assert "DropColumn(" in text and "SoftDrop" not in text and "_zanith_" not in text, text
    with connect(zanith_db.url) as conn:  # not run: the data and the columns stay as the hand left them
        assert conn.execute("SELECT id, mail FROM users").fetchall() == [(1, "ann@example.com")]

    declared = "CREATE TABLE users (id bigint PRIMARY KEY, mail text NOT NULL);\n"
    (folder / "schema.sql").write_text(declared)
    _ok(zanith("generate", "--name", "again", project=folder))  # the hot-fix is history: nothing to generate
    assert not list((folder / "migrations").glob("*_again.py"))
    with zanith_db.server.scratch_database(prefix="zanith_fresh") as fresh:  # history alone builds it
        _ok(zanith("apply", "--database-url", fresh, project=folder))
        assert_converges(zanith_db.server, fresh, declared)


def test_adopt_refuses_without_a_ledger_or_with_pending_migrations(zanith_db: Any, tmp_path: Path) -> None:
    folder = project(tmp_path / "p")
    url = ["--database-url", zanith_db.url]
    never = zanith("adopt", *url, project=folder)
    assert never.exit_code == 8 and "use `zanith baseline`" not in never.stderr
    assert "has no applied migration to compare with" in never.stderr and "zanith baseline" in never.stderr

    write_sql_migration(folder / "migrations", "0001_users", "CREATE TABLE users (id bigint PRIMARY KEY)")
    _ok(zanith("apply", *url, project=folder))
    write_sql_migration(folder / "migrations", "0002_email", "ALTER TABLE users ADD COLUMN email text")
    with connect(zanith_db.url) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN note text")
    pending = zanith("adopt", *url, project=folder)
    assert pending.exit_code == 8 and "not applied (0002_email): apply them first" in pending.stderr
    assert sorted(p.name for p in (folder / "migrations").iterdir()) == ["0001_users.py", "0002_email.py"]


@pytest.mark.parametrize("command", ["baseline", "adopt"])
def test_commands_are_listed_and_take_json(command: str) -> None:
    assert f"  {command} " in zanith("--help").stdout
    assert "--json" in zanith(command, "--help").stdout


def test_the_json_keys_and_exit_codes_are_documented() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    page = (docs / "adopting.md").read_text()
    block = page.split("## JSON", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    assert set(json.loads(block)) == set(Recorded("adopted", (), None, ()).to_dict())
    assert AdoptionRefused.exit_code == 8 and "| 8 | refused, nothing written" in page
    assert "| 8 |" in (docs / "apply.md").read_text() and "`drift`" in (docs / "apply.md").read_text()
    others = {c.exit_code for c in ZanithError.__subclasses__() if c is not AdoptionRefused}
    assert AdoptionRefused.exit_code not in others | {0, 2, 4}  # 4: zanith diff's "different"
