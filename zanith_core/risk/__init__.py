"""The risk model: the catalog (levels, reasons, gates, op kinds), the classifier, raw-SQL parsing, live stats."""

from . import definitions as definitions  # adds the definition family's op kinds and rules to the catalog
