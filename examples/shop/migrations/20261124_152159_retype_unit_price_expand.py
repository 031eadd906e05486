"""retype unit price (expand)

Changes:
  Expand phase: old and new clients both work once it is applied (`zanith apply`).
  Then deploy clients that use the new column, then `zanith apply --contract` (20261124_152200_retype_unit_price_contract).

Written by zanith; review it and edit freely (raw SQL, custom backfills) before applying.
"""

from zanith_core.migration_api import *

id = "20261124_152159_retype_unit_price_expand"
name = "retype unit price (expand)"
phase = "expand"

operations = [
    AddColumn(table="public.order_items", column=Column(name="unit_price_cents_new", type="bigint")),
    AddDualWrite(
        table="public.order_items",
        column="unit_price_cents",
        new_column="unit_price_cents_new",
        expression='CAST("unit_price_cents" AS bigint)',
        reverse_expression='CAST("unit_price_cents_new" AS integer)',
    ),
    Backfill(
        table="public.order_items",
        column="unit_price_cents_new",
        expression='CAST("unit_price_cents" AS bigint)',
        where="unit_price_cents_new IS NULL",
        reverse_expression="NULL",
    ),
]
