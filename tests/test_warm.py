"""The warm server: commands of one project share one embedded server, which survives a killed command,
serialises concurrent starts, restarts when it died, and stops itself when idle or when told to."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import wait_until, zanith, zanith_process
from warm_support import alive, command, diff, env, postmaster, run, warm_project

from zanith_core import spares
from zanith_core.warm import WarmServer

pytestmark = pytest.mark.embedded_only  # the warm server and the resident are embedded servers


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    yield from warm_project(tmp_path)


def test_commands_share_one_server_until_it_is_stopped(project: Path) -> None:
    warm = WarmServer(project)
    diff(project)
    first = postmaster(warm)
    diff(project)
    assert first is not None and postmaster(warm) == first  # the second command did not start another
    status = json.loads(run(project, "server", "status", "--json").stdout)
    assert status["running"] is True and status["url"] == warm.cluster.url

    stopped = run(project, "server", "stop")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
    assert not alive(first)
    assert json.loads(run(project, "server", "status", "--json").stdout)["running"] is False


def test_a_command_killed_mid_way_leaves_a_server_the_next_one_uses(project: Path) -> None:
    warm = WarmServer(project)
    child = subprocess.Popen(
        command(project, "verify"), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    pid = wait_until(lambda: postmaster(warm) if warm.state_file.exists() else None, what="the warm server")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    diff(project)
    assert postmaster(warm) == pid


def test_concurrent_commands_start_one_server(project: Path) -> None:
    warm = WarmServer(project)
    both = [
        subprocess.Popen(command(project, "diff", "--from", "schema.sql", "--to", "schema.sql"), env=env())
        for _ in range(2)
    ]
    assert [p.wait(timeout=180) for p in both] == [0, 0]
    found = subprocess.run(["pgrep", "-f", f"postgres -D {warm.cluster.data}"], capture_output=True, text=True)
    assert len(found.stdout.split()) == 1  # one postmaster for the project, not two


def test_a_server_that_died_is_started_again(project: Path) -> None:
    warm = WarmServer(project)
    diff(project)
    dead = postmaster(warm)
    assert dead is not None
    segments = {line.split()[-1] for line in Path(f"/proc/{dead}/maps").read_text().splitlines() if "/dev/shm/" in line}
    assert segments  # its dynamic shared memory
    os.kill(dead, signal.SIGKILL)
    wait_until(lambda: not alive(dead), what="the server to die")
    diff(project)  # a stale state and pid file: started again, on the data folder it had
    assert alive(postmaster(warm)) and postmaster(warm) != dead
    assert not any(Path(segment).exists() for segment in segments)  # the dead server's shared memory was freed


def test_an_idle_server_stops_itself_once_no_client_is_connected(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.zanith]\nschema = "schema.sql"\nserver_idle_timeout = 5\n')
    warm = WarmServer(project)
    diff(project)
    with psycopg.connect(warm.cluster.url) as client:  # a client keeps it up past its idle timeout
        pid = postmaster(warm)
        assert alive(pid)
        time.sleep(8)
        assert alive(pid) and warm.state_file.exists()
        client.execute("SELECT 1")
    wait_until(lambda: not alive(pid) and not warm.state_file.exists(), what="the idle server to stop", timeout=60)


def test_the_suites_own_commands_leave_no_warm_server(project: Path) -> None:
    """The suite's CLI helpers (in process and in a child) keep the warm server off: no project of theirs
    starts one that outlives the test."""
    assert zanith("diff", "--from", "schema.sql", "--to", "schema.sql", project=project).exit_code == 0
    assert zanith_process("diff", "--from", "schema.sql", "--to", "schema.sql", project=project).returncode == 0
    assert not WarmServer(project).state_file.exists() and not WarmServer(project).cluster.root.exists()


def test_a_server_whose_state_was_deleted_is_adopted_not_started_twice(project: Path) -> None:
    """``git clean -fdx`` removes ``.zanith/`` while the server runs (as root its data lives elsewhere): the
    next command must use the running server, not fail starting a second one on the same data."""
    warm = WarmServer(project)
    diff(project)
    running = postmaster(warm)
    old_watcher = json.loads(warm.state_file.read_text())["watcher"]
    if os.geteuid() != 0:
        pytest.skip("a non-root server keeps its data inside .zanith/: deleting it deletes the server's files")
    shutil.rmtree(warm.cache)
    wait_until(lambda: not alive(old_watcher), what="the orphaned watcher to leave", timeout=15)
    diff(project)
    assert postmaster(warm) == running
    assert alive(json.loads(warm.state_file.read_text())["watcher"])  # watched again: it will stop when idle


def databases(warm: WarmServer, prefix: str) -> set[str]:
    with psycopg.connect(warm.cluster.url, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,))
        return {r[0] for r in rows.fetchall()}


def test_commands_take_spare_databases_and_the_watcher_replaces_them(project: Path) -> None:
    warm = WarmServer(project)
    diff(project)
    wait_until(lambda: len(databases(warm, spares.PREFIX)) == 2 * spares.SPARES, what="the spare databases")
    ready = databases(warm, spares.PREFIX)
    diff(project)  # loads schema.sql twice, each on a database of template0: two spares taken
    assert len(ready - databases(warm, spares.PREFIX)) == 2
    wait_until(
        lambda: len(databases(warm, spares.PREFIX)) == 2 * spares.SPARES and not databases(warm, spares.TRASH),
        what="the spares replaced and the used databases dropped",
    )
