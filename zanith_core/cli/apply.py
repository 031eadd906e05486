"""``zanith apply | status | history | show``: the audited apply and the ledger read back.

Exit codes of ``apply``: 0 done (or nothing to do), 2 a value out of range (``--budget 101``), 3 refused
by a gate (or a migration older than the newest applied one, without ``--allow-out-of-order``), 5 a
step failed (recorded; the next run resumes there), 6 not a zanith project here (or its migrations
folder is missing), 7 the target's ledger has applied migrations the project does not hold
(``status`` prints first, then exits 7 too), 1 any other error (bad URL, lock busy, edited migration,
...). The target is ``--database-url``, ``ZANITH_DATABASE_URL`` or ``database_url`` in ``[tool.zanith]`` — never the
embedded server. JSON shapes are documented in docs/apply.md.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..apply import history as ledger_history
from ..apply.results import ApplyResult, StepEvent
from ..apply.runner import apply_migrations
from ..errors import StepFailed
from ..ledger import StepRecord
from ..migrations.guard import check_target, require_in_order, require_ledger_covered, require_project
from ..migrations.loader import load_migrations
from ..plan import read_plan
from ..servers import mask_url
from .common import config_from, echo, emit_json, json_option, wait_option
from .fleet import (
    apply_fleet_command,
    history_fleet_command,
    parallel_option,
    status_fleet_command,
    targets_option,
)

database_url_option = click.option(
    "--database-url", metavar="URL", default=None, help="Target database (else ZANITH_DATABASE_URL or config)."
)


@click.command("apply")
@database_url_option
@click.option("--budget", type=int, default=None, help="Refuse the plan if any step scores above N.")
@click.option("--dry-run", is_flag=True, help="Print the SQL that would run; touch nothing.")
@wait_option
@click.option("--contract", is_flag=True, help="Also run contract phases (readers have switched).")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Apply this plan (written by `zanith plan --json`); refused if the target changed since.",
)
@click.option("--replan", is_flag=True, help="With --plan: plan again under the apply lock if the plan is stale.")
@click.option(
    "--allow-out-of-order", is_flag=True, help="Apply migrations older than the newest applied one (see status)."
)
@click.option("--fleet", is_flag=True, help="Apply to every target of the fleet (docs/fleet.md), canary first.")
@targets_option
@click.option("--canary", metavar="N|NAMES", default=None, help="--fleet: how many targets go first, or their names.")
@parallel_option
@click.option("--keep-going", is_flag=True, help="--fleet: after a failure, still start the independent targets.")
@json_option
@click.pass_context
def apply_command(
    ctx: click.Context,
    database_url: str | None,
    budget: int | None,
    dry_run: bool,
    wait: float,
    contract: bool,
    plan_file: str | None,
    replan: bool,
    allow_out_of_order: bool,
    fleet: bool,
    targets_file: str | None,
    canary: str | None,
    parallel: int,
    keep_going: bool,
    as_json: bool,
) -> None:
    """Apply pending migrations, one audited step at a time."""
    config = config_from(ctx, database_url=database_url, budget=budget)
    if fleet:
        apply_fleet_command(
            ctx,
            config,
            targets_file=targets_file,
            canary=canary,
            parallel=parallel,
            keep_going=keep_going,
            wait=wait,
            contract=contract,
            as_json=as_json,
        )
        return
    url = config.require_database_url()
    migrations = load_migrations(config.migrations_dir)
    found = check_target(url, config, migrations)
    require_in_order(found, allow_out_of_order=allow_out_of_order)
    orphan = found.orphaned_failure
    if orphan is not None and not as_json:
        echo(
            f"warning: migration {orphan} failed and its file is gone from {config.migrations_dir}; restore it, "
            f"or settle it with `zanith resolve {orphan} --forget`",
            err=True,
        )
    if not as_json and not dry_run:
        echo(f"applying to {mask_url(url)}")
    result = apply_migrations(
        url,
        migrations,
        config=config,
        plan=read_plan(Path(plan_file)) if plan_file else None,
        replan=replan,
        budget=config.budget,
        dry_run=dry_run,
        wait=wait,
        contract=contract,
        on_step=None if as_json else _print_event,
        progress=not as_json,
    )
    if as_json:
        emit_json(result.to_dict())
    else:
        _print_result(result)
    if result.failure is not None:
        raise StepFailed(result.failure.message)


def _print_event(event: StepEvent) -> None:
    where = f"  {event.migration_id} step {event.step_index}/{event.steps} {event.kind} {event.target}".rstrip()
    if event.status == "waiting":
        echo(f"{where}: {event.detail}")
    elif event.status == "retrying":
        echo(f"{where}: lock busy, retry {event.attempt}")
    elif event.status == "skipped":
        echo(f"{where}: already done")
    elif event.status == "done":
        echo(f"{where}: done ({event.seconds or 0:.3f}s)")
    elif event.status == "failed":
        echo(f"{where}: FAILED", err=True)


def _print_result(result: ApplyResult) -> None:
    if result.replanned:
        echo("the target changed since the plan was made: planned again under the apply lock")
    if result.dry_run:
        for step in result.planned:
            echo(f"-- {step.migration_id} step {step.step_index}: {step.kind} {step.target}".rstrip())
            echo(step.sql)
        echo(f"-- dry run: {len(result.planned)} steps would run; nothing was changed")
    elif result.ok:
        echo(f"applied {len(result.applied)} migrations ({len(result.already_applied)} were already applied)")
    if result.waiting:
        echo(f"waiting for `zanith apply --contract`: {', '.join(result.waiting)}")


@click.command("status")
@database_url_option
@click.option("--fleet", is_flag=True, help="A matrix of every fleet target by migration (docs/fleet.md).")
@targets_option
@parallel_option
@json_option
@click.pass_context
def status_command(
    ctx: click.Context, database_url: str | None, fleet: bool, targets_file: str | None, parallel: int, as_json: bool
) -> None:
    """Applied and pending migrations, the step a failed apply stopped at, open contract windows."""
    config = config_from(ctx, database_url=database_url)
    if fleet:
        status_fleet_command(ctx, config, targets_file=targets_file, parallel=parallel, as_json=as_json)
        return
    require_project(config)
    state = ledger_history.status(config.require_database_url(), load_migrations(config.migrations_dir), config)
    if as_json:
        emit_json(state.to_dict())
        require_ledger_covered(state.coverage, config)
        return
    click.echo(f"applied: {len(state.applied)}" + (f" (last: {state.applied[-1].id})" if state.applied else ""))
    click.echo(f"pending: {', '.join(state.pending) or 'none'}")
    if state.waiting:
        click.echo(f"waiting for --contract: {', '.join(state.waiting)}")
    if state.edited:
        click.echo(f"EDITED after apply (apply refuses to run): {', '.join(state.edited)}")
    if state.unfinished is not None:
        step = state.unfinished
        click.echo(f"unfinished: {step.migration_id} step {step.step_index} ({step.op_kind}) {step.status}")
        if step.error:
            click.echo(f"  error: {step.error.splitlines()[0]}")
        if state.unfinished_file_missing:
            click.echo(
                f"  its file is gone from {config.migrations_dir}: restore it, or settle it with "
                f"`zanith resolve {step.migration_id} --forget` (see docs/recover.md)"
            )
        else:
            click.echo(
                f"  fix the cause and `zanith apply` again, or settle it with `zanith resolve {step.migration_id}"
                " --rolled-back | --applied`"
            )
    if state.coverage.unknown:
        click.echo(f"applied in the database but unknown to this project: {', '.join(state.coverage.unknown)}")
    if state.coverage.out_of_order:
        click.echo(
            "warning: pending but older than the newest applied migration (apply needs --allow-out-of-order): "
            f"{', '.join(state.coverage.out_of_order)}",
            err=True,
        )
    if state.lock_holder is not None:
        click.echo(f"an apply is running now: pid {state.lock_holder[0]}, since {state.lock_holder[1]}")
    if state.drifted and state.drift is not None:
        drift = state.drift
        click.echo(
            f"WARNING: the live schema changed since {drift.since} was applied (by hand?): "
            f"{len(drift.differences)} difference(s)",
            err=True,
        )
        click.echo("\n".join(f"  {d.render()}" for d in drift.differences), err=True)
        click.echo("  record them with `zanith adopt`, or undo them, before the next apply", err=True)
    require_ledger_covered(state.coverage, config)


@click.command("history")
@database_url_option
@click.option("--risk-profile", is_flag=True, help="Risk scores by reason code per day instead.")
@click.option("--fleet", is_flag=True, help="Timings and risk of each migration across the fleet's targets.")
@targets_option
@parallel_option
@json_option
@click.pass_context
def history_command(
    ctx: click.Context,
    database_url: str | None,
    risk_profile: bool,
    fleet: bool,
    targets_file: str | None,
    parallel: int,
    as_json: bool,
) -> None:
    """Every migration the ledger knows, with its steps' risk and durations."""
    config = config_from(ctx, database_url=database_url)
    if fleet:
        history_fleet_command(ctx, config, targets_file=targets_file, parallel=parallel, as_json=as_json)
        return
    url = config.require_database_url()
    if risk_profile:
        rows = ledger_history.risk_profile(url, config)
        if as_json:
            emit_json({"risk_profile": [r.to_dict() for r in rows]})
            return
        click.echo(f"{'day':<11} {'reason':<28} {'steps':>5} {'max':>4} {'avg':>6}")
        for r in rows:
            avg = f"{r.avg_score:.1f}" if r.avg_score is not None else "-"
            click.echo(f"{r.to_dict()['day']:<11} {r.reason:<28} {r.steps:>5} {r.max_score or '-':>4} {avg:>6}")
        return
    migrations = ledger_history.history(url, config)
    if as_json:
        emit_json({"migrations": [m.to_dict() for m in migrations]})
        return
    for m in migrations:
        when = m.applied_at.isoformat(sep=" ", timespec="seconds") if m.applied_at else "NOT APPLIED"
        risk = f"max risk {m.max_risk}" if m.max_risk is not None else "risk unscored"
        if m.how in ("baselined", "adopted"):  # recorded without running: no steps, no risk
            click.echo(f"{m.id}  {when}  {m.how} by {m.applied_by or 'unknown'} (SQL not run)")
            continue
        click.echo(f"{m.id}  {when}  {len(m.steps)} steps  {m.seconds:.3f}s  {risk}")
        for step in m.steps:
            click.echo(f"  {_step_line(step)}")


