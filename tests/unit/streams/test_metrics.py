"""The worker's /metrics: its health board as Prometheus text, read back with
prometheus_client's own parser (the format's reference implementation in Python)."""

from __future__ import annotations

import math

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.health import LATENCY_BUCKETS, Health, LatencyTally
from streams.metrics import worker_registry


def _samples(health: Health) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(worker_registry(health)).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_latency_lands_in_the_first_bucket_whose_bound_is_not_below_it() -> None:
    tally = LatencyTally()
    for seconds in (0.001, 0.005, 0.0051, 0.3, 1000.0):
        tally.observe(seconds)
    by_bound = dict(zip((*LATENCY_BUCKETS, math.inf), tally.counts, strict=True))
    # Prometheus buckets are "less than or equal": 0.005 belongs to le=0.005.
    assert by_bound[0.005] == 2
    assert by_bound[0.01] == 1
    assert by_bound[0.5] == 1
    assert by_bound[math.inf] == 1
    assert tally.count == 5
    assert tally.total == sum((0.001, 0.005, 0.0051, 0.3, 1000.0))


def test_the_board_is_exposed_as_counters_gauges_and_a_cumulative_histogram() -> None:
    health = Health()
    health.inputs["product-events"] += 7
    health.outputs["product-by-user"] += 5
    health.dead_lettered("resolve-product", ValueError("bad"), "dead-letters")
    health.dead_lettered("resolve-product", ValueError("worse"), "dead-letters")
    health.dead_lettered("user-activity", KeyError("k"), "dead-letters")
    health.lag[("product-events", 3)] = 42
    health.died("mentor-matching", RuntimeError("boom"))
    health.agent("user-activity")
    for seconds in (0.02, 0.02, 0.2, 7.0):
        health.latency.observe(seconds)

    samples = _samples(health)

    assert samples[("orbitstream_worker_events_in_total", (("topic", "product-events"),))] == 7
    assert samples[("orbitstream_worker_events_out_total", (("topic", "product-by-user"),))] == 5
    assert samples[("orbitstream_worker_events_out_total", (("topic", "dead-letters"),))] == 3
    letters = "orbitstream_worker_dead_letters_total"
    assert samples[(letters, (("reason", "ValueError"), ("stage", "resolve-product")))] == 2
    assert samples[(letters, (("reason", "KeyError"), ("stage", "user-activity")))] == 1
    lag = ("orbitstream_worker_consumer_lag", (("partition", "3"), ("topic", "product-events")))
    assert samples[lag] == 42
    assert samples[("orbitstream_worker_agent_up", (("agent", "mentor-matching"),))] == 0
    assert samples[("orbitstream_worker_agent_up", (("agent", "user-activity"),))] == 1

    def bucket(le: str) -> float:
        return samples[("orbitstream_worker_send_to_score_seconds_bucket", (("le", le),))]

    assert (bucket("0.01"), bucket("0.025"), bucket("0.25"), bucket("5.0"), bucket("10.0")) == (0, 2, 3, 3, 4)
    assert bucket("+Inf") == 4
    assert samples[("orbitstream_worker_send_to_score_seconds_count", ())] == 4
    assert math.isclose(samples[("orbitstream_worker_send_to_score_seconds_sum", ())], 7.24)


def test_an_idle_worker_exposes_every_family_with_no_samples_but_the_empty_histogram() -> None:
    text = generate_latest(worker_registry(Health())).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {
        "orbitstream_worker_events_in",
        "orbitstream_worker_events_out",
        "orbitstream_worker_dead_letters",
        "orbitstream_worker_consumer_lag",
        "orbitstream_worker_agent_up",
        "orbitstream_worker_send_to_score_seconds",
    }
    assert [
        s.value
        for s in families["orbitstream_worker_send_to_score_seconds"].samples
        if s.name.endswith("_count")
    ] == [0]
