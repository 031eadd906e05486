"""``zanith diff --from SRC --to SRC``: exit 0 when equal, 4 when different, 1 on error, 2 on usage."""

from __future__ import annotations

import click

from ..diff import diff, render
from ..sources.drift import load_pair
from .common import config_from, emit_json, json_option

EXIT_DIFFERENT = 4


@click.command("diff")
@click.option("--from", "source", required=True, metavar="SRC", help="Postgres URL, .sql path or module:attr.")
@click.option("--to", "target", required=True, metavar="SRC", help="Postgres URL, .sql path or module:attr.")
@json_option
@click.pass_context
def diff_command(ctx: click.Context, source: str, target: str, as_json: bool) -> None:
    """Show every difference between two schemas."""
    config = config_from(ctx)
    before, after = load_pair(source, target, config)
    differences = diff(before, after)
    if as_json:
        emit_json({"equal": not differences, "differences": [d.to_dict() for d in differences]})
    elif differences:
        click.echo(render(differences))
    else:
        click.echo("no differences")
    ctx.exit(EXIT_DIFFERENT if differences else 0)
