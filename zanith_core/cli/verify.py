"""``zanith verify``: replay every migration on a shadow database and compare with the declared schema.

``--seed`` / ``--seed-from`` / ``--sample-from`` fill the shadow's tables before the pending migrations
(:mod:`zanith_core.seed`), so a step that fails on rows fails here (``apply_failed``, with the row).

Exit codes: 0 ``ok``, 4 ``drift``, 5 ``apply_failed``, 6 not a zanith project here — or, with
``--check-risk`` and an ``ok`` verdict, a step that locked or rewrote more than predicted — 1
``unreachable`` (and any other error).
"""

from __future__ import annotations

import click

from ..migrations.guard import require_project
from ..seed import DEFAULT_ROWS, SeedRequest
from ..verify import verify_on_shadow
from .common import config_from, emit_json, json_option

RISK_MISMATCH = 6


@click.command("verify")
@click.option(
    "--shadow-url",
    metavar="URL",
    default=None,
    help="Use this disposable database as the shadow (reset before use); overrides [tool.zanith] shadow.",
)
@click.option(
    "--observe",
    is_flag=True,
    help="Replay step by step and show each step's observed locks, rewrites and time beside the prediction.",
)
@click.option(
    "--check-risk",
    is_flag=True,
    help="Observe (--observe) and exit 6 when a step locked or rewrote more than the risk model predicted.",
)
@click.option(
    "--seed",
    is_flag=True,
    help="Fill the shadow's tables with synthetic rows before the pending migrations (observes every step).",
)
@click.option(
    "--seed-from",
    metavar="URL",
    default=None,
    help="Seed (implies --seed) as many rows per table as this database holds (capped by --seed-rows); "
    "its ledger says which migrations are pending.",
)
@click.option(
    "--seed-rows",
    type=click.IntRange(min=0),
    default=DEFAULT_ROWS,
    show_default=True,
    help="Synthetic rows per table at most.",
)
@click.option(
    "--seed-before",
    metavar="MIGRATION",
    default=None,
    help="Put the rows in before this migration (an id or its start); default: the --seed-from/--sample-from "
    "database's first pending migration, else the last migration.",
)
@click.option(
    "--sample-from",
    metavar="URL",
    default=None,
    help="Seed with rows copied from this database (keys kept consistent; sample_mask columns replaced).",
)
@click.option(
    "--sample-rows",
    type=click.IntRange(min=0),
    default=DEFAULT_ROWS,
    show_default=True,
    help="Sampled rows per table at most.",
)
@json_option
@click.pass_context
def verify_command(
    ctx: click.Context,
    shadow_url: str | None,
    observe: bool,
    check_risk: bool,
    seed: bool,
    seed_from: str | None,
    seed_rows: int,
    seed_before: str | None,
    sample_from: str | None,
    sample_rows: int,
    as_json: bool,
) -> None:
    """Prove the migrations produce exactly the declared schema, on a throwaway database."""
    config = config_from(ctx)
    require_project(config)
    if sample_from and seed_from:
        raise click.UsageError("--seed-from scales synthetic rows, --sample-from copies real ones: give one of them")
    request = (
        SeedRequest("sample", sample_rows, sample_from, mask=config.sample_mask, before=seed_before)
        if sample_from
        else SeedRequest("synthetic", seed_rows, seed_from, before=seed_before)
        if seed or seed_from or seed_before
        else None
    )
    verdict = verify_on_shadow(config, shadow_url=shadow_url, observe=observe or check_risk, seed=request)
    if as_json:
        emit_json(verdict.to_dict())
    else:
        click.echo(verdict.render())
    ctx.exit(RISK_MISMATCH if check_risk and verdict.ok and verdict.risk == "mismatch" else verdict.exit_code)
