"""Configuration precedence, validation and documentation."""

import re
from pathlib import Path

import pytest
from support import project

from zanith_core.config import KEYS, LIMITS, load_config
from zanith_core.errors import ConfigError, InvalidValue


def test_pyproject_values_are_read_and_coerced(tmp_path: Path) -> None:
    project(tmp_path, schema="schema.sql", schemas=["public", "billing"], budget=35)
    cfg = load_config(tmp_path, environ={})
    assert (cfg.schema, cfg.schemas, cfg.budget) == ("schema.sql", ("billing", "public")[::-1], 35)


def test_environment_beats_pyproject_and_flags_beat_both(tmp_path: Path) -> None:
    project(tmp_path, budget=35)
    assert load_config(tmp_path, environ={"ZANITH_BUDGET": "50"}).budget == 50
    assert load_config(tmp_path, {"budget": 10}, environ={"ZANITH_BUDGET": "50"}).budget == 10
    assert load_config(tmp_path, {"budget": None}, environ={}).budget == 35


def test_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    project(tmp_path, budjet=35)
    with pytest.raises(ConfigError, match="unknown key 'budjet'"):
        load_config(tmp_path, environ={})


def test_invalid_value_names_key_and_origin(tmp_path: Path) -> None:
    project(tmp_path, budget="lots")
    with pytest.raises(InvalidValue, match=r"pyproject\.toml: budget must be an integer from 0 to 100, not 'lots'"):
        load_config(tmp_path, environ={})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("budget", 101, "budget must be an integer from 0 to 100, not 101"),
        ("budget", -1, "budget must be an integer from 0 to 100, not -1"),
        ("budget", 35.5, "budget must be an integer from 0 to 100, not 35.5"),
        ("budget", True, "budget must be an integer from 0 to 100, not True"),
        ("retention_days", -1, "retention_days must be a whole number of days from 0 to 36500, not -1"),
        ("retention_days", 100000000, "retention_days must be a whole number of days from 0 to 36500"),
        ("lock_timeout", "nan", "lock_timeout must be a number of seconds above 0 and at most 3600, not 'nan'"),
        ("lock_timeout", 0, "lock_timeout must be a number of seconds above 0 and at most 3600, not 0"),
        ("lock_timeout", -1, "lock_timeout must be a number of seconds above 0"),
        ("statement_timeout", "inf", "statement_timeout must be a number of seconds from 0 to 86400, not 'inf'"),
        ("statement_timeout", -0.5, "statement_timeout must be a number of seconds from 0 to 86400"),
        ("lock_retries", -1, "lock_retries must be an integer from 0 to 100, not -1"),
        ("schemas", [], 'schemas must name at least one schema the project owns (e.g. ["public"])'),
        ("schemas", [""], "schemas must be a list of names"),
        ("privileges", "maybe", "privileges must be true or false, not 'maybe'"),
        ("privileges", 5, "privileges must be true or false, not 5"),
        ("ignore_column_order", "sometimes", "ignore_column_order must be true or false"),
        ("check_risk", "sometimes", "check_risk must be true or false, not 'sometimes'"),
    ],
)
def test_a_value_out_of_its_range_is_refused_with_exit_2(tmp_path: Path, key: str, value: object, message: str) -> None:
    project(tmp_path, **{key: value})
    with pytest.raises(InvalidValue, match=re.escape(f"{tmp_path / 'pyproject.toml'}: {message}")) as info:
        load_config(tmp_path, environ={})
    assert info.value.exit_code == 2


def test_the_environment_and_flags_are_held_to_the_same_ranges(tmp_path: Path) -> None:
    project(tmp_path)
    with pytest.raises(InvalidValue, match=r"^ZANITH_LOCK_TIMEOUT: lock_timeout must be"):
        load_config(tmp_path, environ={"ZANITH_LOCK_TIMEOUT": "nan"})
    with pytest.raises(InvalidValue, match=r"^ZANITH_SCHEMAS: schemas must name at least one schema"):
        load_config(tmp_path, environ={"ZANITH_SCHEMAS": " , "})
    with pytest.raises(InvalidValue, match=r"^ZANITH_PRIVILEGES: privileges must be true or false"):
        load_config(tmp_path, environ={"ZANITH_PRIVILEGES": "maybe"})
    with pytest.raises(InvalidValue, match=r"^--budget: budget must be an integer from 0 to 100, not 101"):
        load_config(tmp_path, {"budget": 101}, environ={})


def test_values_inside_the_ranges_are_kept(tmp_path: Path) -> None:
    project(tmp_path, budget=0, retention_days=0, lock_timeout=0.25, statement_timeout=0, privileges=True)
    cfg = load_config(tmp_path, environ={"ZANITH_IGNORE_COLUMN_ORDER": "Yes", "ZANITH_LOCK_RETRIES": "3"})
    assert (cfg.budget, cfg.retention_days, cfg.lock_timeout, cfg.statement_timeout) == (0, 0, 0.25, 0.0)
    assert (cfg.privileges, cfg.ignore_column_order, cfg.lock_retries) == (True, True, 3)


def test_check_risk_is_on_unless_turned_off(tmp_path: Path) -> None:
    project(tmp_path)
    assert load_config(tmp_path, environ={}).check_risk is True
    assert load_config(tmp_path, environ={"ZANITH_CHECK_RISK": "off"}).check_risk is False
    project(tmp_path, check_risk=False)
    assert load_config(tmp_path, environ={}).check_risk is False


@pytest.mark.parametrize("table", ["[tool]\nzanith = 5\n", "tool = 5\n", '[tool]\nzanith = "yes"\n'])
def test_a_tool_zanith_that_is_not_a_table_is_refused(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(table)
    with pytest.raises(InvalidValue, match=r"\[tool\.zanith\] must be a table of settings"):
        load_config(tmp_path, environ={})


def test_every_range_is_documented() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text().split("## Accepted values")[1]
    for key, limits in LIMITS.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{key}`"))
        assert f"{limits.low:g}" in row and f"{limits.high:g}" in row, (key, row)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.zanith\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: invalid TOML"):
        load_config(tmp_path, environ={})


def test_project_folder_is_found_upwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path, migrations="db/migrations")
    nested = tmp_path / "src" / "app"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    cfg = load_config(environ={})
    assert cfg.project_dir == tmp_path.resolve()
    assert cfg.migrations_dir == tmp_path.resolve() / "db" / "migrations"


def test_missing_database_url_is_a_clear_error(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, environ={})
    with pytest.raises(ConfigError, match="ZANITH_DATABASE_URL"):
        cfg.require_database_url()


def test_every_key_is_documented() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    for key in KEYS:
        assert f"| `{key}` | `ZANITH_{key.upper()}` |" in doc, key


def test_the_lock_settings_default_to_short_tries_within_a_budget_and_are_read_as_seconds(tmp_path: Path) -> None:
    project(tmp_path, concurrent_timeout=120)
    cfg = load_config(tmp_path, environ={"ZANITH_LOCK_WAIT_BUDGET": "30.5"})
    assert (cfg.lock_timeout, cfg.lock_retries) == (0.5, 5)
    assert (cfg.lock_wait_budget, cfg.concurrent_timeout) == (30.5, 120.0)
    assert isinstance(cfg.concurrent_timeout, float)
