"""Small pieces every command shares: loading the config with flag overrides, printing JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from ..config import Config, load_config


def config_from(ctx: click.Context, **overrides: Any) -> Config:
    """The project's config with the command's flags (None = not given) applied on top."""
    obj = ctx.find_root().obj or {}
    return load_config(obj.get("project_dir"), overrides)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def _seconds(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A number of seconds to wait: finite and not negative (``nan`` or ``inf`` would wait for ever)."""
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value!r} is not a number of seconds (0 or more, finite)", param=param)
    return value


wait_option = click.option(
    "--wait",
    type=float,
    default=0.0,
    metavar="SECONDS",
    callback=_seconds,
    help="Wait this long for a running apply.",
)
