"""One consumed Kafka message to one (table, row) (pure given the serde and a clock).

- A message on the dead-letter topic becomes a ``dead_letters`` row from its headers
  (written by streams/errors.py) and its original key and value bytes.
- Any other message is decoded with the serde and mapped by record type (rows.py).
- A message that does not decode or map becomes a ``dead_letters`` row too, with stage
  ``sink`` and a reason naming topic, partition and offset: bad input is never lost and
  never blocks the partition.
- Either way the row's ``dead_letter_id`` names the source position and the stage, so a
  message that fails in a worker and again in the sink is two letters, not one.

The sink itself calls :meth:`Router.route_values`: valid single-object records go the
hot path (columnar.py: Avro straight to column values, no model); everything else takes
the model path above and is converted to the same values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from foundation.names import DeadLetterHeader
from schemas.serde import AvroSerde
from sinks.columnar import ColumnDecoder, Unloadable, Values, row_values
from sinks.privacy import RowPrivacy
from sinks.rows import Row, Source, dead_letter_row, header_map, row_for

log = logging.getLogger(__name__)

# Set by the replay command on every message it re-publishes (value: the dead letter id).
SINK_STAGE = "sink"


@dataclass(frozen=True)
class KafkaRecord:
    """The parts of a consumed message the sink uses (no confluent-kafka types in pure code)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] = ()

    @classmethod
    def of(cls, message: Any) -> KafkaRecord:
        """From a confluent_kafka.Message."""
        return cls(
            message.topic(),
            message.partition(),
            message.offset(),
            message.key(),
            message.value(),
            list(message.headers() or []),
        )

    @property
    def source(self) -> Source:
        return Source(self.topic, self.partition, self.offset)


def _now() -> datetime:
    return datetime.now(UTC)


class Router:
    """Routes messages to rows; ``dead_letters_topic`` is the full (prefixed) topic name."""

    def __init__(
        self,
        serde: AvroSerde,
        dead_letters_topic: str,
        clock: Callable[[], datetime] = _now,
        privacy: RowPrivacy | None = None,
    ) -> None:
        self.serde = serde
        self.dead_letters_topic = dead_letters_topic
        self._clock = clock
        self.columns = ColumnDecoder(serde.catalog)
        # Set (a pseudonymisation key is configured): every row is made fit first (privacy.py).
        self.privacy = privacy

    def route_values(self, message: Any) -> tuple[str, Values]:
        """A confluent_kafka.Message (or :class:`KafkaRecord`) to ``(table, column values)``."""
        table, values = self._route_values(message)
        if self.privacy is not None:
            values = self.privacy.apply(table, values)
        return table, values

    def _route_values(self, message: Any) -> tuple[str, Values]:
        if isinstance(message, KafkaRecord):
            record: KafkaRecord | None = message
            topic, partition, offset, value = message.topic, message.partition, message.offset, message.value
        else:
            record = None
            topic, partition, offset, value = (
                message.topic(),
                message.partition(),
                message.offset(),
                message.value(),
            )
        if topic != self.dead_letters_topic:
            try:
                return self.columns.decode(value, topic, partition, offset)
            except Unloadable:
                pass  # the model path loads it or says why not
        table, row = self.route(record or KafkaRecord.of(message))
        return table, row_values(table, row)

    def route(self, record: KafkaRecord) -> tuple[str, Row]:
        if record.topic == self.dead_letters_topic:
            return "dead_letters", self._worker_dead_letter(record)
        try:
            decoded = self.serde.decode(
                record.value, topic=record.topic, partition=record.partition, offset=record.offset
            )
            return row_for(decoded, record.source)
        except Exception as exc:
            # Only data problems can reach here: decoding and mapping do no I/O.
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            exc_text = str(exc) if str(exc).startswith(where) else f"{where}: {exc}"
            log.warning("dead-lettering in the sink: %s", exc_text)
            return "dead_letters", dead_letter_row(
                source_topic=record.topic,
                source_partition=record.partition,
                source_offset=record.offset,
                stage=SINK_STAGE,
                error_class=type(exc).__name__,
                error=exc_text,
                key=record.key,
                value=record.value,
                failed_at=self._clock(),
                replay_of=header_map(record.headers).get(DeadLetterHeader.REPLAY_OF, ""),
                source=record.source,
            )

    def _worker_dead_letter(self, record: KafkaRecord) -> Row:
        headers = header_map(record.headers)
        problems: list[str] = []
        source_topic = headers.get(DeadLetterHeader.SOURCE_TOPIC) or ""
        partition = _int_header(headers, DeadLetterHeader.SOURCE_PARTITION, problems)
        offset = _int_header(headers, DeadLetterHeader.SOURCE_OFFSET, problems)
        failed_ms = _int_header(headers, DeadLetterHeader.FAILED_AT, [])
        if not source_topic:
            problems.append(f"header {DeadLetterHeader.SOURCE_TOPIC} missing")
        error = headers.get(DeadLetterHeader.ERROR, "")
        if problems or partition is None or offset is None:
            # Without its origin the letter is keyed on where it sits in the dead-letter topic.
            source_topic, partition, offset = record.topic, record.partition, record.offset
            error = (
                f"{'; '.join(problems)} (dead letter at {record.topic}[{record.partition}]@{record.offset})"
            )
            error += (
                f"; error: {headers.get(DeadLetterHeader.ERROR, '')}"
                if headers.get(DeadLetterHeader.ERROR)
                else ""
            )
        failed_at = datetime.fromtimestamp(failed_ms / 1000, tz=UTC) if failed_ms else self._clock()
        return dead_letter_row(
            source_topic=source_topic,
            source_partition=partition,
            source_offset=offset,
            stage=headers.get(DeadLetterHeader.STAGE) or "unknown",
            error_class=headers.get(DeadLetterHeader.ERROR_CLASS) or "unknown",
            error=error,
            key=record.key,
            value=record.value,
            failed_at=failed_at,
            replay_of=headers.get(DeadLetterHeader.REPLAY_OF, ""),
            source=record.source,
        )


def _int_header(headers: Mapping[str, str], name: str, problems: list[str]) -> int | None:
    raw = headers.get(name)
    if raw is None:
        problems.append(f"header {name} missing")
        return None
    try:
        return int(raw)
    except ValueError:
        problems.append(f"header {name}={raw!r} is not an integer")
        return None
