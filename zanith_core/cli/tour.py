"""``zanith demo``: the whole spine, narrated, on a throwaway copy of ``examples/shop``.

A new user has installed zanith and nothing else. The demo copies the example project into a temporary
folder, declares one change to its schema and walks it through every stage with the same core calls the
CLI makes — nothing here decides anything the core does not:

1. **generate** — replay the example's migrations, diff with the changed declared schema, write the
   migration: a rename detected (``addresses.line1`` → ``street``), a drop made soft (``orders.note``),
   a new check constraint added ``NOT VALID`` and then validated;
2. **plan** — the same change with ``--hard-drop`` is refused at budget 35 (``drop_column`` scores 80),
   the generated soft alternative is accepted;
3. **shadow verify** — the four stages on a fresh shadow database, verdict ``ok``;
4. **audited apply** — the example's history lands on a "production" database; the ledger's step rows;
5. **failure and resume** — production holds a row the new check rejects: the validate step fails, is
   recorded, the data is fixed and the next apply resumes at that very step;
6. **backfill** — an online rename of ``orders.placed_at`` on the now populated table: the expand phase
   backfills in checkpointed batches (with a progress bar at a terminal), then the contract closes it;
7. **recover** — list what was kept instead of dropped, verify and restore the soft-dropped column;
8. **history** — the ledger read back.

Everything runs on one server — the embedded one unless another is given — in uniquely named databases
that are dropped at the end, and the temporary folder is removed, whatever happened.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import recovery
from ..apply import history
from ..apply.backfill import ProgressBar, progress_wanted, read_checkpoint
from ..apply.executors import StepContext
from ..apply.results import ApplyResult
from ..apply.runner import apply_migrations
from ..authoring.expand_contract import write_online_pair
from ..authoring.scaffold import Written, generate_migration_file
from ..config import Config, load_config
from ..errors import ZanithError
from ..ledger import StepRecord, artifacts
from ..migrations import Migration
from ..migrations.loader import load_migrations
from ..ops import RenameColumn, SoftDropColumn
from ..plan import Plan, plan
from ..servers import Server, connect, embedded_server
from ..verify import verify_on_shadow

BUDGET = 35
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"
COPIED = ("pyproject.toml", "schema.sql", "migrations")

CHANGE: tuple[tuple[str, str], ...] = (
    ("    line1 text NOT NULL,\n", "    street text NOT NULL,\n"),
    ("    note text,\n", ""),
    (
        "    quantity integer NOT NULL CHECK (quantity > 0),\n",
        "    quantity integer NOT NULL CHECK (quantity > 0),\n"
        "    CONSTRAINT order_items_quantity_max CHECK (quantity <= 1000),\n",
    ),
)
"""The declared change: text edits of the example's schema.sql (each must match exactly once)."""
CHANGE_SUMMARY = "addresses.line1 renamed to street, orders.note dropped, order_items.quantity at most 1000"

ONLINE_RENAME = "orders.placed_at=ordered_at"
ORDERS = 20_000
SEED = (
    "INSERT INTO customers (email, full_name)"
    " SELECT 'customer' || i || '@example.com', 'Customer ' || i FROM generate_series(1, 2000) AS i",
    "INSERT INTO addresses (customer_id, line1, city, postcode) SELECT id, id || ' High Street', 'Leeds', 'LS1'"
    " FROM customers",
    "INSERT INTO categories (name) VALUES ('books'), ('games')",
    "INSERT INTO products (sku, name, category_id, price_cents)"
    " SELECT 'SKU-' || i, 'Product ' || i, 1 + i % 2, 100 * i FROM generate_series(1, 50) AS i",
    f"INSERT INTO orders (customer_id, note) SELECT 1 + i % 2000, CASE WHEN i % 10 = 0 THEN 'leave at the door' END"
    f" FROM generate_series(1, {ORDERS}) AS i",
    "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)"
    " SELECT id, 1, 1 + id % 50, 1 + id % 5, 250 FROM orders",
    "UPDATE order_items SET quantity = 5000 WHERE order_id = 4242",
)
"""Production data: 20,000 orders, a tenth with a note, and one line someone typed 5000 instead of 5."""
FIX = "UPDATE order_items SET quantity = 5 WHERE quantity > 1000"

EXPECTED = {
    "generate": "written",
    "plan": "ok",
    "verify": "ok",
    "apply": "ok",
    "resume": "ok",
    "backfill": "ok",
    "recover": "ok",
    "history": "ok",
}
"""The verdict each stage must reach; the demo stops at the first stage that does not."""


class DemoFailed(ZanithError):
    """The demo could not run at all (no example project, or its schema no longer takes the change)."""


