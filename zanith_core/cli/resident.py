"""The resident: a process beside a project's warm server that runs commands with zanith already imported.

A ``zanith`` process spends about 0.4 s importing psycopg, pglast and the core before it does anything;
an edit → generate → plan → verify loop pays that three times. When the warm server starts (:mod:`..warm`)
it also starts this process, which imports every command once and listens on a Unix socket. A command
line then hands itself over (:func:`.handoff.handoff`): the client sends its arguments, working folder,
environment, umask and ``sys.path``, with its stdin, stdout and stderr themselves (``SCM_RIGHTS``); the
resident forks, the child takes them on and runs the command exactly as the client would have, writing
straight to the client's terminal (colours, prompts and live tables included), and the resident sends
back the child's exit status as the shell would see it. The same design as Rails' Spring or Nailgun, kept
small: nothing is cached between commands but imported code, each command is a fresh fork.

Trust and staleness. The socket lives in a folder only this user can enter, and both ends check the
other's uid (``SO_PEERCRED``). The resident refuses — and the client runs the command itself — a client
with another interpreter or ``sys.path``; and once zanith's own files change (an upgrade, an edit to an
editable install) it refuses and starts itself again on the new code. ``ZANITH_NO_RESIDENT`` set (to
anything) makes a command run in its own process.

Signals: Ctrl-C and SIGTERM/SIGHUP reach the client; it passes them on, and the child unwinds as any
command does (its transaction rolled back, exit 130/143). A client killed outright (SIGKILL) closes its
socket: the resident sends the child SIGTERM. The resident leaves with the warm server (its state file
gone: ``zanith server stop``, the idle timeout), once its running commands have finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ..warm import WarmServer, write_json
from .handoff import folder, peer_uid, private, socket_path

TICK = 0.5
"""How often the resident checks that its warm server is still wanted and its code still current."""
LIMIT = 1 << 20
"""The largest request: arguments and environment, as JSON."""


PACKAGE = Path(__file__).resolve().parents[1]


def code_stamp(package: Path = PACKAGE) -> str:
    """A fingerprint of zanith's own files: a resident whose code changed since it imported it is stale."""
    digest = hashlib.sha256(sys.executable.encode())
    for path in sorted(package.rglob("*.py")):
        info = path.stat()
        digest.update(f"{path}:{info.st_mtime_ns}:{info.st_size}\n".encode())
    return digest.hexdigest()


def preload() -> None:
    """Import every command, and with them psycopg, pglast and the core: what each fork inherits."""
    import importlib

    from . import COMMANDS

    for where in COMMANDS.values():
        importlib.import_module(f"{__package__}.{where.partition(':')[0]}")


@dataclass
class _Running:
    """A command the resident forked: the client's connection, to send its exit status on."""

    conn: socket.socket
    listening: bool = True
    """False once the client has gone (its end closed): nothing more is read from it."""


