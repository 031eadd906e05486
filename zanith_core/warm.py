"""A warm embedded server per project: the first command of a loop starts it, the next ones reuse it.

Starting the embedded server costs seconds; an edit → generate → plan → verify loop pays it once. The
project's cache folder, ``.zanith/``, holds a lock file every command takes while it checks or starts
the server (``server.lock``) and the server's state (``server.json``: its idle timeout, its watcher's
pid and when a command last used it; the folder and URL follow from the project's path). The server's
own folder is ``.zanith/server/`` — or, run as root, a folder in the temp dir keyed by the project's
path, because the server then runs as ``nobody``, who must reach it.

A watcher process started with the server keeps spare databases ready on it (:mod:`.spares`), and stops
it once no command has used it for ``server_idle_timeout`` seconds and no client is connected, or when
its state is gone (``zanith server stop`` stops it at once). A second process, the resident
(:mod:`zanith_core.cli.resident`), keeps zanith imported and runs the next commands in forks of itself;
it leaves with the server. Crash safety: a command killed at any point leaves the lock released (the
kernel releases an ``flock`` with its process) and a state whose server is either up or not; a server
that is not up is started again by the next command, on the data folder it already has.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from . import embedded, spares

CACHE = ".zanith"
RESIDENT = sys.platform == "linux"
"""The resident checks its clients' uid with ``SO_PEERCRED`` and passes streams over ``SOCK_SEQPACKET``: Linux."""
POLL_SECONDS = 0.5
"""How often the watcher checks the server's idleness and tops up its spare databases."""


@dataclass(frozen=True)
class WarmServer:
    """Where a project's warm server lives and what state it is in."""

    project: Path

    @property
    def cache(self) -> Path:
        return self.project / CACHE

    @property
    def state_file(self) -> Path:
        return self.cache / "server.json"

    @property
    def resident_file(self) -> Path:
        """What the resident (:mod:`zanith_core.cli.resident`) says of itself: pid, start, commands run."""
        return self.cache / "resident.json"

    def kept(self) -> bool:
        """Whether the server is still meant to run: its state is there and so is its postmaster's pid file.
        The watcher and the resident leave once it is not."""
        return self.state_file.exists() and (self.cluster.data / "postmaster.pid").exists()

    @property
    def cluster(self) -> embedded.Cluster:
        if os.geteuid() == 0:  # nobody must reach the folder: not under a project only root can read
            digest = hashlib.sha256(str(self.project.resolve()).encode()).hexdigest()[:12]
            return embedded.at(Path(tempfile.gettempdir()) / f"zanith-warm-{digest}")
        return embedded.at(self.cache / "server")

    def up(self) -> bool:
        """Whether the server answers (a connection, not a pid file: a stale pid file is not a server)."""
        try:
            with psycopg.connect(self.cluster.url, connect_timeout=2, autocommit=True):
                return True
        except psycopg.Error:
            return False

    def status(self) -> dict[str, object]:
        state = read_json(self.state_file)
        return {
            "running": bool(state) and self.up(),
            "url": self.cluster.url,
            "folder": str(self.cluster.root),
            "last_used": state.get("last_used") if state else None,
            "idle_timeout": state.get("idle_timeout") if state else None,
            "watcher": state.get("watcher") if state else None,
            "resident": read_json(self.resident_file) or None,
        }


def keep_out_of_git(cache: Path) -> None:
    """The project's ``.zanith`` folder holds machine state only (this server, cached graphs): a
    ``.gitignore`` of ``*`` inside it keeps it out of version control, as pytest does for its cache."""
    marker = cache / ".gitignore"
    if not marker.exists():
        marker.write_text("# zanith's warm server and cache: nothing here belongs in version control\n*\n")


def warm_url(project: Path, idle_timeout: float) -> str:
    """The URL of ``project``'s warm server, started (with its watcher) when it is not up; marks it used."""
    warm = WarmServer(project)
    warm.cache.mkdir(exist_ok=True)
    keep_out_of_git(warm.cache)
    with _locked(warm):
        up = warm.up()
        if not up:
            embedded.start(warm.cluster.root)
        if not (up and warm.state_file.exists()):  # a server up whose state was deleted (`git clean`): adopted
            watcher = _spawn(__name__, str(warm.project), str(idle_timeout))
            write_json(warm.state_file, {"idle_timeout": idle_timeout, "watcher": watcher})
        state = read_json(warm.state_file)
        resident = state.get("resident")
        if RESIDENT and not (isinstance(resident, int) and embedded.running(resident)):  # first, or killed
            state["resident"] = _spawn("zanith_core.cli.resident", str(warm.project))
        write_json(warm.state_file, {**state, "last_used": time.time()})
        return warm.cluster.url


def stop(project: Path) -> bool:
    """Stop ``project``'s warm server; True when one was running. Its data folder is kept for next time."""
    warm = WarmServer(project)
    if not warm.cache.exists():
        return False
    with _locked(warm):
        running = warm.up()
        warm.state_file.unlink(missing_ok=True)  # the watcher sees it gone and leaves
        embedded.stop(warm.cluster)
        return running


@contextlib.contextmanager
def _locked(warm: WarmServer) -> Iterator[None]:
    with open(warm.cache / "server.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if this process dies holding it
        yield


def read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, object]) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(data))
    partial.replace(path)  # atomic: a reader never sees half a state


def _spawn(module: str, *args: str) -> int:
    """Start ``python -m module args`` in a session of its own, so it outlives the command (and its Ctrl-C):
    the watcher, and the resident that runs the next commands (:mod:`zanith_core.cli.resident`); its pid."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    ).pid


def _clients(warm: WarmServer) -> int:
    try:
        with psycopg.connect(warm.cluster.url, connect_timeout=2, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


def _replenish(warm: WarmServer) -> None:
    """Top up the spare databases and drop the used ones (:mod:`.spares`); a server going down meanwhile
    is the next tick's concern."""
    try:
        with psycopg.connect(warm.cluster.url, connect_timeout=2, autocommit=True) as conn:
            spares.replenish(conn)
    except psycopg.Error:
        return


def watch(project: Path, idle_timeout: float) -> None:
    """The watcher's loop: keep spare databases ready, stop the server after ``idle_timeout`` idle seconds;
    leave when it is gone."""
    warm = WarmServer(project)
    while True:
        time.sleep(min(POLL_SECONDS, idle_timeout / 4))
        state = read_json(warm.state_file)
        if not (state and warm.kept()):
            return  # stopped by `zanith server stop`, or the server died: nothing to watch
        _replenish(warm)
        last = float(state.get("last_used") or 0)  # type: ignore[arg-type]
        if time.time() - last < idle_timeout or _clients(warm):
            continue
        with _locked(warm):
            state = read_json(warm.state_file)
            if state and time.time() - float(state.get("last_used") or 0) >= idle_timeout:  # type: ignore[arg-type]
                warm.state_file.unlink(missing_ok=True)
                embedded.stop(warm.cluster)
                return


if __name__ == "__main__":
    watch(Path(sys.argv[1]), float(sys.argv[2]))
