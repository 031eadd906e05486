"""Configuration precedence, validation and documentation."""

from pathlib import Path

import pytest
from support import project

from zanith_core.config import KEYS, load_config
from zanith_core.errors import ConfigError


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
    with pytest.raises(ConfigError, match="invalid value 'lots' for budget"):
        load_config(tmp_path, environ={})


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
