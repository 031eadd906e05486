"""Helpers of the warm-server and resident tests: a project whose commands run as a user's do (the warm
server on), and a teardown that leaves no server, watcher or resident behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from support import wait_until

from zanith_core import embedded
from zanith_core.warm import WarmServer

SCHEMA = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"


def command(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "zanith_core.cli", "-C", str(project), *args]


def env() -> dict[str, str]:
    """The warm server on, and no shadow URL (the suite's second pass sets one): the embedded one is used."""
    return {**{k: v for k, v in os.environ.items() if k != "ZANITH_SHADOW_URL"}, "ZANITH_WARM_SERVER": "1"}


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(project, *args), capture_output=True, text=True, env=env(), timeout=180)


def diff(project: Path) -> None:
    """A command that needs the embedded server: it loads the declared schema on it."""
    done = run(project, "diff", "--from", "schema.sql", "--to", "schema.sql")
    assert done.returncode == 0, done.stderr


def alive(pid: int | None) -> bool:
    return pid is not None and embedded.running(pid)


def postmaster(warm: WarmServer) -> int | None:
    pid_file = warm.cluster.data / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return pid if alive(pid) else None


def warm_project(tmp_path: Path) -> Iterator[Path]:
    """A project folder; afterwards its warm server is stopped and its watcher and resident are gone."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[tool.zanith]\nschema = "schema.sql"\n')
    (folder / "schema.sql").write_text(SCHEMA)
    (folder / "migrations").mkdir()
    warm = WarmServer(folder)
    yield folder
    state = json.loads(warm.state_file.read_text()) if warm.state_file.exists() else {}
    run(folder, "server", "stop")
    if postmaster(warm):  # a test that lost the state (or failed half-way) still leaves no server behind
        embedded.stop(warm.cluster)
    helpers = [state.get("watcher"), state.get("resident")]
    wait_until(lambda: not any(alive(pid) for pid in helpers), what="the watcher and resident to leave", timeout=15)
    shutil.rmtree(warm.cluster.root, ignore_errors=True)
