"""The ``--fleet`` side of ``zanith apply | status | history``: thin renderers over :mod:`zanith_core.fleet`.

Progress of ``apply --fleet``: with ``--json``, one JSON object per line per event and the result last;
on a terminal, a live view of the waves (rich); otherwise one plain line per target started, done or
failed. Exit codes as ``zanith apply``: 0 every target done, 3 a plan refused (nothing written), 5 a
target failed (the summary says which; a rerun resumes), 1 a target that could not be planned.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..config import Config
from ..errors import ConfigError
from ..fleet.run import FleetEvent, FleetOptions, FleetResult, apply_fleet
from ..fleet.status import fleet_history, fleet_status
from ..fleet.targets import Target, TargetsSpec, read_targets_file, resolve_targets
from ..migrations.guard import require_project
from ..migrations.loader import load_migrations
from .common import echo, emit_json

targets_option = click.option(
    "--targets", "targets_file", metavar="FILE", default=None, help="Targets file (else [tool.zanith.targets])."
)
parallel_option = click.option(
    "--parallel", type=click.IntRange(min=1), default=4, show_default=True, help="Targets worked on at once."
)


def fleet_targets(config: Config, targets_file: str | None) -> tuple[TargetsSpec, tuple[Target, ...]]:
    """The fleet's targets: ``--targets FILE``, else ``[tool.zanith.targets]`` (or ``ZANITH_TARGETS``)."""
    if targets_file:
        spec = read_targets_file(Path(targets_file))
    elif config.targets is not None:
        spec = TargetsSpec.parse(config.targets, "[tool.zanith.targets]")
    else:
        raise ConfigError("no fleet targets: add [tool.zanith.targets] to pyproject.toml or pass --targets FILE")
    targets = resolve_targets(spec)
    if not targets:
        raise ConfigError(f"{spec.origin}: the targets resolve to none (an empty query result?)")
    return spec, targets


def canary_choice(value: str | None, spec: TargetsSpec) -> int | tuple[str, ...]:
    """``--canary N`` or ``--canary a,b``; else the file's ``canary`` names; else the first target."""
    if value is None:
        return spec.canary or 1
    if value.strip().isdigit():
        return int(value)
    return tuple(v.strip() for v in value.split(",") if v.strip())


def apply_fleet_command(
    ctx: click.Context,
    config: Config,
    *,
    targets_file: str | None,
    canary: str | None,
    parallel: int,
    keep_going: bool,
    wait: float,
    contract: bool,
    as_json: bool,
) -> None:
    require_project(config)
    spec, targets = fleet_targets(config, targets_file)
    migrations = load_migrations(config.migrations_dir)
    options = FleetOptions(
        parallel=parallel,
        canary=canary_choice(canary, spec),
        keep_going=keep_going,
        budget=config.budget,
        wait=wait if wait > 0 else FleetOptions.wait,
        contract=contract,
    )
    if as_json:
        result = apply_fleet(config, targets, migrations, options, _json_line)
        _json_line(result.to_dict())
    else:
        with _progress(len(targets)) as report:
            result = apply_fleet(config, targets, migrations, options, report)
        _print_result(result)
    ctx.exit(result.exit_code)


def _json_line(data: Any) -> None:
    payload = data.to_dict() if isinstance(data, FleetEvent) else data
    click.echo(json.dumps(payload, default=str))


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A live view on a terminal, plain lines elsewhere."""
    if not sys.stdout.isatty():
        yield _plain_line
        return
    from rich.live import Live

    view = _Waves(total)
    with Live(view.render(), refresh_per_second=4, transient=False) as live:

        def report(event: FleetEvent) -> None:
            view.take(event)
            if event.event in ("failed", "halted", "refused"):
                live.console.print(_plain(event))
            live.update(view.render())

        yield report


def _plain(event: FleetEvent) -> str:
    seconds = f" ({event.seconds:.3f}s)" if event.seconds else ""
    detail = f": {event.detail}" if event.detail else ""
    return f"[{event.wave}] {event.target or 'fleet'} {event.event}{detail}{seconds}"


def _plain_line(event: FleetEvent) -> None:
    if event.event != "step":
        echo(_plain(event), err=event.event in ("failed", "halted", "refused"))


class _Waves:
    """Counts for the live view: per wave, targets done / running / failed, and steps per second."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.began = time.monotonic()
        self.steps = 0
        self.state: dict[str, tuple[str, str]] = {}

    def take(self, event: FleetEvent) -> None:
        if event.event == "step":
            self.steps += 1
        elif event.target:
            self.state[event.target] = (event.wave, event.event)

    def render(self) -> Any:
        from rich.table import Table

        table = Table(title=f"zanith apply --fleet: {self.total} targets")
        for column in ("wave", "planned", "running", "done", "failed"):
            table.add_column(column, justify="right" if column != "wave" else "left")
        for wave in ("plan", "canary", "rest"):
            events = [e for w, e in self.state.values() if w == wave]
            if events:
                table.add_row(
                    wave,
                    str(events.count("planned")),
                    str(events.count("started") + events.count("step")),
                    str(events.count("done")),
                    str(events.count("failed") + events.count("refused")),
                )
        rate = self.steps / max(time.monotonic() - self.began, 1e-6)
        table.caption = f"{self.steps} steps, {rate:.1f} steps/s"
        return table


def _print_result(result: FleetResult) -> None:
    for outcome in result.outcomes:
        if outcome.status in ("failed", "refused", "error"):
            echo(f"  {outcome.target}: {outcome.status}: {outcome.detail}", err=True)
    echo(result.summary())
    if result.exit_code == 5:
        echo("run `zanith apply --fleet` again to resume: each target goes on where its ledger stopped", err=True)


def status_fleet_command(
    ctx: click.Context, config: Config, *, targets_file: str | None, parallel: int, as_json: bool
) -> None:
    require_project(config)
    _, targets = fleet_targets(config, targets_file)
    state = fleet_status(config, targets, load_migrations(config.migrations_dir), parallel)
    if as_json:
        emit_json(state.to_dict())
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="zanith status --fleet")
        table.add_column("target")
        table.add_column("state")
        for mid in state.migrations:
            table.add_column(mid, overflow="fold")
        for row in state.targets:
            cells = dict(row.cells)
            table.add_row(row.target, row.state, *(cells.get(m, "?" if row.error else "") for m in state.migrations))
        Console(width=max(120, 30 + 14 * len(state.migrations)) if not sys.stdout.isatty() else None).print(table)
        for row in state.targets:
            if row.error:
                echo(f"  {row.target}: {row.error}", err=True)
        echo(state.summary())
    ctx.exit(0 if all(t.state != "unreachable" for t in state.targets) else 1)


def history_fleet_command(
    ctx: click.Context, config: Config, *, targets_file: str | None, parallel: int, as_json: bool
) -> None:
    _, targets = fleet_targets(config, targets_file)
    rows, errors = fleet_history(config, targets, parallel)
    if as_json:
        emit_json(
            {"migrations": [r.to_dict() for r in rows], "unreachable": [{"target": t, "error": e} for t, e in errors]}
        )
    else:
        echo(f"{'migration':<40} {'targets':>7} {'median s':>9} {'max s':>8} {'max risk':>8}  slowest")
        for r in rows:
            risk = "-" if r.max_risk is None else str(r.max_risk)
            echo(f"{r.id:<40} {r.targets:>7} {r.seconds_median:>9.3f} {r.seconds_max:>8.3f} {risk:>8}  {r.slowest}")
        for target, error in errors:
            echo(f"  {target}: {error}", err=True)
    ctx.exit(1 if errors else 0)
