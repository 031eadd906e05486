"""``zanith server status|stop``: the project's warm embedded server (:mod:`zanith_core.warm`)."""

from __future__ import annotations

import time

import click

from ..warm import WarmServer, stop
from .common import config_from, emit_json, json_option


@click.group("server")
def server() -> None:
    """The project's warm embedded server: what state it is in, and stopping it."""


@server.command("status")
@json_option
@click.pass_context
def status_command(ctx: click.Context, as_json: bool) -> None:
    """Whether the project's warm server runs, where, and when a command last used it."""
    state = WarmServer(config_from(ctx).project_dir).status()
    if as_json:
        emit_json(state)
        return
    if not state["running"]:
        click.echo(f"not running (its folder: {state['folder']})")
        return
    used = state["last_used"]
    idle = f", idle {time.time() - float(used):.0f}s of {state['idle_timeout']:g}s" if isinstance(used, float) else ""
    click.echo(f"running at {state['url']}{idle}")
    resident = state["resident"]
    if isinstance(resident, dict):
        click.echo(f"resident process {resident['pid']}: {resident['served']} command(s) run with zanith imported")


@server.command("stop")
@click.pass_context
def stop_command(ctx: click.Context) -> None:
    """Stop the project's warm server now (its data folder stays, so the next start is quick)."""
    click.echo("stopped" if stop(config_from(ctx).project_dir) else "was not running")