@click.command("show")
@click.argument("migration_id")
@database_url_option
@json_option
@click.pass_context
def show_command(ctx: click.Context, migration_id: str, database_url: str | None, as_json: bool) -> None:
    """One migration's steps, SQL, errors and a summary of the schema after it."""
    config = config_from(ctx, database_url=database_url)
    detail = ledger_history.show(config.require_database_url(), config, migration_id)
    if as_json:
        emit_json(detail.to_dict())
        return
    m = detail.history
    click.echo(f"migration {m.id}")
    click.echo(f"  applied: {m.applied_at.isoformat(sep=' ', timespec='seconds') if m.applied_at else 'no'}")
    if m.how is not None:
        click.echo(f"  how: {m.how}, by {m.applied_by or 'unknown'}" + (" (SQL not run)" if m.how != "applied" else ""))
    click.echo(f"  checksum: {m.checksum or '-'}")
    for step in m.steps:
        click.echo(f"  {_step_line(step)}")
        click.echo("\n".join(f"      {line}" for line in step.sql.splitlines()))
        if step.error:
            click.echo("\n".join(f"    ! {line}" for line in step.error.splitlines()))
    summary = detail.snapshot_summary()
    if summary is None:
        click.echo("  snapshot: none (the migration is not applied)")
    else:
        click.echo(
            f"  snapshot after: {len(summary['tables'])} tables, {summary['columns']} columns, "
            f"{summary['indexes']} indexes, {len(summary['enums'])} enums, {len(summary['views'])} views"
        )


def _step_line(step: StepRecord) -> str:
    seconds = f"{step.seconds:.3f}s" if step.seconds is not None else "-"
    risk = f"{step.risk_level} {step.risk_score}" if step.risk_score is not None else "unscored"
    return f"{step.step_index:>3} {step.status:<7} {step.op_kind:<24} {seconds:>9}  risk {risk}"
