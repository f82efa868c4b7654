"""Test-wide fixtures: each area's fixtures live in tests/fixtures/ and are loaded here."""

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.warehouse",
    "tests.fixtures.streams",
    "tests.fixtures.avro_java",
]
