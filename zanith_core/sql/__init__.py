"""SQL: SchemaGraph values rendered as DDL statements, each object spelled in exactly one place.

``tables`` and ``definitions`` spell the two families of objects and never import each other; what
both need lives beside them (``identifiers``, ``indexes``, ``sequences``). ``order`` decides which
definition comes after which, and ``script`` puts a whole graph into one script creating it on an
empty database — the inverse of :mod:`zanith_core.read`.
"""

from .identifiers import qualified_identifier
from .script import schema_ddl

__all__ = ["qualified_identifier", "schema_ddl"]
