"""Operations: one frozen value type per op kind (see :mod:`zanith_core.ops.base`).

Importing this package imports every op module, so :data:`CATALOG` holds every kind. The catalog and
the decisions behind each kind are documented in ``docs/operations.md``.
"""

from ..schema.queries import NotApplicable
from .base import CATALOG, InvalidOperation, Lock, Operation, Stage, Statement, operation_from_dict
from .columns import (
    AddColumn,
    AlterColumnType,
    DropColumn,
    DropDefault,
    DropNotNull,
    RenameColumn,
    RestoreColumn,
    SetDefault,
    SetNotNull,
    SoftDropColumn,
)
from .constraints import (
    AddCheck,
    AddExclusion,
    AddForeignKey,
    AddPrimaryKey,
    AddUnique,
    DropCheck,
    DropExclusion,
    DropForeignKey,
    DropPrimaryKey,
    DropUnique,
    ValidateConstraint,
)
from .data import Backfill, RawSql
from .definitions import DEFINITION_KINDS  # registers the definition family (functions, triggers, ...)
from .dual_write import AddDualWrite, DropDualWrite
from .enums import AddEnumValue, CreateEnum, DropEnum, ReplaceEnum
from .identity import AlterIdentity
from .indexes import AddIndex, DropIndex, RenameIndex
from .partitions import SetPartitionBound
from .reorder import ReorderColumns
from .storage import SetPersistence, SetStorageParameters
from .tables import CreateTable, DropTable, RenameTable, RestoreTable, SoftDropTable

__all__ = [
    "CATALOG",
    "DEFINITION_KINDS",
    "AddCheck",
    "AddColumn",
    "AddDualWrite",
    "AddEnumValue",
    "AddExclusion",
    "AddForeignKey",
    "AddIndex",
    "AddPrimaryKey",
    "AddUnique",
    "AlterColumnType",
    "AlterIdentity",
    "Backfill",
    "CreateEnum",
    "CreateTable",
    "DropCheck",
    "DropColumn",
    "DropDefault",
    "DropDualWrite",
    "DropEnum",
    "DropExclusion",
    "DropForeignKey",
    "DropIndex",
    "DropNotNull",
    "DropPrimaryKey",
    "DropTable",
    "DropUnique",
    "InvalidOperation",
    "Lock",
    "NotApplicable",
    "Operation",
    "RawSql",
    "RenameColumn",
    "RenameIndex",
    "RenameTable",
    "ReorderColumns",
    "ReplaceEnum",
    "RestoreColumn",
    "RestoreTable",
    "SetDefault",
    "SetNotNull",
    "SetPartitionBound",
    "SetPersistence",
    "SetStorageParameters",
    "SoftDropColumn",
    "SoftDropTable",
    "Stage",
    "Statement",
    "ValidateConstraint",
    "operation_from_dict",
]
