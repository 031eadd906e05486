"""examples/shop's own test suite: it passes with the plugin, and fails as documented when broken on purpose.

The suite runs in a subprocess with README.md's command, verbatim (``SUITE``; tests/test_readme.py
leaves that block to this module), on this session's server so no second embedded server starts.
The broken variants run on a copy of the project in a temporary folder, selecting only the items the
breakage is documented to fail (examples/shop/README.md, docs/pytest.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import cli_env, copy_project

from zanith_core.migrations.loader import load_migrations
from zanith_core.servers import Server

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
SUITE = "python -m pytest examples/shop/tests --zanith-budget=35"
"""README.md's command for the example's suite with zanith's checks."""

pytestmark = pytest.mark.slow


def _env(server: Server) -> dict[str, str]:
    """The shadow on this session's server; the summary of every item (``-rA``) to read outcomes from."""
    return cli_env(ZANITH_SHADOW_URL=server.url, PYTEST_ADDOPTS="-p no:cacheprovider -rA --no-header")


def _pytest(args: list[str], cwd: Path, server: Server) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=cwd, env=_env(server), capture_output=True, text=True, timeout=600
    )


def _outcomes(stdout: str) -> dict[str, str]:
    """``item -> PASSED/FAILED`` from the short summary (``-rA``), ids relative to the project folder."""
    found = {}
    for line in stdout.splitlines():
        status, _, item = line.partition(" ")
        if status in ("PASSED", "FAILED"):
            found[item.split(" - ")[0].removeprefix("examples/shop/")] = status
    return found


def test_the_example_suite_passes_with_the_plugin(zanith_shadow: Server) -> None:
    assert f"```bash\n{SUITE}\n```" in (REPO / "README.md").read_text()
    run = subprocess.run(
        ["bash", "-c", SUITE], cwd=REPO, env=_env(zanith_shadow), capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outcomes = _outcomes(run.stdout)
    budget_items = [f"pyproject.toml::zanith-budget[{m.id}]" for m in load_migrations(SHOP / "migrations")]
    for item in (  # one budget item per pending migration, from zanith_budget = 35 in its pyproject
        *budget_items,
        "pyproject.toml::zanith-verify",
        "tests/test_schema.py::test_migrations_reach_the_declared_schema",
        "tests/test_properties.py::test_generated_migration_lands_and_reverses",
    ):
        assert outcomes.get(item) == "PASSED", item


def test_a_declared_column_no_migration_creates_fails_the_drift_checks(tmp_path: Path, zanith_shadow: Server) -> None:
    project = copy_project(SHOP, tmp_path / "shop")
    schema = project / "schema.sql"
    last = "    shipping_address_id bigint REFERENCES addresses (id)\n"
    schema.write_text(schema.read_text().replace(last, last.rstrip("\n") + ",\n    gift_wrap boolean\n"))
    run = _pytest(["-k", "declared or drift or zanith-verify"], project, zanith_shadow)
    assert run.returncode == 1, run.stdout + run.stderr
    outcomes = _outcomes(run.stdout)
    for item in (
        "tests/test_schema.py::test_migrations_reach_the_declared_schema",
        "tests/test_schema.py::test_a_migrated_database_has_no_drift",
        "pyproject.toml::zanith-verify",
    ):
        assert outcomes.get(item) == "FAILED", item
    assert "table public.orders: + column gift_wrap boolean" in run.stdout
    assert "verdict: drift" in run.stdout


def test_a_migration_over_the_budget_fails_its_budget_item(tmp_path: Path, zanith_shadow: Server) -> None:
    project = copy_project(SHOP, tmp_path / "shop")
    risky = "20991231_000000_drop_note"
    (project / "migrations" / f"{risky}.py").write_text(
        "from zanith_core.migration_api import *\n\n"
        f"id = {risky!r}\n\n"
        "operations = [DropColumn(table='public.orders', column=Column(name='note', type='text'))]\n"
    )
    run = _pytest(["-k", "zanith-budget"], project, zanith_shadow)
    assert run.returncode == 1, run.stdout + run.stderr
    outcomes = _outcomes(run.stdout)
    assert outcomes.pop(f"pyproject.toml::zanith-budget[{risky}]") == "FAILED"
    assert "drop_column" in run.stdout and "data_loss" in run.stdout
    assert "verdict: refused (budget)" in run.stdout
    assert sorted(outcomes.values()) == ["PASSED"] * len(load_migrations(SHOP / "migrations"))
