"""The pipeline configured as in production: SCRAM to Kafka, a warehouse password, pseudonyms.

One run (module fixture) sends events through the producer SDK, a worker process and the
sink process (``orbitstream sink run``) on a broker that only takes SCRAM logins, into a
warehouse that only takes its configured user; the tests then read what arrived, what
the warehouse holds in every column of every table, and what each process logged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foundation.settings import Settings, to_environment
from foundation.topic_admin import ensure_topics
from infra.processes import ManagedProcess
from infra.stack import start_sink, start_worker, wait_for_group
from schemas.identity import deterministic_canonical_id
from schemas.pseudonyms import Pseudonymiser
from sinks.migrate import apply_migrations
from streams.topology import worker_topic_names
from tests.fixtures import events as ev
from tests.fixtures.security import SECRETS, secured_settings
from tests.fixtures.streams import send_events

pytestmark = pytest.mark.integration

ADA_EMAIL, ZOE_EMAIL, BOB_LOGIN = "Ada.Lovelace@Example.com", "zoe@example.org", "BobTheBuilder"
RAW_VALUES = ("ada.lovelace@example.com", "zoe@example.org", "bobthebuilder")


@dataclass
class SecuredRun:
    settings: Settings
    client: Any
    logs: dict[str, str]
    workdir: Path


@pytest.fixture(scope="module")
def secured_run(
    scram_kafka: str, secured_warehouse: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecuredRun]:
    database = f"sec_{uuid.uuid4().hex[:10]}"
    settings = secured_settings(scram_kafka, secured_warehouse.port, database)
    workdir = tmp_path_factory.mktemp("secured-run")
    admin = secured_warehouse.client()
    admin.command(f"CREATE DATABASE {database}")
    client = secured_warehouse.client(database=database)
    apply_migrations(client, database)
    ensure_topics(settings.kafka, worker_topic_names(settings), settings.topics.partitions)
    procs: list[ManagedProcess] = []
    try:
        worker = start_worker(settings, workdir, "worker-1")
        procs.append(worker)
        wait_for_group(settings, settings.topics.name(settings.worker.app_id), 1, [worker])
        ada, zoe, bob = ev.product("ada-7"), ev.email(ZOE_EMAIL), ev.github(BOB_LOGIN)
        send_events(settings, [ev.link(ada, ev.email(ADA_EMAIL), ev.at(0))])
        post = dict(post_id="q1", channel="help", title="Token?", is_question=True, tags=["auth"])
        send_events(
            settings,
            [
                ev.make("FeatureUsed", ada, ev.at(1), feature="dashboards", is_key_feature=True),
                ev.make("PostCreated", ev.email(ADA_EMAIL), ev.at(2), **post),
                ev.make("PostCreated", zoe, ev.at(3), **{**post, "post_id": "q2"}),
                ev.make("ReplyCreated", bob, ev.at(4), post_id="q2", reply_id="r1", post_author=zoe),
            ],
        )
        sink = start_sink(settings, workdir)
        procs.append(sink)
        deadline = time.monotonic() + 120
        # One score update per event.
        while (scores := client.command("SELECT count() FROM engagement_scores FINAL")) < 4:
            sink.ensure_alive()
            assert time.monotonic() < deadline, f"{scores} of 4 scores reached the warehouse"
            time.sleep(0.5)
        # Identity links and relationship edges travel on their own topics: let them land too.
        while client.command("SELECT count() FROM identity_links FINAL") < 1:
            assert time.monotonic() < deadline, "the identity link did not reach the warehouse"
            time.sleep(0.5)
    finally:
        for proc in procs:
            proc.stop()
    logs = {p.name: p.log_path.read_text(errors="replace") for p in procs}
    yield SecuredRun(settings, client, logs, workdir)
    admin.command(f"DROP DATABASE IF EXISTS {database}")


def _pseudonymiser(settings: Settings) -> Pseudonymiser:
    made = Pseudonymiser.from_settings(settings.privacy)
    assert made is not None
    return made


def test_events_go_through_scram_kafka_worker_and_sink_into_the_secured_warehouse(secured_run) -> None:
    ps = _pseudonymiser(secured_run.settings)
    ada = deterministic_canonical_id("product", "ada-7")  # product ids are kept as sent
    zoe = ps.deterministic_id(f"email:{ZOE_EMAIL}")
    rows = secured_run.client.query(
        "SELECT event_type, provider, external_id, canonical_id, counterpart_external_id "
        "FROM events FINAL ORDER BY occurred_at"
    ).result_rows
    assert rows == [
        ("FeatureUsed", "product", "ada-7", ada, ""),
        ("PostCreated", "email", ps.pseudonym("email", ADA_EMAIL), ada, ""),
        ("PostCreated", "email", ps.pseudonym("email", ZOE_EMAIL), zoe, ""),
        (
            "ReplyCreated",
            "github",
            ps.pseudonym("github", BOB_LOGIN),
            ps.deterministic_id(f"github:{BOB_LOGIN.lower()}"),
            ps.pseudonym("email", ZOE_EMAIL),
        ),
    ]
    assert secured_run.client.query(
        "SELECT provider, external_id, linked_provider, linked_external_id, canonical_id "
        "FROM identity_links FINAL"
    ).result_rows == [("product", "ada-7", "email", ps.pseudonym("email", ADA_EMAIL), "")]  # as sent


def test_no_raw_email_or_login_is_in_any_column_of_any_table(secured_run) -> None:
    client = secured_run.client
    tables = [
        row[0]
        for row in client.query(
            # Every table that stores rows (views only read them, some take parameters).
            "SELECT name FROM system.tables WHERE database = currentDatabase() "
            "AND engine NOT LIKE '%View' ORDER BY name"
        ).result_rows
    ]
    assert {"events", "identity_links", "engagement_scores", "relationship_edges", "dead_letters"} <= set(
        tables
    )
    everything = b""
    for table in tables:
        everything += client.raw_query(f"SELECT * FROM `{table}` FORMAT TSVRaw") + b"\n"
    text = everything.decode(errors="replace").lower()
    assert [raw for raw in RAW_VALUES if raw in text] == []
    # Not vacuous: the data is there, under its pseudonyms.
    assert _pseudonymiser(secured_run.settings).pseudonym("email", ZOE_EMAIL) in text


def test_the_pseudonym_command_finds_the_stored_value_for_an_email(secured_run) -> None:
    env = {**os.environ, **to_environment(secured_run.settings)}
    done = subprocess.run(
        [sys.executable, "-m", "orbitstream", "identity", "pseudonym", "  ZOE@example.org"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pseudonym = done.stdout.split("pseudonym: ", 1)[1].split()[0]
    canonical = done.stdout.split("canonical_id if never linked: ", 1)[1].split()[0]
    assert secured_run.client.query(
        "SELECT DISTINCT canonical_id FROM events FINAL "
        "WHERE provider = 'email' AND external_id = {p:String}",
        parameters={"p": pseudonym},
    ).result_rows == [(canonical,)]


def test_no_configured_secret_is_in_the_worker_or_sink_logs(secured_run) -> None:
    assert set(secured_run.logs) == {"worker-1", "sink"}
    assert all(secured_run.logs.values())  # they did log
    leaks = [(name, s) for name, log in secured_run.logs.items() for s in SECRETS if s in log]
    assert leaks == []
