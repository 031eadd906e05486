"""The client side of the resident (:mod:`.resident`): a command line handing itself over.

Kept apart from the resident so that a command line loads only this (the standard library) before it
knows whether a resident will run it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

ANSWER_SECONDS = 10.0
"""How long a client waits for the resident to take its command before saying so (it never runs it twice)."""
NOT_HANDED_OVER = frozenset({"server"})
"""Commands that run in their own process: ``server stop`` ends the resident itself."""
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def folder() -> Path:
    """Where this user's resident sockets live: a folder in the temp dir only its owner may enter."""
    return Path(tempfile.gettempdir()) / f"zanith-resident-{os.getuid()}"


def socket_path(project: Path) -> Path:
    """The socket of ``project``'s resident (keyed by the project's path: Unix socket paths are short)."""
    digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]
    return folder() / f"{digest}.sock"


def private(path: Path) -> bool:
    """Whether ``path`` is a folder owned by this user that nobody else may enter or write."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return info.st_uid == os.getuid() and (info.st_mode & 0o077) == 0 and os.path.isdir(path)


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def handoff(argv: list[str]) -> int | None:
    """Run ``zanith argv`` in the resident of the project it names; its exit status, or None when there is
    no resident to take it (none running, another interpreter, stale code): the caller then runs it."""
    start, command = _command_line(argv)
    if command is None or command in NOT_HANDED_OVER or "ZANITH_NO_RESIDENT" in os.environ:
        return None
    sock = _connect(start)
    if sock is None:
        return None
    with sock:
        return _converse(sock, argv)


def _command_line(argv: list[str]) -> tuple[Path, str | None]:
    """The folder the project is looked for from, and the command (None for ``--help``, ``--version``…)."""
    start = Path.cwd()
    items = iter(argv)
    for arg in items:
        if arg in ("-C", "--project-dir"):
            start = start / next(items, ".")
        elif arg.startswith("--project-dir="):
            start = start / arg.partition("=")[2]
        elif arg.startswith("-C"):
            start = start / arg[2:]
        elif arg.startswith("-"):
            return start, None
        else:
            return start, arg
    return start, None


def _connect(start: Path) -> socket.socket | None:
    """A connection to the resident of the nearest folder from ``start`` upwards that has one."""
    if not private(folder()):
        return None
    try:
        here = start.resolve()
    except OSError:
        return None
    for candidate in (here, *here.parents):
        path = socket_path(candidate)
        if not os.path.exists(path):
            continue
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(str(path))
        except OSError:  # a resident killed without removing its socket: none
            sock.close()
            return None
        if peer_uid(sock) != os.getuid():
            sock.close()
            return None
        return sock
    return None


def _converse(sock: socket.socket, argv: list[str]) -> int | None:
    streams = [fd for fd in (0, 1, 2) if _open(fd)]
    request = {
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": _umask(),
        "path": sys.path[1:],
        "executable": sys.executable,
        "package": str(Path(__file__).resolve().parents[1]),
        "streams": streams,
        "encoding": [getattr(s, "encoding", None) or "utf-8" for s in (sys.stdin, sys.stdout, sys.stderr)],
    }
    try:
        socket.send_fds(sock, [json.dumps(request).encode()], streams)
    except OSError:
        return None
    sock.settimeout(ANSWER_SECONDS)
    try:
        first = sock.recv(256).decode()
    except TimeoutError:
        print(
            f"error: the project's resident zanith did not take the command in {ANSWER_SECONDS:g}s; "
            "`zanith server stop` ends it (ZANITH_NO_RESIDENT=1 runs a command without it)",
            file=sys.stderr,
        )
        return 1
    except OSError:
        return None
    if not first.startswith("pid "):
        return None  # refused (another interpreter, stale code) or gone: nothing ran
    sock.settimeout(None)
    with _passing_signals(sock):
        reply = b""
        with contextlib.suppress(OSError):
            reply = sock.recv(256)
    if reply.startswith(b"exit "):
        return int(reply.split()[1])
    print(
        f"error: lost the project's resident zanith while it ran the command (its process {first.split()[1]}); "
        "`zanith status` says where the ledger stands",
        file=sys.stderr,
    )
    return 1


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _passing_signals(sock: socket.socket) -> Iterator[None]:
    """While the command runs, Ctrl-C, SIGTERM and SIGHUP are sent on to it instead of ending this client."""

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):
            sock.send(f"signal {signum}".encode())

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
