"""initial

Changes:
  + table public.addresses (6 columns)
  + table public.categories (3 columns)
  + table public.customers (5 columns)
  + table public.order_items (5 columns)
  + enum public.order_status (pending, paid, shipped)
  + table public.orders (5 columns)
  + table public.products (6 columns)

Written by zanith; review it and edit freely (raw SQL, custom backfills) before applying.
"""

from zanith_core.migration_api import *

id = "20261124_152048_initial"
name = "initial"

operations = [
    CreateEnum(
        enum=Enum(schema="public", name="order_status", values=("pending", "paid", "shipped")),
    ),
    CreateTable(
        table=Table(
            schema="public",
            name="addresses",
            columns=(
                Column(name="id", type="bigint", nullable=False, identity="always"),
                Column(name="customer_id", type="bigint", nullable=False),
                Column(name="line1", type="text", nullable=False),
                Column(name="city", type="text", nullable=False),
                Column(name="postcode", type="character varying(16)", nullable=False),
                Column(name="country", type="character(2)", nullable=False, default="'GB'::bpchar"),
            ),
            primary_key=PrimaryKey(name="addresses_pkey", columns=("id",)),
            indexes=(
                Index(
                    name="addresses_customer_id_idx",
                    keys=("customer_id",),
                    columns=("customer_id",),
                ),
            ),
        ),
    ),
    CreateTable(
        table=Table(
            schema="public",
            name="categories",
            columns=(
                Column(name="id", type="integer", nullable=False, identity="by default"),
                Column(name="name", type="text", nullable=False),
                Column(name="parent_id", type="integer"),
            ),
            primary_key=PrimaryKey(name="categories_pkey", columns=("id",)),
            uniques=(UniqueConstraint(name="categories_name_key", columns=("name",)),),
        ),
    ),
    CreateTable(
        table=Table(
            schema="public",
            name="customers",
            columns=(
                Column(name="id", type="bigint", nullable=False, identity="always"),
                Column(name="email", type="text", nullable=False),
                Column(name="name", type="text", nullable=False),
                Column(name="legacy_id", type="integer"),
                Column(
                    name="created_at",
                    type="timestamp with time zone",
                    nullable=False,
                    default="now()",
                ),
            ),
            primary_key=PrimaryKey(name="customers_pkey", columns=("id",)),
            uniques=(UniqueConstraint(name="customers_email_key", columns=("email",)),),
            checks=(
                CheckConstraint(
                    name="customers_email_check",
                    expression="(POSITION(('@'::text) IN (email)) > 1)",
                    columns=("email",),
                ),
            ),
        ),
    ),
    CreateTable(
        table=Table(
            schema="public",
            name="order_items",
            columns=(
                Column(name="order_id", type="bigint", nullable=False),
                Column(name="line_no", type="integer", nullable=False),
                Column(name="product_id", type="bigint", nullable=False),
                Column(name="quantity", type="integer", nullable=False),
                Column(name="unit_price_cents", type="integer", nullable=False),
            ),
            primary_key=PrimaryKey(name="order_items_pkey", columns=("order_id", "line_no")),
            indexes=(
                Index(
                    name="order_items_product_id_idx",
                    keys=("product_id",),
                    columns=("product_id",),
                ),
            ),
            checks=(
                CheckConstraint(
                    name="order_items_quantity_check",
                    expression="(quantity > 0)",
                    columns=("quantity",),
                ),
            ),
        ),
    ),
    CreateTable(
        table=Table(
            schema="public",
            name="orders",
            columns=(
                Column(name="id", type="bigint", nullable=False, identity="always"),
                Column(name="customer_id", type="bigint", nullable=False),
                Column(
                    name="status",
                    type="public.order_status",
                    nullable=False,
                    default="'pending'::public.order_status",
                ),
                Column(
                    name="placed_at",
                    type="timestamp with time zone",
                    nullable=False,
                    default="now()",
                ),
                Column(name="note", type="text"),
            ),
            primary_key=PrimaryKey(name="orders_pkey", columns=("id",)),
            indexes=(
                Index(
                    name="orders_customer_id_placed_at_idx",
                    keys=("customer_id", "placed_at DESC"),
                    columns=("customer_id", "placed_at"),
                ),
            ),
        ),
    ),
    CreateTable(
        table=Table(
            schema="public",
            name="products",
            columns=(
                Column(name="id", type="bigint", nullable=False, identity="always"),
                Column(name="sku", type="character varying(32)", nullable=False),
                Column(name="name", type="text", nullable=False),
                Column(name="category_id", type="integer"),
                Column(name="price_cents", type="bigint", nullable=False),
                Column(name="active", type="boolean", nullable=False, default="true"),
            ),
            primary_key=PrimaryKey(name="products_pkey", columns=("id",)),
            indexes=(
                Index(
                    name="products_category_id_idx",
                    keys=("category_id",),
                    predicate="active",
                    columns=("active", "category_id"),
                ),
            ),
            uniques=(UniqueConstraint(name="products_sku_key", columns=("sku",)),),
            checks=(
                CheckConstraint(
                    name="products_price_cents_check",
                    expression="(price_cents >= 0)",
                    columns=("price_cents",),
                ),
            ),
        ),
    ),
    AddForeignKey(
        table="public.addresses",
        foreign_key=ForeignKey(
            name="addresses_customer_id_fkey",
            columns=("customer_id",),
            ref_table="public.customers",
            ref_columns=("id",),
            on_delete="CASCADE",
        ),
        not_valid=False,
    ),
    AddForeignKey(
        table="public.categories",
        foreign_key=ForeignKey(
            name="categories_parent_id_fkey",
            columns=("parent_id",),
            ref_table="public.categories",
            ref_columns=("id",),
        ),
        not_valid=False,
    ),
    AddForeignKey(
        table="public.order_items",
        foreign_key=ForeignKey(
            name="order_items_order_id_fkey",
            columns=("order_id",),
            ref_table="public.orders",
            ref_columns=("id",),
            on_delete="CASCADE",
        ),
        not_valid=False,
    ),
    AddForeignKey(
        table="public.order_items",
        foreign_key=ForeignKey(
            name="order_items_product_id_fkey",
            columns=("product_id",),
            ref_table="public.products",
            ref_columns=("id",),
        ),
        not_valid=False,
    ),
    AddForeignKey(
        table="public.orders",
        foreign_key=ForeignKey(
            name="orders_customer_id_fkey",
            columns=("customer_id",),
            ref_table="public.customers",
            ref_columns=("id",),
        ),
        not_valid=False,
    ),
    AddForeignKey(
        table="public.products",
        foreign_key=ForeignKey(
            name="products_category_id_fkey",
            columns=("category_id",),
            ref_table="public.categories",
            ref_columns=("id",),
        ),
        not_valid=False,
    ),
]
