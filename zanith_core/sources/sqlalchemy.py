"""SQLAlchemy ``MetaData`` as a declared schema source (the optional ``sqlalchemy`` extra).

SQLAlchemy already knows how to render its metadata for PostgreSQL, enum types, sequences,
dependency order and foreign-key cycles included: ``metadata.create_all`` on a *mock* engine hands us
each DDL statement instead of running it. The DDL then goes the one normalisation path every source
takes (:mod:`zanith_core.sources`). SQLAlchemy is imported only when a ``MetaData`` is loaded.
"""

from __future__ import annotations

from typing import Any

from ..errors import SourceError


def metadata_ddl(metadata: Any) -> list[str]:
    """The PostgreSQL DDL that ``metadata.create_all()`` would run on an empty database."""
    try:
        from sqlalchemy import create_mock_engine
    except ImportError:
        raise SourceError("loading SQLAlchemy MetaData needs SQLAlchemy: pip install 'zanith[sqlalchemy]'") from None

    statements: list[str] = []

    def collect(element: Any, *_multiparams: Any, **_params: Any) -> None:
        statements.append(str(element.compile(dialect=engine.dialect)).strip())

    engine = create_mock_engine("postgresql+psycopg://", collect)
    metadata.create_all(engine, checkfirst=False)
    return statements
