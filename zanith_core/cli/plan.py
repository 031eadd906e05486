"""``zanith plan`` and ``zanith explain [CODE]``: thin layers over the core.

``plan`` exits 0 ok, 3 refused, 6 not a zanith project here, 7 the target's ledger has applied
migrations the project does not hold (with ``--database-url``), 2 a ``--observed`` file that is not a
``zanith verify --observe --json`` document (or an option click refuses), 1 any other error.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import PlanRefused
from ..hooks import gate_checks, plugin_manager, reason_codes
from ..migrations.guard import check_target, require_project
from ..migrations.loader import load_migrations
from ..plan import plan_project, read_observed
from ..risk.catalog import GATES
from ..risk.docs import CatalogView, render_text
from .common import config_from, emit_json, json_option


@click.command("plan")
@click.option("--budget", type=int, default=None, metavar="N", help="Refuse the plan if any step scores above N.")
@click.option(
    "--database-url",
    default=None,
    metavar="URL",
    help="Target database: skip applied migrations, score with its live statistics.",
)
@click.option(
    "--observed",
    "observed_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Score the steps `zanith verify --observe --json` observed (FILE) from what it saw them do.",
)
@json_option
@click.pass_context
def plan_command(
    ctx: click.Context, budget: int | None, database_url: str | None, observed_file: Path | None, as_json: bool
) -> None:
    """Score every pending step (level, 0-100 score, reasons) and run the gates."""
    config = config_from(ctx, budget=budget, database_url=database_url)
    observed = read_observed(observed_file) if observed_file is not None else None
    if config.database_url:
        check_target(config.database_url, config, load_migrations(config.migrations_dir))
    else:
        require_project(config)
    result = plan_project(config, observed=observed)
    if as_json:
        emit_json(result.to_dict())
    else:
        for line in result.render().splitlines():
            marked = line.lstrip().startswith("!") or line.startswith(("verdict: refused", "  FAIL"))
            click.echo(click.style(line, fg="red", bold=True) if marked else line)
    ctx.exit(PlanRefused.exit_code if result.verdict == "refused" else 0)


@click.command("explain")
@click.argument("code", required=False)
@json_option
@click.pass_context
def explain_command(ctx: click.Context, code: str | None, as_json: bool) -> None:
    """Explain the risk catalog: every level, reason code, gate and op kind, or just CODE."""
    pm = plugin_manager(config_from(ctx))
    gates = {**GATES, **{c.gate.name: c.gate for c in gate_checks(pm)}}
    view = CatalogView(reasons=reason_codes(pm), gates=gates)
    chosen = view.select(code) if code else view
    if as_json:
        emit_json(chosen.to_dict())
    else:
        click.echo(render_text(chosen), nl=False)
