"""The worker's error policy and health board."""

from types import SimpleNamespace

from aiokafka.errors import KafkaConnectionError

from schemas.exceptions import DeserializationError
from streams.errors import Action, classify, dead_letter_headers
from streams.health import Health


def test_data_problems_are_dead_lettered_and_infrastructure_problems_are_fatal() -> None:
    assert classify(DeserializationError("bad", topic="t", partition=1, offset=2)) is Action.DEAD_LETTER
    assert classify(ValueError("odd value")) is Action.DEAD_LETTER
    assert classify(KeyError("missing")) is Action.DEAD_LETTER
    assert classify(KafkaConnectionError()) is Action.FATAL
    assert classify(ConnectionResetError()) is Action.FATAL
    assert classify(MemoryError()) is Action.FATAL


def test_dead_letter_headers_say_why_and_where_from() -> None:
    message = SimpleNamespace(topic="product-events", partition=3, offset=41)
    headers = dict(
        dead_letter_headers(message, ValueError("field payload.feature: missing"), "resolve-product", 1234)
    )
    assert headers == {
        "error": b"field payload.feature: missing",
        "error_class": b"ValueError",
        "source_topic": b"product-events",
        "source_partition": b"3",
        "source_offset": b"41",
        "stage": b"resolve-product",
        "failed_at": b"1234",
    }


def test_a_dead_agent_makes_the_worker_unhealthy_and_is_named() -> None:
    health = Health()
    health.agent("resolve-product").processed += 5
    health.agent("user-activity").dead_lettered += 1
    assert health.snapshot()["healthy"] is True
    health.died("user-activity", RuntimeError("boom"))
    snapshot = health.snapshot()
    assert snapshot["healthy"] is False
    assert snapshot["agents"]["user-activity"] == {
        "alive": False,
        "processed": 0,
        "dead_lettered": 1,
        "last_error": "RuntimeError: boom",
    }
    assert snapshot["agents"]["resolve-product"]["alive"] is True
