"""retype unit price (contract)

Changes:
  Contract phase: runs only with `zanith apply --contract`, once every client uses the
  new column written by 20261124_152159_retype_unit_price_expand.

Written by zanith; review it and edit freely (raw SQL, custom backfills) before applying.
"""

from zanith_core.migration_api import *

id = "20261124_152200_retype_unit_price_contract"
name = "retype unit price (contract)"
phase = "contract"

operations = [
    DropDualWrite(
        table="public.order_items",
        column="unit_price_cents",
        new_column="unit_price_cents_new",
        expression='CAST("unit_price_cents" AS bigint)',
        reverse_expression='CAST("unit_price_cents_new" AS integer)',
    ),
    AddCheck(
        table="public.order_items",
        check=CheckConstraint(
            name="order_items_unit_price_cents_new_not_null",
            expression="(unit_price_cents_new IS NOT NULL)",
            validated=False,
            columns=("unit_price_cents_new",),
        ),
    ),
    ValidateConstraint(table="public.order_items", name="order_items_unit_price_cents_new_not_null"),
    SetNotNull(table="public.order_items", column="unit_price_cents_new"),
    DropCheck(
        table="public.order_items",
        check=CheckConstraint(
            name="order_items_unit_price_cents_new_not_null",
            expression="(unit_price_cents_new IS NOT NULL)",
            columns=("unit_price_cents_new",),
        ),
    ),
    SoftDropColumn(
        table="public.order_items",
        column=Column(name="unit_price_cents", type="integer", nullable=False),
        physical_name="_zanith_c6b4a411_unit_price_cents",
        position=4,
    ),
    RenameColumn(
        table="public.order_items",
        column="unit_price_cents_new",
        new_name="unit_price_cents",
    ),
]