class Resident:
    """The resident's loop: accept commands, fork them, pass signals on, report exit statuses."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.warm = WarmServer(project)
        self.stamp = code_stamp()
        self.running: dict[int, _Running] = {}
        self.served = 0
        self.stale = False
        """Set when a request found zanith's files changed: the resident starts again once nothing runs."""
        self.started = time.time()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def bind(self) -> bool:
        """Listen on the project's socket; False when another resident already does."""
        where = folder()
        with contextlib.suppress(FileExistsError):
            where.mkdir(mode=0o700)
        if not private(where):
            return False
        path = socket_path(self.project)
        if path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                probe.connect(str(path))
                return False  # another resident answers there
            except OSError:
                path.unlink(missing_ok=True)  # left by a resident that was killed
            finally:
                probe.close()
        self.listener.bind(str(path))
        self.listener.listen(16)
        return True

    def serve(self) -> str:
        """Serve until the warm server is no longer kept or a request found the code changed, once nothing
        runs; which of the two."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes the select below
        while True:
            self._tick()
            if not self.running:
                if not self.warm.kept():
                    return "unwanted"
                if self.stale:
                    return "stale"

    def _tick(self) -> None:
        clients = {r.conn.fileno(): r.conn for r in self.running.values() if r.listening}
        with contextlib.suppress(InterruptedError):
            ready, _, _ = select.select([self.listener.fileno(), self.wake_r, *clients], [], [], TICK)
            for fd in ready:
                if fd == self.listener.fileno():
                    self._accept()
                elif fd == self.wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 512)
                else:
                    self._from_client(clients[fd])
        self._reap()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(1.0)
        try:
            payload, fds, _, _ = socket.recv_fds(conn, LIMIT, 3)
            request = json.loads(payload)
        except (OSError, ValueError):
            conn.close()
            return
        try:
            refusal = self._refusal(conn, request, fds)
            if refusal is not None:
                conn.send(f"refused {refusal}".encode())
                conn.close()
                return
            pid = os.fork()
            if pid == 0:
                _run_child(self, conn, request, fds)  # never returns
            self.running[pid] = _Running(conn)
            self.served += 1
            self.write_status()
            conn.send(f"pid {pid}".encode())
        finally:
            for fd in fds:
                os.close(fd)

    def _refusal(self, conn: socket.socket, request: dict[str, object], fds: list[int]) -> str | None:
        if peer_uid(conn) != os.getuid():
            return "another user"
        if (request.get("executable"), request.get("package")) != (sys.executable, str(PACKAGE)):
            return "another interpreter or zanith"
        if request.get("path") != sys.path[1:]:
            return "another sys.path"
        if len(fds) != len(request.get("streams") or []):  # type: ignore[arg-type]
            return "streams missing"
        if code_stamp() != self.stamp:
            self.stale = True
            return "zanith's files changed"
        return None

    def _from_client(self, conn: socket.socket) -> None:
        pid, running = next((p, r) for p, r in self.running.items() if r.conn is conn)
        try:
            message = conn.recv(256)
        except OSError:
            message = b""
        if message.startswith(b"signal "):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(pid, int(message.split()[1]))
            return
        running.listening = False  # the client is gone (killed): the command unwinds as on SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)

    def _reap(self) -> None:
        for pid in list(self.running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                continue
            running = self.running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                running.conn.send(f"exit {code if code >= 0 else 128 - code}".encode())
            running.conn.close()

    def write_status(self) -> None:
        with contextlib.suppress(OSError):  # its folder deleted (`git clean`): the resident leaves at the next tick
            write_json(self.warm.resident_file, {"pid": os.getpid(), "started": self.started, "served": self.served})

    def close(self) -> None:
        self.listener.close()
        socket_path(self.project).unlink(missing_ok=True)
        self.warm.resident_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder().rmdir()  # the last resident of this user: leave the temp dir as found


def _run_child(resident: Resident, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> NoReturn:
    """In the fork: become the client's command — its streams, folder, environment — run it, exit."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        resident.listener.close()
        conn.close()
        for other in resident.running.values():
            other.conn.close()
        os.close(resident.wake_r)
        os.close(resident.wake_w)
        _take_streams(request, fds)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.umask(request["umask"])
        sys.argv = ["zanith", *request["argv"]]
        tempfile.tempdir = None  # the client's TMPDIR, not the resident's

        from . import main

        try:
            main.main(args=request["argv"], prog_name="zanith")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # a bug: shown as Python would show it, on the client's stderr
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        atexit._run_exitfuncs()  # what a command registered (a throwaway server's removal) still runs
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _take_streams(request: dict[str, Any], fds: list[int]) -> None:
    """Put the client's stdin, stdout and stderr at fds 0, 1, 2, and Python's streams over them."""
    devnull = os.open(os.devnull, os.O_RDWR)
    given = dict(zip(request["streams"], fds, strict=True))
    for target in (0, 1, 2):
        os.dup2(given.get(target, devnull), target)
    for fd in (devnull, *fds):
        if fd > 2:
            os.close(fd)
    encodings = request["encoding"]
    sys.stdin = open(0, encoding=encodings[0], closefd=False)  # noqa: SIM115 - the process's own stream
    sys.stdout = open(1, "w", encoding=encodings[1], closefd=False, buffering=1 if os.isatty(1) else -1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding=encodings[2], errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115


def run(project: Path) -> None:
    """The resident's life: import everything, listen, serve while the warm server lives; start again on new
    code."""
    preload()
    resident = Resident(project)
    if not resident.bind():
        return
    try:
        resident.write_status()
        why = resident.serve()
    finally:
        resident.close()
    if why == "stale":
        os.execv(sys.executable, [sys.executable, "-m", f"{__package__}.resident", str(project)])  # not __main__


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # leave through close(): no socket left
    run(Path(sys.argv[1]))
