"""The shop's schema tests: the migrations reach schema.sql, and a database built from them behaves.

Run from the repository root with ``python -m pytest examples/shop/tests`` (or ``python -m pytest``
inside examples/shop). The pytest plugin comes with zanith: ``zanith_db`` is a fresh database per test
on the embedded PostgreSQL server (or on ``--zanith-shadow-url`` / ``ZANITH_SHADOW_URL``).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pytest_zanith import assert_no_drift
from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.apply.runner import apply_migrations
from zanith_core.config import load_config
from zanith_core.migrations.loader import load_migrations

SHOP = load_config(Path(__file__).resolve().parents[1])
"""The project: [tool.zanith] of examples/shop/pyproject.toml (found from here, wherever pytest runs)."""
SCHEMA = SHOP.project_dir / "schema.sql"


def test_migrations_reach_the_declared_schema() -> None:
    # No database given: every migration is replayed on a fresh shadow database and compared with
    # schema.sql. On failure the message is the diff, naming the migration that last touched each object.
    assert_no_drift(SCHEMA, config=SHOP)


@pytest.fixture
def shop_db(zanith_db: ZanithDatabase) -> ZanithDatabase:
    """A fresh database with every migration applied by the audited runner, as production gets them."""
    result = apply_migrations(zanith_db.url, load_migrations(SHOP.migrations_dir), config=SHOP, contract=True)
    assert result.ok, result.failure and result.failure.message
    return zanith_db


def test_a_migrated_database_has_no_drift(shop_db: ZanithDatabase) -> None:
    assert_no_drift(SCHEMA, database=shop_db, config=SHOP)


def test_an_email_needs_an_at_sign(shop_db: ZanithDatabase) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        shop_db.conn.execute("INSERT INTO customers (email, full_name) VALUES ('nobody', 'No One')")


def test_deleting_an_order_deletes_its_lines(shop_db: ZanithDatabase) -> None:
    conn = shop_db.conn
    conn.execute("INSERT INTO customers (email, full_name) VALUES ('bo@example.com', 'Bo')")
    conn.execute("INSERT INTO products (sku, name, price_cents) VALUES ('TEA-1', 'Tea', 450)")
    conn.execute("INSERT INTO orders (customer_id) SELECT id FROM customers")
    conn.execute(
        "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price_cents)"
        " SELECT o.id, 1, p.id, 2, 3000000000 FROM orders o, products p"  # > 2^31: the bigint change landed
    )
    conn.execute("DELETE FROM orders")
    row = conn.execute("SELECT count(*) FROM order_items").fetchone()
    assert row == (0,)
