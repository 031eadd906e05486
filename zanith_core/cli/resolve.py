"""``zanith resolve ID --rolled-back [--fixed-by-hand] | --applied | --forget``: settle a stuck migration.

Exit codes: 0 settled; 3 refused as things stand (applied already, not failed, file still there for
``--forget``, file gone for ``--applied``, a step with no automatic reversal) — nothing was changed;
5 a reversal failed (the steps reversed before it are recorded; run it again after fixing the cause);
1 other errors (unknown id, no URL, lock busy). JSON shape in docs/recover.md.
"""

from __future__ import annotations

import click

from ..ledger.events import FORGOTTEN
from ..migrations.loader import load_migrations
from ..recovery.resolve import APPLIED, ROLLED_BACK, resolve
from .apply import database_url_option
from .common import config_from, emit_json, json_option, wait_option


@click.command("resolve")
@click.argument("migration_id")
@click.option("--rolled-back", "rolled_back", is_flag=True, help="Undo its done steps by their reversals.")
@click.option(
    "--fixed-by-hand",
    is_flag=True,
    help="With --rolled-back: the schema was put back by hand; record its done steps abandoned, run nothing.",
)
@click.option("--applied", is_flag=True, help="It was finished by hand: mark it applied (its SQL is not run).")
@click.option("--forget", is_flag=True, help="Its file was deleted on purpose: stop expecting it.")
@wait_option
@database_url_option
@json_option
@click.pass_context
def resolve_command(
    ctx: click.Context,
    migration_id: str,
    rolled_back: bool,
    fixed_by_hand: bool,
    applied: bool,
    forget: bool,
    wait: float,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Settle a failed migration (rolled back or applied), or forget one whose file was deleted."""
    chosen = [name for name, flag in ((ROLLED_BACK, rolled_back), (APPLIED, applied), (FORGOTTEN, forget)) if flag]
    if len(chosen) != 1:
        raise click.UsageError("say how to resolve it: exactly one of --rolled-back, --applied, --forget")
    if fixed_by_hand and not rolled_back:
        raise click.UsageError("--fixed-by-hand goes with --rolled-back")
    config = config_from(ctx, database_url=database_url)
    url = config.require_database_url()
    migrations = load_migrations(config.migrations_dir)
    done = resolve(url, config, migration_id, chosen[0], migrations, fixed_by_hand=fixed_by_hand, wait=wait)
    if as_json:
        emit_json(done.to_dict())
        return
    how = "rolled back (fixed by hand)" if done.fixed_by_hand else done.resolution.replace("_", " ")
    click.echo(f"migration {done.migration_id}: {how}")
    for step in done.steps:
        click.echo(f"  step {step.step_index}: {step.before} -> {step.after}")
        if step.sql:
            click.echo("\n".join(f"      {line}" for line in step.sql.splitlines()))
    if done.resolution == ROLLED_BACK:
        click.echo(f"the next `zanith apply` runs {done.migration_id} again from its first step")
