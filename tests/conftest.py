"""Test-wide fixtures: each area's fixtures live in tests/fixtures/ and are loaded here."""

import os

from hypothesis import settings

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.warehouse",
    "tests.fixtures.streams",
    "tests.fixtures.avro_java",
    "tests.fixtures.octokit",
    "tests.fixtures.security",
]

# Property tests: the same examples on every run (a red build is reproducible, never a
# coin toss) and no per-example deadline (the machine is shared). HYPOTHESIS_PROFILE=explore
# draws new random examples each run, to hunt for more failures locally.
settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=2000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
