"""The Python DSL for declaring a schema, at the path users import: ``from zanith_core.declare import Schema``.

The DSL lives with the other declared sources in :mod:`zanith_core.sources.dsl`; this module is its
public name and stays stable.
"""

from .sources.dsl import *  # noqa: F403
from .sources.dsl import __all__ as __all__
