"""Small pieces every command shares: loading the config with flag overrides, printing (JSON too)."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

import click

from ..config import Config, is_project, load_config
from ..migrations import check_name


def config_from(ctx: click.Context, **overrides: Any) -> Config:
    """The project's config with the command's flags (None = not given) applied on top."""
    obj = ctx.find_root().obj or {}
    config = load_config(obj.get("project_dir"), overrides)
    if config.warm_server and is_project(config.project_dir):
        from ..servers import prefer_warm  # not at import: `zanith --help` must stay light

        prefer_warm(config.project_dir, config.server_idle_timeout)
    return config


def echo(message: str = "", *, err: bool = False) -> None:
    """``click.echo`` that outlives its reader: once the pipe is closed (``zanith apply | head -2``), the
    stream is pointed at the null device and the command carries on to its end and its exit code. A
    broken pipe must not stop an apply between a step it committed and the next one."""
    try:
        click.echo(message, err=err)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, (sys.stderr if err else sys.stdout).fileno())  # what is still buffered goes there too
        os.close(devnull)


def checked_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A ``--name`` callback: refuse (exit 2) a name too long for a file name before any work starts."""
    return check_name(value)


def emit_json(data: Any) -> None:
    echo(json.dumps(data, indent=2, default=str))


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
