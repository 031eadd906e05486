"""Apply (stages 4 and 5): the audited run of a plan, and the history it leaves.

:mod:`.runner` is the orchestrator — the apply lock, the ledger bootstrap, the plan it consumes (checked
for staleness under the lock), then each step in its own transaction with its audit row. Beside it:
:mod:`.executors` (how an op runs; plugins may add executors), :mod:`.backfill` (batched, resumable
backfills), :mod:`.capture` (recovery artifacts written in the step's transaction),
:mod:`.concurrent_index` (what a killed ``CREATE INDEX CONCURRENTLY`` leaves) and :mod:`.history`
(``status``, ``history``, ``show`` read back from the ledger).
"""

from .results import ApplyResult, StepEvent, StepFailure
from .runner import PlanStale, apply_migrations, split_at_contract

__all__ = ["ApplyResult", "PlanStale", "StepEvent", "StepFailure", "apply_migrations", "split_at_contract"]
