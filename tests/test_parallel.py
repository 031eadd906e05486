"""both(): the two loads overlap, both always finish, and the first failure in argument order wins."""

from __future__ import annotations

import threading
import time

import pytest

from zanith_core.parallel import both


def test_the_two_sides_run_at_the_same_time() -> None:
    barrier = threading.Barrier(2, timeout=5)  # broken (an error) unless both wait at once

    def side(value: str) -> str:
        barrier.wait()
        return value

    assert both(lambda: side("current"), lambda: side("declared")) == ("current", "declared")


def test_a_failure_still_lets_the_other_side_finish_and_the_first_in_order_is_raised() -> None:
    finished: list[str] = []

    def slow_ok() -> str:
        time.sleep(0.2)
        finished.append("ok")
        return "ok"

    def fails(message: str) -> str:
        raise ValueError(message)

    with pytest.raises(ValueError, match="declared"):
        both(slow_ok, lambda: fails("declared"))
    assert finished == ["ok"]  # the scratch work of the other side was not abandoned half-way
    with pytest.raises(ValueError, match="first"):
        both(lambda: fails("first"), lambda: fails("second"))
