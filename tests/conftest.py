"""The suite's shared setup: this folder is on ``sys.path`` (pytest's rootdir conftest rule), so the test
modules in the package folders below import the shared helpers as plain modules (``import support``).

Test folders mirror ``zanith_core``'s packages; tests of the top-level modules (config, servers, diff,
hooks) and of the repository as a whole (README, fresh clone, example shop, benchmarks) sit here.

Hypothesis runs under the profile ``HYPOTHESIS_PROFILE`` names: ``ci`` (the default, so a plain
``python -m pytest`` keeps the full example counts) or ``dev``, a fifth of them for quick local runs.
Tests state their counts in ``ci`` terms through ``support.examples``, which scales them by the profile.
"""

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
