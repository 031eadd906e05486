"""The schema model, the first layer every stage builds on; it imports nothing of zanith but errors.

``graph`` is the one immutable, canonical model of a PostgreSQL schema (:class:`SchemaGraph`), ``codec``
its JSON form, ``queries`` the questions every stage asks of a graph (which table, which indexes
involve a column, what uses a type, which names are taken), ``expressions`` token-aware edits of the
text PostgreSQL prints, ``naming`` the names PostgreSQL gives unnamed objects, ``scope`` the project's
ignore rules.
"""

from .graph import SchemaGraph
from .queries import NotApplicable

__all__ = ["NotApplicable", "SchemaGraph"]
