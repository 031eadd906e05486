"""The built-in checks take fixtures: a user's conftest.py that overrides one changes what the checks use."""

from __future__ import annotations

import pytest
from verify_support import drifting_migrations, make_project

from zanith_core.servers import Server

pytest_plugins = ["pytester"]

VERIFY_INI = "[tool.pytest.ini_options]\nzanith_verify = true\n"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/postgres"

SHADOW_CONFTEST = f"""
import pytest
from zanith_core.servers import Server

@pytest.fixture(scope="session")
def zanith_shadow():
    return Server(url={UNREACHABLE!r}, kind="url")
"""

USERS_TEST = """
from pytest_zanith import assert_no_drift

def test_mine(zanith_shadow):
    assert_no_drift("schema.sql", server=zanith_shadow)
"""


def test_an_overridden_shadow_server_reaches_the_verify_check(pytester: pytest.Pytester) -> None:
    """The same clean project passes on the session's server (test_verify_pytest); here the override is used."""
    make_project(pytester.path, extra_toml=VERIFY_INI)
    pytester.makeconftest(SHADOW_CONFTEST)
    pytester.makepyfile(test_mine=USERS_TEST)
    # -rN: no short summary, whose lines pytest truncates locally but prints whole under CI=1
    result = pytester.runpytest("-v", "-rN")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-verify FAILED*"])
    assert result.stdout.str().count("verdict: unreachable") == 2
    result.stdout.fnmatch_lines(["*cannot connect to postgresql://postgres@127.0.0.1:1/postgres*"])


CONFIG_CONFTEST = """
import pytest
from zanith_core.config import load_config

@pytest.fixture(scope="session")
def zanith_config(pytestconfig):
    return load_config(pytestconfig.rootpath / "elsewhere", environ={})
"""


def test_an_overridden_config_reaches_the_verify_check(pytester: pytest.Pytester, zanith_shadow: Server) -> None:
    """The rootdir's project is clean; the one the override names drifts, and that is what the check verifies."""
    make_project(pytester.path, extra_toml=VERIFY_INI)
    make_project(pytester.path / "elsewhere", migrations=drifting_migrations())
    pytester.makeconftest(CONFIG_CONFTEST)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*verdict: drift*", "*column email: type character varying(100) → text*"])
