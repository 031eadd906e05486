"""The resident: once a project's warm server runs, its commands run in forks of a process that has zanith
imported — with the client's arguments, folder, environment and streams, the same output and exit status,
signals passed on, and nothing run twice or left behind."""

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
from support import wait_until
from warm_support import SCHEMA, alive, command, diff, env, warm_project

import zanith_core
from zanith_core.cli import handoff, resident
from zanith_core.servers import with_database
from zanith_core.warm import WarmServer

SLEEP = (
    "from zanith_core.migration_api import *\n\nid = '0001'\n\n"
    "operations = [RawSql(forward_sql='SELECT pg_sleep(60)')]\n"
)

pytestmark = pytest.mark.embedded_only  # the warm server and the resident are embedded servers


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    yield from warm_project(tmp_path)


def run(project: Path, *args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    argv = command(project, *args) if cwd is None else command(project, *args)[:3] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, env={**env(), **extra}, cwd=cwd, timeout=180)


def status(project: Path) -> dict[str, int]:
    return json.loads(WarmServer(project).resident_file.read_text())  # type: ignore[no-any-return]


def ready(project: Path) -> int:
    """Start the project's warm server (and so its resident); the resident's pid once it listens."""
    diff(project)
    wait_until(lambda: WarmServer(project).resident_file.exists(), what="the resident to listen", timeout=60)
    return status(project)["pid"]


def test_commands_run_in_the_resident_with_the_output_and_status_they_have_on_their_own(project: Path) -> None:
    ready(project)
    (project / "schema.sql").write_text(SCHEMA + "CREATE INDEX users_email ON users (email);\n")
    assert run(project, "generate", "--name", "index", "--yes").returncode == 0
    served = status(project)["served"]
    assert served == 1  # generate ran in the resident

    cases = [("plan",), ("plan", "--budget", "0"), ("plan", "--budget", "500"), ("nosuch",), ("plan", "--json")]
    codes = []
    for args in cases:
        through = run(project, *args)
        alone = run(project, *args, ZANITH_NO_RESIDENT="1")
        assert (through.returncode, through.stdout, through.stderr) == (alone.returncode, alone.stdout, alone.stderr)
        codes.append(through.returncode)
    assert codes == [0, 3, 2, 2, 0]
    assert status(project)["served"] == served + len(cases)  # each ran in the resident, none in its own process


def test_the_clients_folder_and_environment_are_the_commands(project: Path) -> None:
    ready(project)
    (project / "schema.sql").write_text(SCHEMA + "CREATE INDEX users_email ON users (email);\n")
    assert run(project, "generate", "--name", "index", "--yes").returncode == 0
    inside = project / "migrations"  # no -C: the project is found upwards from the client's folder
    assert run(project, "plan", cwd=inside).returncode == 0
    refused = run(project, "plan", cwd=inside, ZANITH_BUDGET="0")
    assert refused.returncode == 3 and "budget" in refused.stdout + refused.stderr
    assert status(project)["served"] == 3


def test_a_client_of_another_python_path_runs_the_command_itself(project: Path, tmp_path: Path) -> None:
    ready(project)
    served = status(project)["served"]
    done = run(project, "plan", PYTHONPATH=str(tmp_path))
    assert done.returncode == 0 and "verdict: ok" in done.stdout
    assert status(project)["served"] == served  # refused: it could have imported other modules


def test_a_socket_folder_others_may_enter_is_not_used(project: Path) -> None:
    ready(project)
    served = status(project)["served"]
    handoff.folder().chmod(0o755)
    try:
        assert run(project, "plan").returncode == 0
    finally:
        handoff.folder().chmod(0o700)
    assert status(project)["served"] == served


def _sleeping(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND pid <> pg_backend_pid()"
        ).fetchone()
        return bool(row and row[0])


