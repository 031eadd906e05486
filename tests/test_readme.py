"""Every command in README.md is exercised.

The fenced ``bash`` and ``python`` blocks are extracted and run:

- the two fresh-machine blocks (install + demo, install + tests) are checked here for their exact text:
  the package they install is importable with its ``zanith`` command, the test command is the line
  ``.ci/run`` runs verbatim, and install + demo runs exactly as written in a fresh clone and virtual
  environment in tests/test_fresh_clone.py (running the suite from inside the suite would recurse);
- the example suite's block is run verbatim by tests/test_example_shop.py, which checks its items;
- every other ``bash`` block runs under ``bash -euo pipefail`` from a copy of the repository's example
  (``examples/shop``), with ``DATABASE_URL`` a fresh database and the shadow on this session's server;
- every ``python`` block becomes a test module of that copy, run by pytest with the plugin;
- the ``toml`` block is a valid ``[tool.zanith]`` table, and every docs page is linked.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support import cli_env, copy_project

from zanith_core.config import load_config
from zanith_core.servers import Server, connect

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
DEMO = 'python -m pip install -e ".[test]" && zanith demo'
TESTS = 'python -m pip install -e ".[dev]" && python -m pytest'  # dev: the tools .ci/run runs after the suite
SHIPPING = "    shipping_address_id bigint REFERENCES addresses (id)\n"
GIFT_WRAP = "    shipping_address_id bigint REFERENCES addresses (id),\n    gift_wrap boolean\n"

pytestmark = pytest.mark.slow


def blocks(language: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", README, re.S)]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder holding ``examples/shop`` as the README's ``cd examples/shop`` expects it."""
    copy_project(REPO / "examples" / "shop", tmp_path / "examples" / "shop")
    return tmp_path


def test_the_fresh_machine_blocks_are_the_install_then_demo_and_tests() -> None:
    installs = [b.strip() for b in blocks("bash") if "pip install" in b]
    assert installs == [DEMO, TESTS]
    assert TESTS in (REPO / ".ci" / "run").read_text().splitlines()
    for package in ("zanith_core", "pytest_zanith"):
        assert importlib.util.find_spec(package) is not None
    assert shutil.which("zanith") is not None


def test_the_example_suite_block_is_the_one_its_test_runs() -> None:
    suites = [b.strip() for b in blocks("bash") if b.startswith("python -m pytest examples/shop")]
    assert len(suites) == 1
    assert f'SUITE = "{suites[0]}"' in (REPO / "tests" / "test_example_shop.py").read_text()


def test_the_command_line_blocks_run(workspace: Path, zanith_shadow: Server) -> None:
    commands = [b for b in blocks("bash") if "pip install" not in b and not b.startswith("python -m pytest examples")]
    assert commands, "README.md has no command block beyond the fresh-machine and example-suite ones"
    shop = workspace / "examples" / "shop"
    schema = shop / "schema.sql"
    with zanith_shadow.scratch_database("zanith_readme") as url:
        for block in commands:
            if "zanith generate" in block:  # it generates "after editing schema.sql": make that edit
                schema.write_text(schema.read_text().replace(SHIPPING, GIFT_WRAP))
            if "zanith baseline" in block:  # it adopts "an app whose database already exists": make one
                with zanith_shadow.scratch_database("zanith_readme_app") as existing:
                    with connect(existing) as conn:
                        conn.execute(schema.read_text())  # type: ignore[arg-type]
                    _run_block(block, workspace, zanith_shadow, existing)
                assert len(list((workspace / "myapp" / "migrations").glob("*_baseline.py"))) == 1
                continue
            _run_block(block, workspace, zanith_shadow, url)
    written = sorted((shop / "migrations").glob("*_add_gift_wrap.py"))
    assert len(written) == 1


def _run_block(block: str, workspace: Path, server: Server, url: str) -> None:
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=workspace,
        env=cli_env(ZANITH_SHADOW_URL=server.url, DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"{block}\n{run.stdout}\n{run.stderr}"
    if "zanith baseline" in block:
        assert "baselined" in run.stdout and "WARNING" not in run.stderr, run.stdout + run.stderr


def test_the_python_blocks_pass_as_tests(workspace: Path, zanith_shadow: Server) -> None:
    shop = workspace / "examples" / "shop"
    for i, block in enumerate(blocks("python")):
        (shop / "tests" / f"test_readme_block_{i}.py").write_text(block)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests", "-k", "readme_block"],
        cwd=shop,
        env=cli_env(ZANITH_SHADOW_URL=zanith_shadow.url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b[1-9]\d* passed", run.stdout), run.stdout


def test_the_configuration_block_is_a_valid_zanith_table(tmp_path: Path) -> None:
    (toml,) = blocks("toml")
    assert "zanith" in tomllib.loads(toml)["tool"]
    (tmp_path / "pyproject.toml").write_text(toml)
    config = load_config(tmp_path, environ={})
    assert (config.schema, config.migrations, config.budget) == ("schema.sql", "migrations", 35)


def test_every_docs_page_is_linked_and_every_link_exists() -> None:
    linked = set(re.findall(r"\]\((docs/[^)]+\.md)\)", README)) | set(re.findall(r"\]\(([^)#:]+)\)", README))
    pages = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert pages <= linked, f"not linked from README.md: {sorted(pages - linked)}"
    missing = [link for link in linked if not (REPO / link).exists()]
    assert not missing, f"README.md links to missing files: {missing}"
