"""The apply lock: a wait that is not a number of seconds gives up, never polls for ever."""

from __future__ import annotations

import math
import threading

from zanith_core.errors import LockBusy
from zanith_core.ledger.locks import apply_lock, lock_key
from zanith_core.servers import connect


def test_a_nan_wait_for_a_held_apply_lock_gives_up_at_once(zanith_db) -> None:
    zanith_db.conn.execute("SELECT pg_advisory_lock(%s)", (lock_key("public"),))
    outcome: list[BaseException] = []

    def second_apply() -> None:
        with connect(zanith_db.url) as conn:
            try:
                with apply_lock(conn, "public", wait=math.nan):
                    pass
            except LockBusy as exc:
                outcome.append(exc)

    worker = threading.Thread(target=second_apply, daemon=True)
    worker.start()
    worker.join(timeout=10)
    zanith_db.conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key("public"),))
    worker.join()
    assert outcome and "another apply is running" in str(outcome[0])
