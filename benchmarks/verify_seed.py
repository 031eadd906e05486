"""Seeded shadow verify of examples/shop at 10,000 synthetic rows per table, vs the same verify unseeded.

The seeded run fills the shop's 8 tables (``zanith verify --seed --seed-rows 10000``) before the last
migration, then replays it on those rows with every step observed (one transaction per step, locks and
rewrites read); the baseline is the plain verify of the same project on the same server, batched and
unobserved. Both sides run ``ROUNDS`` times, alternating, on the embedded server (``ZANITH_BENCH_URL``
names another), started before timing; the best run of each counts. Goal (issue 18): ≤ 5x.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zanith_core.config import load_config
from zanith_core.seed import SeedRequest
from zanith_core.servers import Server, resolve_server
from zanith_core.verify import Verdict, verify_on_shadow

SHOP = Path(__file__).parents[1] / "examples" / "shop"
ROWS = 10_000
ROUNDS = 3
GOAL = 5.0


def _verify(server: Server, seed: SeedRequest | None) -> Verdict:
    config = load_config(SHOP, {"cache": False}, environ={})
    verdict = verify_on_shadow(config, server=server, seed=seed)
    if not verdict.ok:
        raise RuntimeError(f"benchmark verify did not pass:\n{verdict.render()}")
    return verdict


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    seed = SeedRequest(rows=ROWS)
    _verify(server, None)  # warm the server and the imports
    rounds = [(_verify(server, None), _verify(server, seed)) for _ in range(ROUNDS)]
    plain = min(r[0].seconds for r in rounds)
    seeded = min((r[1] for r in rounds), key=lambda v: v.seconds)
    assert seeded.seed is not None
    rows = sum(n for _, n in seeded.seed.rows)
    return [
        {
            "benchmark": f"verify --seed, examples/shop, {ROWS:,} rows per table ({rows:,} rows seeded)",
            "measured_s": round(seeded.seconds, 4),
            "baseline": "the same verify without --seed",
            "baseline_s": round(plain, 4),
            "ratio": round(seeded.seconds / plain, 2),
            "goal": f"<= {GOAL:g}x",
            "seed_s": round(seeded.seed.seconds, 4),
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
