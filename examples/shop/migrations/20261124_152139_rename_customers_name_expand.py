"""rename customers name (expand)

Changes:
  Expand phase: old and new clients both work once it is applied (`zanith apply`).
  Then deploy clients that use the new column, then `zanith apply --contract` (20261124_152140_rename_customers_name_contract).

Written by zanith; review it and edit freely (raw SQL, custom backfills) before applying.
"""

from zanith_core.migration_api import *

id = "20261124_152139_rename_customers_name_expand"
name = "rename customers name (expand)"
phase = "expand"

operations = [
    AddColumn(table="public.customers", column=Column(name="full_name", type="text")),
    AddDualWrite(table="public.customers", column="name", new_column="full_name"),
    Backfill(
        table="public.customers",
        column="full_name",
        expression="name",
        where="full_name IS NULL",
        reverse_expression="NULL",
    ),
]