def _target(project: Path) -> str:
    """A database on the warm server to apply the sleeping migration to."""
    url = WarmServer(project).cluster.url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE target")
    (project / "migrations" / "0001_sleep.py").write_text(SLEEP)
    return with_database(url, "target")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_reach_the_command_which_rolls_back(project: Path, signum: int) -> None:
    pid = ready(project)
    url = _target(project)
    client = subprocess.Popen(
        command(project, "apply", "--database-url", url), env=env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_until(lambda: _sleeping(url), what="the step to run")
    assert status(project)["served"] == 1  # the apply runs in the resident
    client.send_signal(signum)
    _, err = client.communicate(timeout=60)
    assert client.returncode == 128 + signum
    assert "interrupted by" in err and "rolled back" in err
    assert not _sleeping(url) and alive(pid)
    after = run(project, "status", "--database-url", url, "--json")
    assert after.returncode == 0 and json.loads(after.stdout)["pending"] == ["0001"]


def test_a_killed_client_ends_its_command_and_the_resident_serves_on(project: Path) -> None:
    pid = ready(project)
    url = _target(project)
    client = subprocess.Popen(
        command(project, "apply", "--database-url", url), env=env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until(lambda: _sleeping(url), what="the step to run")
    served = status(project)["served"]
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=30)
    wait_until(lambda: not _sleeping(url), what="the orphaned command to end", timeout=30)
    after = run(project, "status", "--database-url", url, "--json")
    assert after.returncode == 0 and json.loads(after.stdout)["pending"] == ["0001"]
    assert alive(pid) and status(project)["served"] == served + 1


def test_concurrent_commands_each_run_once(project: Path) -> None:
    ready(project)
    served = status(project)["served"]
    both = [subprocess.Popen(command(project, "plan"), env=env(), stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in both]
    assert [p.returncode for p in both] == [0, 0] and outputs[0] == outputs[1]
    assert status(project)["served"] == served + 2


def test_the_resident_leaves_with_its_server_and_leaves_nothing(project: Path) -> None:
    pid = ready(project)
    socket = handoff.socket_path(project)
    assert socket.exists()
    shown = run(project, "server", "status")
    assert f"resident process {pid}: 0 command(s)" in shown.stdout  # `server` itself never runs in it
    assert json.loads(run(project, "server", "status", "--json").stdout)["resident"]["pid"] == pid
    assert run(project, "server", "stop").returncode == 0
    wait_until(lambda: not alive(pid), what="the resident to leave", timeout=15)
    assert not socket.exists() and not WarmServer(project).resident_file.exists()
    assert not handoff.folder().exists() or any(handoff.folder().iterdir())  # removed when it was the last
    done = run(project, "plan")  # no resident: the command runs itself
    assert done.returncode == 0


def test_the_code_stamp_changes_with_any_file_of_the_package(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    first = resident.code_stamp(tmp_path)
    assert resident.code_stamp(tmp_path) == first
    later = time.time() + 5
    os.utime(tmp_path / "sub" / "b.py", (later, later))
    assert resident.code_stamp(tmp_path) != first


def test_a_resident_whose_code_changed_refuses_then_starts_again_on_the_new_code(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "site"  # zanith from a copy of its package, whose files the test may touch
    package = Path(zanith_core.__file__).parent
    shutil.copytree(package, copy / "zanith_core", ignore=shutil.ignore_patterns("__pycache__"))

    def here(*args: str) -> subprocess.CompletedProcess[str]:
        """A command of that zanith (run from outside the checkout: ``-m`` puts the working folder first)."""
        return subprocess.run(
            command(project, *args), capture_output=True, text=True, env={**env(), "PYTHONPATH": str(copy)},
            cwd=tmp_path, timeout=180,
        )  # fmt: skip

    assert here("diff", "--from", "schema.sql", "--to", "schema.sql").returncode == 0
    wait_until(lambda: WarmServer(project).resident_file.exists(), what="the resident to listen", timeout=60)
    first = status(project)
    assert here("plan").returncode == 0
    assert status(project)["served"] == 1
    assert run(project, "plan").returncode == 0  # zanith of the checkout, not the resident's: not handed over
    assert status(project)["served"] == 1

    later = time.time() + 5
    os.utime(copy / "zanith_core" / "errors.py", (later, later))  # an upgrade, an edit
    done = here("plan")
    assert done.returncode == 0 and "verdict: ok" in done.stdout  # run by the client itself
    wait_until(
        lambda: WarmServer(project).resident_file.exists() and status(project)["started"] != first["started"],
        what="the resident to start again",
        timeout=60,
    )
    assert status(project)["pid"] == first["pid"]  # the same process, its code imported again
    assert here("plan").returncode == 0
    assert status(project)["served"] == 1


def test_a_killed_resident_leaves_commands_running_on_their_own_until_the_next_start_replaces_it(
    project: Path,
) -> None:
    pid = ready(project)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid), what="the resident to die")
    assert handoff.socket_path(project).exists()  # left behind: nobody answers there
    done = run(project, "plan")
    assert done.returncode == 0 and "verdict: ok" in done.stdout  # ran on its own, no error
    diff(project)  # needs the warm server: the state's resident is dead, so a new one is started
    wait_until(lambda: status(project)["pid"] != pid, what="a new resident", timeout=60)
    assert run(project, "plan").returncode == 0
    assert status(project)["served"] == 1