@dataclass(frozen=True)
class Line:
    """One narrated line; ``tone`` lets a terminal colour it: plain, ok, bad, note or code."""

    text: str
    tone: str = "plain"


@dataclass(frozen=True)
class Stage:
    """What one stage showed: its verdict, the narration, and the facts behind it (for ``--json``)."""

    number: int
    name: str
    title: str
    verdict: str
    lines: tuple[Line, ...]
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def as_expected(self) -> bool:
        return self.verdict == EXPECTED[self.name]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "verdict": self.verdict, "seconds": round(self.seconds, 3),
                **self.data}


@dataclass(frozen=True)
class DemoReport:
    stages: tuple[Stage, ...]
    server: dict[str, Any]
    workdir: str
    seconds: float

    @property
    def ok(self) -> bool:
        return len(self.stages) == len(EXPECTED) and all(s.as_expected for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        """The ``zanith demo --json`` document (documented in README.md)."""
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "server": self.server,
            "workdir": self.workdir,
            "stages": [s.to_dict() for s in self.stages],
        }


def run_demo(
    *,
    server: Server | None = None,
    example: Path | None = None,
    progress: bool = False,
    on_begin: Callable[[int, str], None] | None = None,
    on_stage: Callable[[Stage], None] | None = None,
) -> DemoReport:
    """Run the eight stages; ``on_begin``/``on_stage`` narrate as they go. ``progress`` lets the backfill
    draw its bar on a terminal. The temporary folder and databases are removed whatever happens."""
    started = time.perf_counter()
    source = example or EXAMPLE
    if not (source / "schema.sql").is_file():
        raise DemoFailed(
            f"the example project {source} is missing; zanith demo runs from a source checkout "
            '(git clone, then python -m pip install -e ".[test]")'
        )
    with tempfile.TemporaryDirectory(prefix="zanith-demo-") as tmp:
        workdir = Path(tmp) / "shop"
        _copy_example(source, workdir)
        if on_begin:
            on_begin(0, f"a copy of examples/shop in {workdir}; starting PostgreSQL")
        pg = server or embedded_server()
        with pg.scratch_database(prefix="zanith_demo_production") as production:
            demo = _Demo(workdir, pg, production, progress)
            stages: list[Stage] = []
            for number, (name, title, run) in enumerate(demo.stages(), 1):
                if on_begin:
                    on_begin(number, title)
                began = time.perf_counter()
                verdict, lines, data = run()
                stage = Stage(number, name, title, verdict, tuple(lines), data, time.perf_counter() - began)
                stages.append(stage)
                if on_stage:
                    on_stage(stage)
                if not stage.as_expected:
                    break
            return DemoReport(tuple(stages), demo.server_facts(), str(workdir), time.perf_counter() - started)


def _copy_example(source: Path, workdir: Path) -> None:
    workdir.mkdir(parents=True)
    for name in COPIED:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.is_file():
            shutil.copy2(path, workdir / name)


def changed_schema(text: str) -> str:
    """The example's schema.sql with the demo's declared change applied."""
    for old, new in CHANGE:
        if text.count(old) != 1:
            raise DemoFailed(f"examples/shop/schema.sql no longer holds {old.strip()!r} exactly once: update CHANGE")
        text = text.replace(old, new)
    return text


Outcome = tuple[str, list[Line], dict[str, Any]]


