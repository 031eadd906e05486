"""Migrations: a migration as a value, as a file zanith writes, and as a file zanith loads.

:class:`Migration` is the value every later stage takes (:mod:`.migration`); :mod:`.writer` renders one
as a reviewable Python module and :mod:`.loader` executes those modules back into values, in id order.
"""

from .loader import load_migration_file, load_migrations, migration_files
from .migration import Migration, check_name, migration_id, slugify
from .writer import render_migration, write_migration

__all__ = [
    "Migration",
    "check_name",
    "load_migration_file",
    "load_migrations",
    "migration_files",
    "migration_id",
    "render_migration",
    "slugify",
    "write_migration",
]
