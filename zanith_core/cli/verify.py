"""``zanith verify``: replay every migration on a shadow database and compare with the declared schema.

Exit codes: 0 ``ok``, 4 ``drift``, 5 ``apply_failed``, 6 not a zanith project here — or, with
``--check-risk`` and an ``ok`` verdict, a step that locked or rewrote more than predicted — 1
``unreachable`` (and any other error).
"""

from __future__ import annotations

import click

from ..migrations.guard import require_project
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
@json_option
@click.pass_context
def verify_command(ctx: click.Context, shadow_url: str | None, observe: bool, check_risk: bool, as_json: bool) -> None:
    """Prove the migrations produce exactly the declared schema, on a throwaway database."""
    config = config_from(ctx)
    require_project(config)
    verdict = verify_on_shadow(config, shadow_url=shadow_url, observe=observe or check_risk)
    if as_json:
        emit_json(verdict.to_dict())
    else:
        click.echo(verdict.render())
    ctx.exit(RISK_MISMATCH if check_risk and verdict.ok and verdict.risk == "mismatch" else verdict.exit_code)
