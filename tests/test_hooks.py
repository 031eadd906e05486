"""The pluggy hooks: a test plugin proves each one works, found both ways plugins are found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import config, write_module

from zanith_core.errors import ConfigError
from zanith_core.hooks import gate_checks, plugin_manager, reason_codes
from zanith_core.migrations import Migration
from zanith_core.ops import AddColumn, DropColumn
from zanith_core.plan import plan
from zanith_core.schema.graph import Column

PLUGIN = """
from zanith_core.hooks import GateCheck, RiskAdjustment, hookimpl
from zanith_core.plan import GateResult
from zanith_core.risk.catalog import Gate, Reason

@hookimpl
def add_reason_codes():
    return [Reason("hot_table", "the table is on the hot path", "Orders takes thousands of writes a second.")]

@hookimpl
def adjust_risk(op, risk, migration_id):
    if op.tables and op.tables[0] == "public.orders":
        return RiskAdjustment(score=30, reasons=("hot_table",))
    return None

def _no_drops(plan):
    drops = [s for s in plan.steps if s.kind == "drop_column"]
    detail = f"{len(drops)} drop_column step(s)" if drops else "no drop_column"
    return GateResult("no_hard_drops", not drops, detail, steps=tuple((s.migration_id, s.index) for s in drops))

@hookimpl
def add_gates():
    return [GateCheck(Gate("no_hard_drops", True, "no drop_column", "Our team only soft-drops."), _no_drops)]
