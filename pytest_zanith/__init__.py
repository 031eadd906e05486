"""pytest plugin for zanith: fixtures, assertions and Hypothesis strategies over ``zanith_core``.

Public names are imported lazily so that loading the plugin (every pytest run where zanith is
installed) stays cheap and never imports the database machinery until a test uses it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["assert_no_drift", "assert_within_budget"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import assertions

        return getattr(assertions, name)
    raise AttributeError(name)
