"""``zanith baseline | adopt``: write down a schema zanith did not make, and record it without running it.

Exit codes: 0 recorded (or, for ``adopt``, nothing to adopt), 8 refused (the ledger or the project is
not in the state this command adopts from; nothing written), 1 any other error (no URL, lock busy, ...).
JSON shapes are documented in docs/adopting.md.
"""

from __future__ import annotations

import click

from ..authoring.adopt import Recorded, adopt, baseline
from ..generate.renames import RenameHints
from ..servers import mask_url
from .apply import database_url_option
from .common import checked_name, config_from, emit_json, json_option


@click.command("baseline")
@database_url_option
@click.option(
    "--name", default="baseline", show_default=True, callback=checked_name, help="Name of the baseline migration."
)
@click.option(
    "--at",
    metavar="MIGRATION_ID",
    default=None,
    help="Record the project's migrations up to this one as applied (the target already has their schema).",
)
@json_option
@click.pass_context
def baseline_command(ctx: click.Context, database_url: str | None, name: str, at: str | None, as_json: bool) -> None:
    """Adopt an existing database: write its schema as a migration and record it applied, unrun."""
    config = config_from(ctx, database_url=database_url)
    url = config.require_database_url()
    result = baseline(config, url, name=name, at=at)
    if as_json:
        emit_json(result.to_dict())
        return
    _print(result, f"baselined {mask_url(url)}")
    if result.path is not None:
        click.echo(f"set baseline = {result.ids[-1]!r} in [tool.zanith] so plans made without a database skip it")


@click.command("adopt")
@database_url_option
@click.option(
    "--name", default="adopted", show_default=True, callback=checked_name, help="Name of the migration written."
)
@click.option(
    "--rename", "renames", metavar="A=B", multiple=True, help="A rename made by hand: users.name=full_name or old=new."
)
@json_option
@click.pass_context
def adopt_command(
    ctx: click.Context, database_url: str | None, name: str, renames: tuple[str, ...], as_json: bool
) -> None:
    """Write down changes made by hand on the target since the last migration; record them applied, unrun."""
    config = config_from(ctx, database_url=database_url)
    url = config.require_database_url()
    result = adopt(config, url, name=name, hints=RenameHints.parse(renames))
    if as_json:
        emit_json(result.to_dict())
        return
    if not result.ids:
        click.echo("nothing to adopt: the live schema is what the ledger's last snapshot says")
        return
    _print(result, f"adopted on {mask_url(url)}")


def _print(result: Recorded, headline: str) -> None:
    click.echo(f"{headline}: recorded {', '.join(result.ids)} as applied (SQL not run)")
    when = result.applied_at.isoformat(sep=" ", timespec="seconds") if result.applied_at else "-"
    click.echo(f"  by {result.applied_by} at {when}")
    if result.path is not None:
        click.echo(f"  wrote {result.path}")
    for difference in result.differences:
        click.echo(f"  {difference.render()}")
