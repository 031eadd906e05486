"""Ctrl-C and SIGTERM unwind like an exception, so every ``finally`` and open transaction cleans up.

Python's default SIGTERM ends the process on the spot: a running statement keeps its locks until the
server notices, and a scratch database is left behind. Raised as :class:`Terminated` (a
``KeyboardInterrupt``), it unwinds like Ctrl-C does, and psycopg cancels the running statement on the
server before the exception leaves the wait. The ``zanith`` command turns either into a one-line
message and exit status 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM: unwind as for Ctrl-C; ``signum`` says which signal it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def _raise_interrupt(signum: int) -> NoReturn:
    raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def _in_main_thread() -> bool:
    """Signal handlers can only be set from the main thread; elsewhere the helpers here do nothing."""
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Raise :class:`Terminated` wherever the main thread is when SIGTERM arrives, inside the block."""
    if not _in_main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        _raise_interrupt(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM during cleanup (a second Ctrl-C must not cut it short), then raise the
    first one that arrived, as the interruption it stands for."""
    if not _in_main_thread():
        yield
        return
    pending: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending:
            _raise_interrupt(pending[0])
