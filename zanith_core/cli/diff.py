"""``zanith diff --from SRC --to SRC``: exit 0 when equal, 4 when different, 1 on error, 2 on usage.

Soft-dropped columns and tables either side holds aside are listed after the differences (``parked``,
with their recovery artifact when ``--from`` is a database with a ledger); they are not differences.
"""

from __future__ import annotations

import click
import psycopg

from ..config import Config
from ..diff import diff, parked, render
from ..errors import ZanithError
from ..ledger.artifacts import list_artifacts
from ..servers import connect
from ..sources import is_database
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
    aside = (*parked(before, _artifact_ids(source, config) if before.parked else None), *parked(after))
    if as_json:
        emit_json(
            {
                "equal": not differences,
                "differences": [d.to_dict() for d in differences],
                "parked": [d.to_dict() for d in aside],
            }
        )
        ctx.exit(EXIT_DIFFERENT if differences else 0)
    click.echo(render(differences) if differences else "no differences")
    if aside:
        click.echo("parked (soft-dropped, data kept until purged):\n" + "\n".join(f"  {d.render()}" for d in aside))
    ctx.exit(EXIT_DIFFERENT if differences else 0)


def _artifact_ids(source: str, config: Config) -> dict[str, int]:
    """Recovery artifacts by physical name, when ``source`` is a database holding the ledger."""
    if not is_database(source):
        return {}
    try:
        with connect(source) as conn:
            return {a.physical_name: a.id for a in list_artifacts(conn, config.ledger_schema) if a.physical_name}
    except (psycopg.Error, ZanithError):  # no ledger there: the names alone
        return {}