class _Demo:
    """The stages, sharing the temporary project, the server and the production database."""

    def __init__(self, workdir: Path, server: Server, production: str, progress: bool) -> None:
        self.workdir = workdir
        self.server = server
        self.production = production
        self.progress = progress
        # Hermetic: the user's own ZANITH_* settings must not point the demo at their databases.
        shadow_url = None if server.kind == "embedded" else server.url
        self.config: Config = load_config(workdir, {"database_url": production, "shadow_url": shadow_url}, environ={})
        self.written = Written(Migration("", ()), None)

    def stages(self) -> Iterator[tuple[str, str, Callable[[], Outcome]]]:
        yield "generate", "generate: the declared schema changed, zanith writes the migration", self.generate
        yield "plan", f"plan: every step scored, budget {BUDGET}", self.plan
        yield "verify", "shadow verify: a throwaway database takes the hit first", self.verify
        yield "apply", "audited apply: every step writes its own ledger row", self.apply
        yield "resume", "a mid-flight failure, and the resume", self.resume
        yield "backfill", "zero downtime: an online rename with a batched backfill", self.backfill
        yield "recover", "recover: nothing dropped is gone until a person says so", self.recover
        yield "history", "history: the ledger, read back", self.history

    def server_facts(self) -> dict[str, Any]:
        with connect(self.production) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            data_dir = None
            if self.server.kind == "embedded":
                data_dir = conn.execute("SHOW data_directory").fetchone()
        return {
            "kind": self.server.kind,
            "version": version[0] if version else None,
            "data_directory": data_dir[0] if data_dir else None,
        }

    def migrations(self) -> tuple[Migration, ...]:
        return load_migrations(self.config.migrations_dir)

    # -- 1 generate --------------------------------------------------------------------------------

    def generate(self) -> Outcome:
        schema_file = self.workdir / "schema.sql"
        schema_file.write_text(changed_schema(schema_file.read_text()))
        released = self.migrations()
        self.written = generate_migration_file(self.config, name="demo change", accept_detected=True)
        ops = self.written.migration.operations
        renames = [op for op in ops if isinstance(op, RenameColumn)]
        soft = [op for op in ops if isinstance(op, SoftDropColumn)]
        lines = [
            Line(f"schema.sql now says: {CHANGE_SUMMARY}"),
            Line(f"zanith generate --name 'demo change' --yes (current state: {len(released)} migrations replayed)"),
            *(Line(f"rename detected: {op.target} → {op.new_name} (accepted, as with --yes)", "ok") for op in renames),
            *(Line(f"drop made soft: {op.target} is renamed aside, its data kept for recovery", "ok") for op in soft),
            Line("operations, in a safe order, each with its reversal:"),
            *(Line(f"  {i} {op.kind:<20} {op.target:<45} {'reversible' if op.reversible else 'one-way'}", "code")
              for i, op in enumerate(ops, 1)),
            Line(f"wrote migrations/{self.written.path.name if self.written.path else '(nothing)'}", "ok"),
        ]
        data = {
            "migration": self.written.migration.id,
            "operations": [{"kind": op.kind, "target": op.target, "reversible": op.reversible} for op in ops],
            "renames": [f"{op.target}={op.new_name}" for op in renames],
            "soft_drops": [op.target for op in soft],
        }
        verdict = "written" if self.written.path and renames and soft else "unexpected"
        return verdict, lines, data

    # -- 2 plan ------------------------------------------------------------------------------------

    def plan(self) -> Outcome:
        hard = self._hard_drop_variant()
        refused = plan([hard], budget=BUDGET, config=self.config)
        accepted = plan([self.written.migration], budget=BUDGET, config=self.config)
        lines = [
            Line(f"what `zanith generate --hard-drop` would have written, planned at budget {BUDGET}:"),
            *_plan_lines(refused, gates=True),
            Line(f"the generated migration (a soft drop instead), planned at budget {BUDGET}:"),
            *_plan_lines(accepted, gates=False),
        ]
        data = {"budget": BUDGET, "refused": _plan_facts(refused), "accepted": _plan_facts(accepted)}
        verdict = accepted.verdict if refused.verdict == "refused" else "unexpected"
        return verdict, lines, data

    def _hard_drop_variant(self) -> Migration:
        """Generate the change again with ``--hard-drop``, then put the project back as it was."""
        soft = self.written.path
        assert soft is not None
        text = soft.read_text()
        soft.unlink()
        try:
            hard = generate_migration_file(self.config, name="demo change", accept_detected=True, hard_drop=True)
            if hard.path is not None:
                hard.path.unlink()
        finally:
            soft.write_text(text)
        return hard.migration

    # -- 3 shadow verify -----------------------------------------------------------------------------

    def verify(self) -> Outcome:
        verdict = verify_on_shadow(self.config, server=self.server)
        lines = [Line(f"  {line}", "code") for line in verdict.render().splitlines()]
        data = {"verdict": verdict.verdict, "stages": [s.to_dict() for s in verdict.stages]}
        return verdict.verdict, lines, data

    # -- 4 audited apply -----------------------------------------------------------------------------

    def apply(self) -> Outcome:
        released = tuple(m for m in self.migrations() if m.id != self.written.migration.id)
        result = apply_migrations(self.production, released, config=self.config, contract=True)
        records = history.history(self.production, self.config)
        lines = [Line(f"production database: {len(released)} released migrations, expand and contract phases alike")]
        for m in records:
            risk = f"max risk {m.max_risk}" if m.max_risk is not None else "unscored"
            lines.append(Line(f"  {m.id:<72} {len(m.steps):>2} steps  {risk}", "code"))
        last = records[-1] if records else None
        if last is not None:
            lines.append(Line(f"the step rows of {last.id} in _zanith_migration_steps:"))
            lines += [Line(f"  {_step_row(s)}", "code") for s in last.steps]
        with connect(self.production) as conn:
            for statement in SEED:
                conn.execute(statement)
            conn.execute("ANALYZE")
        lines.append(Line(f"then the shop trades: {ORDERS:,} orders, a tenth with a note, and one order line "
                          "where someone typed a quantity of 5000"))
        verdict = "ok" if result.ok else "apply_failed"
        return verdict, lines, {"applied": list(result.applied), "steps": sum(len(m.steps) for m in records)}

    # -- 5 failure and resume ------------------------------------------------------------------------

    def resume(self) -> Outcome:
        todo = self.migrations()
        first = apply_migrations(self.production, todo, config=self.config)
        failure = first.failure
        lines = [Line(f"zanith apply (the demo migration, {len(self.written.migration.operations)} steps):")]
        lines += _event_lines(first)
        data: dict[str, Any] = {"failure": failure.to_dict() if failure else None}
        if failure is None:
            return "unexpected", lines, data
        lines.append(Line(f"exit 5: {failure.message}", "bad"))
        state = history.status(self.production, todo, self.config)
        if state.unfinished is not None:
            step = state.unfinished
            lines.append(Line(f"zanith status: unfinished {step.migration_id} step {step.step_index} "
                              f"({step.op_kind}) {step.status}", "note"))
        with connect(self.production) as conn:
            fixed = conn.execute(FIX).rowcount
        lines.append(Line(f"the data is fixed ({fixed} row: {FIX}); zanith apply again:"))
        second = apply_migrations(self.production, todo, config=self.config)
        lines += _event_lines(second)
        skipped = [e.step_index for e in second.events if e.status == "skipped"]
        done = [e.step_index for e in second.events if e.status == "done"]
        resumed_at = min(done) if done else None
        if second.ok:
            lines.append(Line(f"resumed at step {resumed_at}: steps {_listing(skipped)} were not run twice", "ok"))
        data["resumed"] = {"skipped": skipped, "done": done, "applied": list(second.applied)}
        ok = second.ok and resumed_at == failure.step_index and skipped == list(failure.done_steps)
        return "ok" if ok else "unexpected", lines, data

    # -- 6 backfill ----------------------------------------------------------------------------------

    def backfill(self) -> Outcome:
        written = write_online_pair(self.config, name="rename placed_at", source=self.production, rename=ONLINE_RENAME)
        pair = tuple(w.migration for w in written)
        expand, contract = pair
        lines = [Line(f"zanith generate --from $DATABASE_URL --online-rename {ONLINE_RENAME} wrote two migrations:"),
                 *(Line(f"  {m.id} ({m.phase}): {', '.join(op.kind for op in m.operations)}", "code") for m in pair)]
        drawn = self.progress and progress_wanted(StepContext("", 0, progress=True))
        began = time.monotonic()
        opened = apply_migrations(self.production, self.migrations(), config=self.config, progress=self.progress)
        elapsed = time.monotonic() - began
        index, step = next((i, op) for i, op in enumerate(expand.operations, 1) if op.kind == "backfill")
        with connect(self.production) as conn:
            checkpoint = read_checkpoint(conn, expand.id, index, self.config.ledger_schema)
            row = conn.execute("SELECT count(*) FILTER (WHERE ordered_at = placed_at), count(*) FROM orders").fetchone()
        rows = checkpoint.processed_rows if checkpoint else 0
        if not drawn:
            # No terminal to redraw on: show the bar's last frame once.
            lines.append(Line(ProgressBar(f"backfill {step.target}", rows).render(rows, elapsed), "code"))
        agree, total = row if row else (0, 0)
        lines += [
            Line(f"expand applied: {rows:,} rows backfilled in batches of 500, each committed with its checkpoint "
                 f"(status {checkpoint.status if checkpoint else 'missing'})", "ok"),
            Line(f"old and new names both readable, dual-write on: {agree:,} of {total:,} orders agree", "ok"),
            Line(f"the window is open: {', '.join(opened.waiting)} waits for `zanith apply --contract`", "note"),
        ]
        closed = apply_migrations(self.production, self.migrations(), config=self.config, contract=True)
        lines.append(Line(f"zanith apply --contract: {len(closed.events)} steps, placed_at is now ordered_at", "ok"))
        data = {
            "migrations": [m.id for m in pair],
            "rows": rows,
            "checkpoint": checkpoint.status if checkpoint else None,
            "waiting": list(opened.waiting),
            "rows_agree": agree == total == ORDERS,
            "contract_applied": list(closed.applied),
        }
        ok = opened.ok and closed.ok and rows == ORDERS and data["rows_agree"] and opened.waiting == (contract.id,)
        return "ok" if ok else "unexpected", lines, data

    # -- 7 recover -----------------------------------------------------------------------------------

    def recover(self) -> Outcome:
        schema = self.config.ledger_schema
        with connect(self.production) as conn:
            kept = artifacts.list_artifacts(conn, schema)
            lines = [Line(f"zanith recover list: {len(kept)} artifacts")]
            lines += [Line(f"  {a.id:>3} {a.kind:<20} {a.source:<48} {_rows(a.row_count):>12}  {a.status}", "code")
                      for a in kept]
            note = next(a for a in kept if a.kind == artifacts.SOFT_DROPPED_COLUMN and a.source == "public.orders.note")
            checks = recovery.verify(conn, schema, note.id)
            lines.append(Line(f"zanith recover verify {note.id}: {checks[0].state} ({checks[0].detail})",
                              "ok" if checks[0].state == "intact" else "bad"))
            restored = recovery.restore(conn, schema, note.id)
            row = conn.execute("SELECT count(note) FROM orders").fetchone()
        notes = row[0] if row else 0
        lines.append(Line(f"zanith recover restore {note.id}: orders.note is back with its {notes:,} notes "
                          f"(status {restored.status})", "ok"))
        data = {
            "artifacts": [a.to_dict() for a in kept],
            "verified": checks[0].state,
            "restored": restored.to_dict(),
            "values_back": notes,
        }
        ok = checks[0].state == "intact" and restored.status == "restored" and notes == ORDERS // 10
        return "ok" if ok else "unexpected", lines, data

    # -- 8 history -----------------------------------------------------------------------------------

    def history(self) -> Outcome:
        records = history.history(self.production, self.config)
        lines = [Line("zanith history:")]
        for m in records:
            when = m.applied_at.strftime("%H:%M:%S") if m.applied_at else "NOT APPLIED"
            risk = f"max risk {m.max_risk}" if m.max_risk is not None else "unscored"
            lines.append(Line(f"  {m.id:<72} {when}  {len(m.steps):>2} steps {m.seconds:7.3f}s  {risk}", "code"))
        pending = [m.id for m in records if m.applied_at is None]
        lines.append(Line("every step of every migration is a row you can query: see docs/audit.md", "note"))
        data = {"migrations": [{"id": m.id, "applied": m.applied_at is not None, "steps": len(m.steps),
                                "max_risk_score": m.max_risk} for m in records]}
        return ("ok" if records and not pending else "unexpected"), lines, data


