"""The pytest face of shadow verify: the collected item, and ``assert_no_drift(schema)`` without a database."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import write_module
from verify_support import SET_UNLOGGED, drifting_migrations, harmless_rule, make_project, unlogged_project

from pytest_zanith import assert_no_drift
from zanith_core.config import load_config
from zanith_core.servers import Server

pytest_plugins = ["pytester"]

VERIFY_INI = "[tool.pytest.ini_options]\nzanith_verify = true\n"


def test_item_passes_on_a_clean_project(pytester: pytest.Pytester, zanith_shadow: Server) -> None:
    make_project(pytester.path, extra_toml=VERIFY_INI)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pyproject.toml::zanith-verify PASSED*"])


def test_item_fails_with_the_drift_rendered(pytester: pytest.Pytester, zanith_shadow: Server) -> None:
    make_project(pytester.path, migrations=drifting_migrations(), extra_toml=VERIFY_INI)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*verdict: drift*",
            "*table public.users: column email: type character varying(100) → text*last touched by 0002*",
            "*table public.users: + index users_email_idx*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def harmless_unlogged_project(folder: Path, **settings: object) -> str:
    """A project whose raw-SQL ``SET UNLOGGED`` (the table is written anew under ACCESS EXCLUSIVE) a plugin
    rule calls harmless; returns the plugin's module name."""
    plugin = write_module(folder, harmless_rule("set_persistence", "unlogged_is_harmless"))
    unlogged_project(folder, extra_toml=VERIFY_INI, plugins=[plugin], **settings)
    return plugin


def test_item_fails_when_a_step_does_more_than_the_risk_model_predicted(
    pytester: pytest.Pytester, zanith_shadow: Server
) -> None:
    plugin = harmless_unlogged_project(pytester.path)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    wrong = f"from the rule {plugin}.unlogged_is_harmless for set_persistence"
    result.stdout.fnmatch_lines(
        [
            "*the migrations reach the declared schema, but on the shadow these steps did more than the risk model*",
            f"  0002 step 1 (raw_sql {SET_UNLOGGED}): lock on public.users predicted blocks nothing, observed blocks "
            f"reads — {wrong}",
            f"  0002 step 1 (raw_sql {SET_UNLOGGED}): rewrite on public.users predicted no rewrite, observed rewritten "
            f"— {wrong}",
            "*or set check_risk = false in [[]tool.zanith] to stop observing the replay",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_item_passes_a_risk_mismatch_with_check_risk_off(pytester: pytest.Pytester, zanith_shadow: Server) -> None:
    harmless_unlogged_project(pytester.path, check_risk=False)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pyproject.toml::zanith-verify PASSED*"])


def test_budget_option_adds_the_item(pytester: pytest.Pytester, zanith_shadow: Server) -> None:
    make_project(pytester.path, migrations=drifting_migrations())
    result = pytester.runpytest("--zanith-budget=100", "-k", "verify")
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(["*verdict: drift*"])


def test_item_reports_a_project_error_in_one_line(pytester: pytest.Pytester, zanith_shadow: Server) -> None:
    make_project(pytester.path, extra_toml=VERIFY_INI)
    (pytester.path / "migrations" / "0009_bad.py").write_text("id = '0009'\noperations = [Nope()]\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["error: *0009_bad.py*unknown operation kind 'Nope'*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_no_item_unless_asked(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, migrations=drifting_migrations())
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_no_item_without_a_zanith_project(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(VERIFY_INI)
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest().assert_outcomes(passed=1)


ASSERTION_TEST = """
from pytest_zanith import assert_no_drift

def test_migrations_reach_the_declared_schema():
    assert_no_drift("schema.sql")
"""


def test_assert_no_drift_without_database_passes_on_a_clean_project(
    pytester: pytest.Pytester, zanith_shadow: Server
) -> None:
    make_project(pytester.path)
    pytester.makepyfile(ASSERTION_TEST)
    pytester.runpytest().assert_outcomes(passed=1)


def test_assert_no_drift_without_database_fails_with_the_drift(
    pytester: pytest.Pytester, zanith_shadow: Server
) -> None:
    make_project(pytester.path, migrations=drifting_migrations())
    pytester.makepyfile(ASSERTION_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*AssertionError: the migrations do not reach the declared schema:*", "*column email: type*"]
    )


def test_assert_no_drift_replays_on_the_session_shadow(tmp_path: Path, zanith_shadow: Server) -> None:
    drifting = make_project(tmp_path / "drifting", migrations=drifting_migrations())
    with pytest.raises(AssertionError, match="column email: type character varying"):
        assert_no_drift("schema.sql", config=load_config(drifting, environ={}))
    clean = make_project(tmp_path / "clean")
    assert_no_drift(clean / "schema.sql", config=load_config(clean, environ={}))


def test_assert_no_drift_without_database_follows_the_shadow_url_option(pytester: pytest.Pytester) -> None:
    """No fixture in sight, yet the run's ``--zanith-shadow-url`` (not the environment's server) is used."""
    make_project(pytester.path)
    pytester.makepyfile(ASSERTION_TEST)
    result = pytester.runpytest("--zanith-shadow-url=postgresql://postgres@127.0.0.1:1/postgres")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ConnectionFailed: cannot connect to *host=127.0.0.1 port=1*"])
