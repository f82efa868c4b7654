"""The hand-built dataset (dataset.py) loaded once per test module into its own database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from analytics import Analyses
from sinks.migrate import apply_migrations
from tests.integration.analytics import dataset, playbook_dataset


def _loaded_database(warehouse: Any, prefix: str, load: Callable[[Any], None]) -> Iterator[str]:
    """A migrated database of its own, loaded by ``load(client)``, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = warehouse.client()
    admin.command(f"CREATE DATABASE {name}")
    apply_migrations(admin, name)
    load(warehouse.client(database=name))
    yield name
    admin.command(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="module")
def analyses_db(warehouse: Any) -> Iterator[str]:
    yield from _loaded_database(warehouse, "test_analyses", dataset.load)


@pytest.fixture(scope="module")
def analyses(warehouse: Any, analyses_db: str) -> Analyses:
    return Analyses(warehouse.client(database=analyses_db))


@pytest.fixture(scope="module")
def playbook_db(warehouse: Any) -> Iterator[str]:
    """The playbook analyses' dataset (playbook_dataset.py) in a database of its own."""
    yield from _loaded_database(warehouse, "test_playbook", playbook_dataset.load)


@pytest.fixture(scope="module")
def playbook(warehouse: Any, playbook_db: str) -> Analyses:
    return Analyses(warehouse.client(database=playbook_db))


@pytest.fixture
def sink_db(warehouse: Any, ch_database: str) -> str:
    """The test's own database with every migration applied and no rows."""
    apply_migrations(warehouse.client(), ch_database)
    return ch_database
