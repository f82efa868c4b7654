"""The worker's error policy and health board."""

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError
from faust.exceptions import ProducerSendError

from foundation.settings import Settings
from schemas.catalog import SchemaCatalog
from schemas.exceptions import DeserializationError
from schemas.serde import AvroSerde
from streams.context import StreamContext
from streams.errors import Action, build_dead_letter, classify, dead_letter_headers, run_guarded
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


def test_a_record_too_large_to_forward_is_a_data_problem_other_send_failures_are_fatal() -> None:
    def wrapped(cause: BaseException) -> ProducerSendError:
        # How faust reports a failed send: ProducerSendError raised from Kafka's error.
        try:
            raise ProducerSendError(f"Error while sending: {cause!r}") from cause
        except ProducerSendError as exc:
            return exc

    assert classify(wrapped(MessageSizeTooLargeError())) is Action.DEAD_LETTER
    assert classify(wrapped(KafkaTimeoutError())) is Action.FATAL
    assert classify(ProducerSendError("no producer")) is Action.FATAL


MESSAGE = SimpleNamespace(topic="t-community-events", partition=2, offset=9, key=b"github:ada", value=b"")


def test_a_dead_letter_within_the_bound_keeps_the_original_bytes() -> None:
    message = SimpleNamespace(**{**vars(MESSAGE), "value": b"v" * 1014})
    letter = build_dead_letter(message, ValueError("odd"), "resolve-community", 1234, max_bytes=1024)
    assert (letter.key, letter.value, letter.size) == (b"github:ada", b"v" * 1014, 1024)
    assert letter.headers == dead_letter_headers(message, ValueError("odd"), "resolve-community", 1234)


def test_a_keyless_tombstone_becomes_an_empty_value_marked_null() -> None:
    message = SimpleNamespace(**{**vars(MESSAGE), "key": None, "value": None})
    letter = build_dead_letter(message, ValueError("empty"), "identity-link", 1234, max_bytes=1024)
    assert (letter.key, letter.value) == (None, b"")
    assert letter.headers == [
        *dead_letter_headers(message, ValueError("empty"), "identity-link", 1234),
        ("null_value", b"true"),
    ]


def test_an_oversized_dead_letter_keeps_a_prefix_its_size_and_hash_with_the_reason() -> None:
    value = bytes(range(256)) * 8192  # 2 MiB
    message = SimpleNamespace(**{**vars(MESSAGE), "value": value})
    letter = build_dead_letter(message, ValueError("too big to forward"), "resolve-community", 1234, 1024)
    assert (letter.key, letter.value, letter.size) == (b"github:ada", value[:1014], 1024)
    headers = dict(letter.headers)
    assert headers == {
        "error": (
            "too big to forward; dead letter truncated to its first 1014 of 2097152 value bytes "
            f"(sha256 {hashlib.sha256(value).hexdigest()})"
        ).encode(),
        "error_class": b"ValueError",
        "source_topic": b"t-community-events",
        "source_partition": b"2",
        "source_offset": b"9",
        "stage": b"resolve-community",
        "failed_at": b"1234",
        "truncated": b"true",
        "original_key_size": b"10",
        "original_key_sha256": hashlib.sha256(b"github:ada").hexdigest().encode(),
        "original_value_size": b"2097152",
        "original_value_sha256": hashlib.sha256(value).hexdigest().encode(),
    }
    # A huge key gets at most a quarter of the bound.
    big_key = SimpleNamespace(**{**vars(MESSAGE), "key": b"k" * 5000, "value": value})
    letter = build_dead_letter(big_key, ValueError("x"), "resolve-community", 1234, 1024)
    assert (letter.key, letter.value) == (b"k" * 256, value[:768])
    assert dict(letter.headers)["original_key_size"] == b"5000"


class _Stream:
    def __init__(self, count: int) -> None:
        self.items = [
            SimpleNamespace(message=SimpleNamespace(**{**vars(MESSAGE), "offset": i})) for i in range(count)
        ]

    async def events(self) -> AsyncIterator[Any]:
        for item in self.items:
            yield item


class _DeadLetters:
    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.sent: list[tuple[int, str]] = []

    async def send(self, event: Any, exc: BaseException, stage: str) -> None:
        if self.fails:
            raise ProducerSendError("Error while sending: KafkaTimeoutError()")
        self.sent.append((event.message.offset, str(exc)))


def _run(dead_letters: _DeadLetters) -> tuple[list[int], list[tuple[str, str]], StreamContext]:
    handled: list[int] = []
    halted: list[tuple[str, str]] = []

    async def handle(event: Any) -> None:
        handled.append(event.message.offset)
        if event.message.offset == 1:
            raise ValueError("odd event")

    ctx = StreamContext(settings=Settings(), serde=AvroSerde(SchemaCatalog.load()))

    async def go() -> None:
        with contextlib.suppress(ProducerSendError):
            await run_guarded(
                "resolve-community",
                _Stream(4),
                handle,
                dead_letters,  # type: ignore[arg-type]
                ctx,
                halt=lambda name, exc: halted.append((name, str(exc))),
            )

    asyncio.run(go())
    return handled, halted, ctx


def test_a_dead_lettered_event_lets_the_agent_go_on() -> None:
    dead_letters = _DeadLetters(fails=False)
    handled, halted, ctx = _run(dead_letters)
    assert (handled, dead_letters.sent, halted) == ([0, 1, 2, 3], [(1, "odd event")], [])
    assert ctx.health.healthy


def test_a_dead_letter_that_cannot_be_delivered_halts_the_worker_before_the_next_event() -> None:
    handled, halted, ctx = _run(_DeadLetters(fails=True))
    assert handled == [0, 1]  # offset 2 is never taken, so offset 1 is never acked
    assert halted == [("resolve-community", "Error while sending: KafkaTimeoutError()")]
    assert ctx.health.snapshot()["agents"]["resolve-community"]["alive"] is False
