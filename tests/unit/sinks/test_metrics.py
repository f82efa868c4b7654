"""The sink's metrics: reasons taken from the dead-letter rows it makes, lag from the
consumer's own positions and watermarks, read back with prometheus_client's parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from confluent_kafka import TopicPartition
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from schemas.catalog import SchemaCatalog
from schemas.serde import AvroSerde
from sinks.metrics import SinkMetrics
from sinks.routing import KafkaRecord, Router


def _samples(metrics: SinkMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_the_reason_of_a_sink_dead_letter_is_the_error_class_its_row_records() -> None:
    router = Router(AvroSerde(SchemaCatalog.load()), "p-dead-letters", clock=lambda: datetime.now(UTC))
    metrics = SinkMetrics()
    for offset in range(3):
        table, values = router.route_values(KafkaRecord("p-product-by-user", 0, offset, None, b"\x00garbage"))
        assert table == "dead_letters"
        metrics.dead_lettered(values)
    samples = _samples(metrics)
    assert samples[("orbitstream_sink_dead_letters_total", (("reason", "DeserializationError"),))] == 3


@dataclass
class FakeConsumer:
    """The three consumer calls the lag reads: assignment, position, cached watermarks."""

    positions: dict[tuple[str, int], int]
    highs: dict[tuple[str, int], int]
    calls: list[bool] = field(default_factory=list)

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in self.positions]

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)]) for tp in tps
        ]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        self.calls.append(cached)
        return 0, self.highs.get((tp.topic, tp.partition), -1)


def test_lag_is_high_watermark_minus_position_and_a_revoked_partition_disappears() -> None:
    metrics = SinkMetrics()
    consumer = FakeConsumer(
        positions={("scores", 0): 10, ("scores", 1): 4, ("links", 0): -1001, ("links", 1): 5},
        highs={("scores", 0): 25, ("scores", 1): 4, ("links", 0): 9},  # links[1]: not fetched yet
    )
    metrics.polled({"scores": 12, "links": 1}, consumer)
    samples = _samples(metrics)
    lag = "orbitstream_sink_consumer_lag"
    assert {k[1]: v for k, v in samples.items() if k[0] == lag} == {
        (("partition", "0"), ("topic", "scores")): 15,
        (("partition", "1"), ("topic", "scores")): 0,
    }
    assert set(consumer.calls) == {True}  # the broker is never asked
    assert samples[("orbitstream_sink_events_in_total", (("topic", "scores"),))] == 12

    del consumer.positions[("scores", 0)]
    consumer.positions[("scores", 1)] = 2
    metrics.polled({}, consumer)  # within the refresh interval: unchanged
    assert _samples(metrics)[(lag, (("partition", "1"), ("topic", "scores")))] == 0
    metrics.refresh_lag(consumer, force=True)
    assert {k[1]: v for k, v in _samples(metrics).items() if k[0] == lag} == {
        (("partition", "1"), ("topic", "scores")): 2,
    }


def test_an_unset_port_falls_back_to_a_free_one_and_a_configured_one_must_bind(monkeypatch) -> None:
    import socket
    import urllib.request

    from sinks import metrics as sink_metrics

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(sink_metrics, "DEFAULT_PORT", port)
        metrics = SinkMetrics()
        metrics.rows.labels("events").inc(3)
        server = sink_metrics.serve(metrics, "127.0.0.1", None)
        try:
            assert server.server_port not in (port, 0)
            url = f"http://127.0.0.1:{server.server_port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
                text = response.read().decode()
            assert 'orbitstream_sink_rows_total{table="events"} 3.0' in text
        finally:
            server.shutdown()
            server.server_close()
        with pytest.raises(OSError, match=f"sink.metrics_port {port} on 127.0.0.1 cannot be bound"):
            sink_metrics.serve(metrics, "127.0.0.1", port)
