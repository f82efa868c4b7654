"""A worker and a sink on the real broker and warehouse, scraped over HTTP: every counter
moved by exactly what was sent (events in and out per topic, dead letters by reason,
rows per table), and the lag of what both consumed is back to zero."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from infra.kafka.broker import free_port
from infra.stack import start_sink
from producers.sdk import producer_config
from schemas.topics import (
    COMMUNITY_EVENTS,
    DEAD_LETTERS,
    ENGAGEMENT_SCORES,
    IDENTITY_LINKS,
    PRODUCT_EVENTS,
)
from streams.activity.agents import USER_EVENT_BATCHES
from tests.fixtures import events as ev
from tests.fixtures.streams import send_events

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    """``name``'s samples summed by one label (like PromQL's ``sum by (label)``)."""
    out: dict[str, float] = {}
    for (n, labels), v in samples.items():
        if n == name:
            key = dict(labels)[label]
            out[key] = out.get(key, 0.0) + v
    return out


def scrape_until(
    port: int, done: Callable[[Samples], bool], alive: Callable[[], None], timeout: float
) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        alive()
        try:
            samples = scrape(port)
        except OSError:
            samples = {}  # not listening yet
        if samples and done(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"metrics on port {port} never got there: {samples}")
        time.sleep(0.5)


def test_worker_and_sink_metrics_count_exactly_what_was_sent(
    pipeline_factory, warehouse, ch_database
) -> None:
    pipeline = pipeline_factory(partitions=2, warehouse={"port": warehouse.port, "database": ch_database})
    worker_port, sink_port = free_port(), free_port()
    s = pipeline.settings
    pipeline.settings = s.model_copy(
        update={
            "worker": s.worker.model_copy(update={"metrics_port": worker_port}),
            "sink": s.sink.model_copy(update={"metrics_port": sink_port}),
        }
    )
    settings, topic = pipeline.settings, pipeline.topic
    (worker,) = pipeline.start_workers(1)

    product = [
        ev.make("FeatureUsed", ev.product(f"u{u}"), ev.at(i), feature="export")
        for u in range(2)
        for i in range(2)
    ]
    community = [
        ev.make("PostCreated", ev.github(f"g{u}"), ev.at(1), post_id=f"p{u}", channel="general", title="Hi")
        for u in range(2)
    ]
    send_events(settings, [*product, *community])
    # Malformed input: two undecodable values and a record of the wrong kind on product-events,
    # and one undecodable value on a topic only the sink reads.
    link = pipeline.serde.encode(
        ev.link(ev.product("x"), ev.email("x@example.com"), ev.at(0)), IDENTITY_LINKS
    )
    raw = Producer(producer_config(settings, "metrics-test"))
    for bad in (b"\x00not avro", b"garbage", link):
        raw.produce(topic(PRODUCT_EVENTS), value=bad)
    raw.produce(topic(ENGAGEMENT_SCORES), value=b"\x00not a score")
    assert raw.flush(30) == 0
    scores, letters = len(product) + len(community), 3

    w = scrape_until(
        worker_port,
        lambda m: (
            value(m, "orbitstream_worker_send_to_score_seconds_count") >= scores
            and total(m, "orbitstream_worker_dead_letters_total") >= letters
        ),
        worker.ensure_alive,
        timeout=120,
    )
    # Everything is acknowledged before the offsets move: one more look, nothing more came.
    time.sleep(1.0)
    w = scrape(worker_port)
    events_in = by_label(w, "orbitstream_worker_events_in_total", "topic")
    events_out = by_label(w, "orbitstream_worker_events_out_total", "topic")
    assert events_in[topic(PRODUCT_EVENTS)] == len(product) + 3
    assert events_in[topic(COMMUNITY_EVENTS)] == len(community)
    assert events_out[topic("product-by-user")] == len(product)
    assert events_out[topic("community-by-user")] == len(community)
    assert events_out[topic(ENGAGEMENT_SCORES)] == scores
    assert events_out[topic(DEAD_LETTERS)] == letters
    # The join read every batch record the resolve stage sent, once.
    assert events_in[topic(USER_EVENT_BATCHES)] == events_out[topic(USER_EVENT_BATCHES)] >= 1
    assert by_label(w, "orbitstream_worker_dead_letters_total", "reason") == {
        "DeserializationError": 2,
        "UnexpectedRecordError": 1,
    }
    assert by_label(w, "orbitstream_worker_dead_letters_total", "stage") == {"resolve-product": 3}
    assert value(w, "orbitstream_worker_send_to_score_seconds_count") == scores
    assert value(w, "orbitstream_worker_send_to_score_seconds_bucket", le="+Inf") == scores
    assert value(w, "orbitstream_worker_send_to_score_seconds_sum") > 0
    lag = {
        (dict(k)["topic"], dict(k)["partition"]): v for (n, k), v in w.items() if n.endswith("consumer_lag")
    }
    assert {t for t, _ in lag} == {topic(PRODUCT_EVENTS), topic(COMMUNITY_EVENTS)}
    assert set(lag.values()) == {0}

    sink = start_sink(settings, pipeline.workdir)
    try:
        # Every message on the sink's topics is one row: wait until each one is in.
        expected_rows = {
            "events": len(product) + len(community),
            "engagement_scores": scores,
            "dead_letters": letters + 1,
        }
        m = scrape_until(
            sink_port,
            lambda m: all(
                value(m, "orbitstream_sink_rows_total", table=t) >= n for t, n in expected_rows.items()
            ),
            sink.ensure_alive,
            timeout=120,
        )
        time.sleep(1.5)  # a lag refresh (every second) after the last poll
        m = scrape(sink_port)
    finally:
        sink.stop()
    rows = by_label(m, "orbitstream_sink_rows_total", "table")
    consumed = by_label(m, "orbitstream_sink_events_in_total", "topic")
    assert {t: rows.get(t, 0) for t in expected_rows} == expected_rows
    assert consumed[topic("product-by-user")] == len(product)
    assert consumed[topic("community-by-user")] == len(community)
    assert consumed[topic(ENGAGEMENT_SCORES)] == scores + 1
    assert consumed[topic(DEAD_LETTERS)] == letters
    assert sum(consumed.values()) == sum(rows.values())  # nothing lost, nothing twice
    assert by_label(m, "orbitstream_sink_dead_letters_total", "reason") == {"DeserializationError": 1}
    assert total(m, "orbitstream_sink_insert_failures_total") == 0
    sink_lag = {
        (dict(k)["topic"], dict(k)["partition"]): v for (n, k), v in m.items() if n.endswith("consumer_lag")
    }
    assert sink_lag[(topic(ENGAGEMENT_SCORES), "0")] == sink_lag[(topic(ENGAGEMENT_SCORES), "1")] == 0
    assert set(sink_lag.values()) == {0}
    rows_in_warehouse = (
        warehouse.client(database=ch_database).query("SELECT count() FROM dead_letters").result_rows
    )
    assert rows_in_warehouse == [(letters + 1,)]