"""


ADD_ORDERS = Migration("0001", (AddColumn("public.orders", Column("note", "text")),))
ADD_USERS = Migration("0002", (AddColumn("public.users", Column("note", "text")),))
DROP = Migration("0003", (DropColumn("public.users", Column("legacy", "text")),))


def test_a_configured_plugin_adds_a_reason_code_and_adjusts_scores(tmp_path: Path) -> None:
    cfg = config(tmp_path, plugins=(write_module(tmp_path, PLUGIN),))
    assert "hot_table" in reason_codes(plugin_manager(cfg))
    result = plan([ADD_ORDERS, ADD_USERS], budget=35, config=cfg)
    orders, users = result.steps
    assert (orders.score, orders.reasons) == (40, ("lock_brief", "hot_table"))
    assert (users.score, users.reasons) == (10, ("lock_brief",))
    assert result.verdict == "refused" and result.offending == (orders,)


def test_a_plugin_gate_judges_the_plan(tmp_path: Path) -> None:
    cfg = config(tmp_path, plugins=(write_module(tmp_path, PLUGIN),))
    (check,) = gate_checks(plugin_manager(cfg))
    assert check.gate.name == "no_hard_drops"
    result = plan([DROP], budget=None, config=cfg)
    assert result.gates[-1].name == "no_hard_drops" and not result.gates[-1].passed
    assert result.verdict == "refused" and [s.kind for s in result.offending] == ["drop_column"]
    assert plan([ADD_USERS], budget=None, config=cfg).verdict == "ok"


def test_adjustments_of_several_plugins_add_up(tmp_path: Path) -> None:
    other = write_module(tmp_path, """
        from zanith_core.hooks import RiskAdjustment, hookimpl

        @hookimpl
        def adjust_risk(risk):
            return RiskAdjustment(score=-5)
        """)
    cfg = config(tmp_path, plugins=(write_module(tmp_path, PLUGIN), other))
    orders, users = plan([ADD_ORDERS, ADD_USERS], budget=None, config=cfg).steps
    assert (orders.score, users.score) == (35, 5)


def test_an_unknown_reason_code_from_a_plugin_is_a_configuration_error(tmp_path: Path) -> None:
    bad = write_module(tmp_path, """
        from zanith_core.hooks import RiskAdjustment, hookimpl

        @hookimpl
        def adjust_risk():
            return RiskAdjustment(score=1, reasons=("no_such_code",))
        """)
    with pytest.raises(ConfigError, match="no_such_code"):
        plan([ADD_USERS], budget=None, config=config(tmp_path, plugins=(bad,)))


def test_plugins_may_not_redefine_built_in_codes_or_gates(tmp_path: Path) -> None:
    clash = write_module(tmp_path, """
        from zanith_core.hooks import GateCheck, hookimpl
        from zanith_core.risk.catalog import GATES, REASONS

        @hookimpl
        def add_reason_codes():
            return [REASONS["data_loss"]]

        @hookimpl
        def add_gates():
            return [GateCheck(GATES["budget"], lambda plan: None)]
        """)
    pm = plugin_manager(config(tmp_path, plugins=(clash,)))
    with pytest.raises(ConfigError, match="data_loss"):
        reason_codes(pm)
    with pytest.raises(ConfigError, match="budget"):
        gate_checks(pm)


def test_a_plugin_that_fails_to_import_is_named(tmp_path: Path) -> None:
    broken = write_module(tmp_path, "raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=f"plugin '{broken}'.*boom"):
        plugin_manager(config(tmp_path, plugins=(broken,)))
    with pytest.raises(ConfigError, match="no_module_like_this"):
        plugin_manager(config(tmp_path, plugins=("no_module_like_this",)))


def test_plugins_are_found_through_the_zanith_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    module = write_module(site, PLUGIN)
    dist = site / "zanith_team_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zanith-team-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[zanith]\nteam = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    pm = plugin_manager(config(tmp_path))
    assert pm.get_plugin("team") is not None
    assert "hot_table" in reason_codes(pm)


def test_default_reset_shadow_empties_every_project_schema(zanith_db: Any, tmp_path: Path) -> None:
    conn = zanith_db.conn
    for schema in ("app", "ledger", "other"):
        conn.execute(f"CREATE SCHEMA {schema}")
    for table in ("public.a", "app.b", "ledger._zanith_migrations", "other.keep"):
        conn.execute(f"CREATE TABLE {table} (id int)")
    cfg = config(tmp_path, schemas=("public", "app"), ledger_schema="ledger")
    assert plugin_manager(cfg).hook.reset_shadow(conn=conn, config=cfg) is True
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname IN ('public', 'app', 'ledger', 'other') AND c.relkind = 'r'"
    ).fetchall()
    assert rows == [("other", "keep")]
    schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
    # public comes back as in any new database; the project's migrations create their own schemas
    # (a schema recreated here would make their CREATE SCHEMA fail), and the ledger its own.
    assert {"public", "other"} <= schemas and not {"app", "ledger"} & schemas


def test_a_plugin_replaces_the_shadow_reset(zanith_db: Any, tmp_path: Path) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE keep (id int)")
    conn.execute("CREATE TABLE scratch (id int)")
    custom = write_module(tmp_path, """
        from zanith_core.hooks import hookimpl

        @hookimpl
        def reset_shadow(conn, config):
            conn.execute("DROP TABLE scratch")
            return True
        """)
    cfg = config(tmp_path, plugins=(custom,))
    assert plugin_manager(cfg).hook.reset_shadow(conn=conn, config=cfg) is True
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        ).fetchall()
    }
    assert tables == {"keep"}


RULES_PLUGIN = """
from zanith_core.hooks import hookimpl
from zanith_core.risk import Rules

def _renames_are_hot(subject, ctx):
    return 45, ("lock_brief", "breaks_old_readers", "breaks_old_writers")

@hookimpl
def add_risk_rules():
    return Rules(subject={"rename_table": _renames_are_hot})
"""

CLASHING_PLUGIN = """
from zanith_core.hooks import hookimpl
from zanith_core.risk import Rules

@hookimpl
def add_risk_rules():
    return Rules(subject={"add_index": lambda subject, ctx: (1, ())})
"""


def test_a_plugin_adds_a_risk_rule_through_the_hook_the_core_rules_use(tmp_path: Path) -> None:
    from zanith_core.ops import RenameTable

    rename = Migration("0004", (RenameTable("public.users", "people"),))
    before = plan([rename], budget=None, config=config(tmp_path)).steps[0]
    rules = write_module(tmp_path, RULES_PLUGIN)
    after = plan([rename], budget=None, config=config(tmp_path, plugins=(rules,))).steps[0]
    assert before.score == 30 and after.score == 45


def test_a_plugin_rule_for_a_kind_the_core_scores_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="two plugins add a risk rule for op kind 'add_index'"):
        plan([ADD_USERS], budget=None, config=config(tmp_path, plugins=(write_module(tmp_path, CLASHING_PLUGIN),)))
