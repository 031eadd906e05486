"""payments and stock

Changes:
  table public.customers: - column legacy_id integer
  + table public.inventory (3 columns)
  enum public.order_status: values (pending, paid, shipped) → (pending, paid, shipped, cancelled)
  table public.orders: + column shipping_address_id bigint
  table public.orders: + foreign key orders_shipping_address_id_fkey (shipping_address_id)
  + table public.payments (5 columns)

Written by zanith; review it and edit freely (raw SQL, custom backfills) before applying.
"""

from zanith_core.migration_api import *

id = "20261124_152109_payments_and_stock"
name = "payments and stock"

operations = [
    AddEnumValue(enum="public.order_status", value="cancelled", after="shipped"),
    CreateTable(
        table=Table(
            schema="public",
            name="inventory",
            columns=(
                Column(name="product_id", type="bigint", nullable=False),
                Column(name="on_hand", type="integer", nullable=False, default="0"),
                Column(
                    name="updated_at",
                    type="timestamp with time zone",
                    nullable=False,
                    default="now()",
                ),
            ),
            primary_key=PrimaryKey(name="inventory_pkey", columns=("product_id",)),
            checks=(
                CheckConstraint(
                    name="inventory_on_hand_check",
                    expression="(on_hand >= 0)",
                    columns=("on_hand",),
                ),
            ),
        ),
    ),
    CreateTable(
        table=Table(
            schema="public",
            name="payments",
            columns=(
                Column(name="id", type="bigint", nullable=False, identity="always"),
                Column(name="order_id", type="bigint", nullable=False),
                Column(name="amount_cents", type="bigint", nullable=False),
                Column(name="provider", type="text", nullable=False),
                Column(
                    name="paid_at",
                    type="timestamp with time zone",
                    nullable=False,
                    default="now()",
                ),
            ),
            primary_key=PrimaryKey(name="payments_pkey", columns=("id",)),
            indexes=(Index(name="payments_order_id_idx", keys=("order_id",), columns=("order_id",)),),
            checks=(
                CheckConstraint(
                    name="payments_amount_cents_check",
                    expression="(amount_cents > 0)",
                    columns=("amount_cents",),
                ),
            ),
        ),
    ),
    AddColumn(table="public.orders", column=Column(name="shipping_address_id", type="bigint")),
    AddForeignKey(
        table="public.inventory",
        foreign_key=ForeignKey(
            name="inventory_product_id_fkey",
            columns=("product_id",),
            ref_table="public.products",
            ref_columns=("id",),
        ),
        not_valid=False,
    ),
    AddForeignKey(
        table="public.payments",
        foreign_key=ForeignKey(
            name="payments_order_id_fkey",
            columns=("order_id",),
            ref_table="public.orders",
            ref_columns=("id",),
        ),
        not_valid=False,
    ),
    AddForeignKey(
        table="public.orders",
        foreign_key=ForeignKey(
            name="orders_shipping_address_id_fkey",
            columns=("shipping_address_id",),
            ref_table="public.addresses",
            ref_columns=("id",),
            validated=False,
        ),
    ),
    ValidateConstraint(table="public.orders", name="orders_shipping_address_id_fkey"),
    SoftDropColumn(
        table="public.customers",
        column=Column(name="legacy_id", type="integer"),
        physical_name="_zanith_2048a7cd_legacy_id",
        position=3,
    ),
]
