"""Authoring: what writes migration files for people to review.

:mod:`.scaffold` writes the next migration (``zanith generate`` from the declared schema, ``zanith new``
as a raw-SQL skeleton); :mod:`.expand_contract` writes the zero-downtime pairs (rename and type change in
two migrations with dual-write triggers and a batched backfill). Both build on generate and never run
the audited apply: the current state comes from a replay (:mod:`zanith_core.migrations.replay`).
"""
