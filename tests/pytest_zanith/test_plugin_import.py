"""Loading the plugin is cheap: pytest loads it on every run, so it must not import psycopg or zanith_core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)))"


def _modules_after(code: str, cwd: Path, **env: str) -> set[str]:
    """The names in ``sys.modules`` after ``code`` ran in a fresh interpreter (its last stdout line)."""
    run = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(run.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in ("psycopg", "zanith_core"))


def test_importing_the_plugin_imports_neither_psycopg_nor_zanith_core(tmp_path: Path) -> None:
    modules = _modules_after("import pytest_zanith.plugin", tmp_path)
    assert {"pytest_zanith.options", "pytest_zanith.fixtures", "pytest_zanith.checks"} <= modules
    assert _heavy(modules) == []


def test_a_pytest_run_that_uses_no_zanith_fixture_stays_cheap(tmp_path: Path) -> None:
    """Options, configure, collection and the test protocol all run, and still nothing heavy is imported."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    code = "import pytest\nassert pytest.main(['-q', '-p', 'pytest_zanith.plugin', '-p', 'no:cacheprovider']) == 0"
    modules = _modules_after(code, tmp_path, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTEST_ADDOPTS="")
    assert "pytest_zanith.plugin" in modules
    assert _heavy(modules) == []
