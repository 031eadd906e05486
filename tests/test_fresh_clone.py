"""A fresh machine: clone the repository, make a new virtual environment, run the README exactly as written.

The clone is of the working tree's committed HEAD; the virtual environment has no access to the
system's site-packages, so ``pip install -e ".[test]"`` really installs from the package index. The
README's install + demo command then runs verbatim, with ``python`` and ``zanith`` from the new
environment, and the demo's narrated verdicts are checked, as is what it leaves behind: nothing (its
embedded server stopped, its folders removed).

It does not depend on the test server (the demo starts its own embedded PostgreSQL, as on a fresh
machine), so it runs in the embedded pass of CI only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zanith_core.cli.tour import EXPECTED

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("ZANITH_TEST_DATABASE_URL")),
        reason="server-independent: the demo starts its own embedded server; runs in the embedded pass",
    ),
]


def _run(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)


def _install_and_demo() -> str:
    """The README's first bash block: install, then ``zanith demo``."""
    block = re.search(r"```bash\n(python -m pip install -e \"\.\[test\]\" && zanith demo)\n```", README)
    assert block, "README.md lost its install + demo command"
    return block.group(1)


def _postgres_processes(data_dir: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if data_dir in cmdline and "postgres" in cmdline:
            found.append(cmdline)
    return found


def test_readme_install_and_demo_work_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "zanith"
    cloned = _run(["git", "clone", "--quiet", str(REPO), str(clone)])
    assert cloned.returncode == 0, cloned.stderr
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZANITH_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    env.pop("CI", None)  # the demo's output is the same either way; keep the environment a fresh shell's

    demo = _run(["bash", "-c", _install_and_demo()], cwd=clone, env=env)
    output = demo.stdout
    assert demo.returncode == 0, output[-4000:] + demo.stderr[-4000:]
    assert shutil.which("zanith", path=str(venv / "bin")), "the install did not put zanith in the new environment"

    # the narrated verdicts, stage by stage
    verdicts = re.findall(r"^   verdict: (\S+) \(", output, re.M)
    assert verdicts == list(EXPECTED.values()), output
    for line in (
        "rename detected: public.addresses.line1 → street",
        "drop made soft: public.orders.note",
        "verdict: refused (budget)",
        "drop_column",
        "connect+reset",
        "step 3/4 validate_constraint  failed",
        "resumed at step 3",
        "20,000 rows backfilled",
        "orders.note is back",
        "every stage as expected",
    ):
        assert line in output, f"{line!r} not narrated:\n{output}"

    # nothing left behind: the copy and the embedded server's folder are gone, no postgres runs from it
    workdir = re.search(r"a copy of examples/shop in (\S+);", output)
    assert workdir and not Path(workdir.group(1)).exists(), "the demo's copy of the example was left behind"
    data_dirs = set(re.findall(r"(/\S*/zanith-pg-[^/\s]+)/(?:data|run)", output))
    assert data_dirs, "the demo did not say where its embedded server ran"
    for folder in data_dirs:
        assert not Path(folder).exists(), f"{folder} was left behind"
        assert _postgres_processes(folder) == [], f"a postgres of {folder} is still running"
