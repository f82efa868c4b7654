"""The hand-built dataset (dataset.py) loaded once per test module into its own database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from analytics import Analyses
from sinks.migrate import apply_migrations
from tests.integration.analytics import dataset, playbook_dataset


@pytest.fixture(scope="module")
def analyses_db(warehouse: Any) -> Iterator[str]:
    name = f"test_analyses_{uuid.uuid4().hex[:8]}"
    admin = warehouse.client()
    admin.command(f"CREATE DATABASE {name}")
    apply_migrations(admin, name)
    dataset.load(warehouse.client(database=name))
    yield name
    admin.command(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="module")
def analyses(warehouse: Any, analyses_db: str) -> Analyses:
    return Analyses(warehouse.client(database=analyses_db))


@pytest.fixture(scope="module")
def playbook_db(warehouse: Any) -> Iterator[str]:
    """The playbook analyses' dataset (playbook_dataset.py) in a database of its own."""
    name = f"test_playbook_{uuid.uuid4().hex[:8]}"
    admin = warehouse.client()
    admin.command(f"CREATE DATABASE {name}")
    apply_migrations(admin, name)
    playbook_dataset.load(warehouse.client(database=name))
    yield name
    admin.command(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="module")
def playbook(warehouse: Any, playbook_db: str) -> Analyses:
    return Analyses(warehouse.client(database=playbook_db))


@pytest.fixture
def sink_db(warehouse: Any, ch_database: str) -> str:
    """The test's own database with every migration applied and no rows."""
    apply_migrations(warehouse.client(), ch_database)
    return ch_database
