"""Property tests with zanith's public Hypothesis strategies.

``schema_diffs()`` draws pairs ``(a, b)``: a schema and a plausible evolution of it (columns added,
dropped, renamed, retyped; constraints, indexes and tables added or dropped; enum values appended).
The property here is the one a team relies on each time it runs ``zanith generate``: on a real
database holding ``a``, the generated migration lands exactly on ``b``, and its reversal comes back to
``a``. The same strategies serve any code of yours that must work on every schema shape.
"""

from __future__ import annotations

from hypothesis import given, reject, settings
from pytest_zanith.strategies import schema_diffs
from zanith_core.apply.runner import apply_migrations
from zanith_core.config import Config
from zanith_core.diff import diff, render
from zanith_core.generate import GenerateError, generate, reversal
from zanith_core.generate.renames import RenameCandidate
from zanith_core.migrations import Migration
from zanith_core.read import introspect
from zanith_core.schema.graph import SchemaGraph
from zanith_core.servers import Server, connect
from zanith_core.sql.script import schema_ddl


def _rename(candidate: RenameCandidate) -> bool:
    """Answer "yes" to every rename zanith detects, as a reviewer at the prompt would."""
    return True


def _assert_holds(url: str, expected: SchemaGraph) -> None:
    with connect(url) as conn:
        left = diff(introspect(conn), expected)
    assert not left, render(left)


@settings(max_examples=8, deadline=None)
@given(pair=schema_diffs())
def test_generated_migration_lands_and_reverses(pair: tuple[SchemaGraph, SchemaGraph], zanith_shadow: Server) -> None:
    a, b = pair
    try:
        forward = generate(a, b, confirm=_rename, id="0001_forward")
    except GenerateError:
        reject()  # a change zanith says it cannot generate (e.g. table storage changes): `zanith new --sql`
    config = Config()
    with zanith_shadow.scratch_database("shop_property") as url:
        with connect(url) as conn:
            for statement in schema_ddl(a):
                conn.execute(statement)
        assert apply_migrations(url, [forward], config=config, contract=True).ok
        _assert_holds(url, b)
        if all(op.reversible for op in forward.operations):  # an added enum value cannot be taken back
            backward = Migration("0002_backward", reversal(forward.operations))
            assert apply_migrations(url, [forward, backward], config=config, contract=True).ok
            _assert_holds(url, a)
