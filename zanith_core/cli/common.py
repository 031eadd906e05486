"""Small pieces every command shares: loading the config with flag overrides, printing JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from ..config import Config, load_config
from ..migrations import check_name


def config_from(ctx: click.Context, **overrides: Any) -> Config:
    """The project's config with the command's flags (None = not given) applied on top."""
    obj = ctx.find_root().obj or {}
    return load_config(obj.get("project_dir"), overrides)


def checked_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A ``--name`` callback: refuse (exit 2) a name too long for a file name before any work starts."""
    return check_name(value)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
wait_option = click.option(
    "--wait", type=float, default=0.0, metavar="SECONDS", help="Wait this long for a running apply."
)
