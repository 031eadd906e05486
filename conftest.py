"""Repository-wide test setup: point the suite at ZANITH_TEST_DATABASE_URL when it is set.

The default is the embedded server; CI runs the suite a second time against the server on
127.0.0.1:5432 by setting ZANITH_TEST_DATABASE_URL.
"""

import os

if os.environ.get("ZANITH_TEST_DATABASE_URL"):
    os.environ["ZANITH_SHADOW_URL"] = os.environ["ZANITH_TEST_DATABASE_URL"]
