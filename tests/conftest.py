"""The suite's shared setup: this folder is on ``sys.path`` (pytest's rootdir conftest rule), so the test
modules in the package folders below import the shared helpers as plain modules (``import support``).

Test folders mirror ``zanith_core``'s packages; tests of the top-level modules (config, servers, diff,
hooks) and of the repository as a whole (README, fresh clone, example shop, benchmarks) sit here.
"""
