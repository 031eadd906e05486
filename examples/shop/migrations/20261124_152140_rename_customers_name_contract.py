"""rename customers name (contract)

Changes:
  Contract phase: runs only with `zanith apply --contract`, once every client uses the
  new column written by 20261124_152139_rename_customers_name_expand.

Written by zanith; review it and edit freely (raw SQL, custom backfills) before applying.
"""

from zanith_core.migration_api import *

id = "20261124_152140_rename_customers_name_contract"
name = "rename customers name (contract)"
phase = "contract"

operations = [
    DropDualWrite(table="public.customers", column="name", new_column="full_name"),
    AddCheck(
        table="public.customers",
        check=CheckConstraint(
            name="customers_full_name_not_null",
            expression="(full_name IS NOT NULL)",
            validated=False,
            columns=("full_name",),
        ),
    ),
    ValidateConstraint(table="public.customers", name="customers_full_name_not_null"),
    SetNotNull(table="public.customers", column="full_name"),
    DropCheck(
        table="public.customers",
        check=CheckConstraint(
            name="customers_full_name_not_null",
            expression="(full_name IS NOT NULL)",
            columns=("full_name",),
        ),
    ),
    SoftDropColumn(
        table="public.customers",
        column=Column(name="name", type="text", nullable=False),
        physical_name="_zanith_14b98c6c_name",
        position=2,
    ),
]