# -- narration helpers ---------------------------------------------------------------------------------


def _plan_lines(p: Plan, *, gates: bool) -> list[Line]:
    """The plan as ``zanith plan`` prints it; the gate list only where it explains a refusal."""
    lines: list[Line] = []
    section = "head"
    for text in p.render().splitlines():
        if text.startswith("migration "):
            section = "table"
        elif text == "gates":
            section = "gates"
        elif text.startswith("verdict:"):
            section = "verdict"
        if section == "head" or (section == "gates" and not gates) or not text:
            continue
        refused = text.lstrip().startswith("!") or text.startswith(("verdict: refused", "  FAIL"))
        tone = "bad" if refused else "ok" if text.startswith("verdict: ok") else "code"
        lines.append(Line(f"  {text}", tone))
    return lines


def _plan_facts(p: Plan) -> dict[str, Any]:
    return {
        "verdict": p.verdict,
        "max_score": max((s.score for s in p.steps), default=0),
        "steps": [{"index": s.index, "kind": s.kind, "target": s.target, "level": s.level, "score": s.score,
                   "reasons": list(s.reasons)} for s in p.steps],
        "offending": [{"index": s.index, "kind": s.kind, "score": s.score} for s in p.offending],
    }


def _event_lines(result: ApplyResult) -> list[Line]:
    lines = []
    for e in result.events:
        tone = {"failed": "bad", "skipped": "note"}.get(e.status, "code")
        text = f"  step {e.step_index}/{e.steps} {e.kind:<20} {e.status}"
        if e.error:
            text += f": {e.error.splitlines()[0]}"
        lines.append(Line(text, tone))
    return lines


def _step_row(s: StepRecord) -> str:
    seconds = f"{s.seconds:.3f}s" if s.seconds is not None else "-"
    risk = f"{s.risk_level} {s.risk_score}" if s.risk_score is not None else "unscored"
    return f"{s.step_index:>2} {s.status:<7} {s.op_kind:<20} {seconds:>8}  risk {risk}"


def _listing(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in numbers) or "none"


def _rows(count: int | None) -> str:
    return "definition" if count is None else f"{count:,} rows"
