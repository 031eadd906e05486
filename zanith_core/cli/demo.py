"""``zanith demo [--json]``: the whole spine, narrated, on a throwaway copy of examples/shop.

Exit 0 when every stage showed what it should, 1 otherwise. Colour only at a terminal (click strips it
elsewhere) and not under ``NO_COLOR``; the backfill's progress bar only at a terminal and never under
``--json``. The ``--json`` document is described in README.md ("zanith demo --json").
"""

from __future__ import annotations

import click

from ..servers import resolve_server
from .common import emit_json, json_option
from .tour import Line, Stage, run_demo

TONES = {"ok": {"fg": "green"}, "bad": {"fg": "red", "bold": True}, "note": {"fg": "yellow"}, "code": {"fg": "cyan"}}
"""How each tone of :class:`Line` looks at a terminal. Never faint (SGR 2): many terminals and themes make
it unreadable."""


@click.command("demo")
@click.option(
    "--shadow-url",
    metavar="URL",
    default=None,
    help="Run on this PostgreSQL server instead of the embedded one (its databases are created and dropped).",
)
@json_option
@click.pass_context
def demo_command(ctx: click.Context, shadow_url: str | None, as_json: bool) -> None:
    """Watch generate, plan, verify, apply, resume, backfill, recover and history on the example shop."""
    report = run_demo(
        server=resolve_server(shadow_url) if shadow_url else None,
        progress=not as_json,
        on_begin=None if as_json else _begin,
        on_stage=None if as_json else _stage,
    )
    if as_json:
        emit_json(report.to_dict())
    else:
        done = "every stage as expected" if report.ok else "a stage did not go as expected"
        click.echo(click.style(f"\ndemo finished in {report.seconds:.1f}s: {done}", fg="green" if report.ok else "red"))
        click.echo("next: python -m pytest examples/shop/tests   (how a project tests itself with zanith)")
    ctx.exit(0 if report.ok else 1)


def _begin(number: int, title: str) -> None:
    if number == 0:
        click.echo(f"zanith demo: the whole spine on {title}...")
    else:
        click.echo(click.style(f"\n{number}. {title}", bold=True))


def _stage(stage: Stage) -> None:
    for line in stage.lines:
        _echo(line)
    mark = "ok" if stage.as_expected else "bad"
    _echo(Line(f"verdict: {stage.verdict} ({stage.seconds:.1f}s)", mark))


def _echo(line: Line) -> None:
    click.echo(click.style(f"   {line.text}", **TONES.get(line.tone, {})))  # type: ignore[arg-type]
