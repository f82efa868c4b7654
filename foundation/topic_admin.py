"""Create Kafka topics idempotently with confluent-kafka's AdminClient."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from foundation.exceptions import OrbitstreamError
from foundation.kafka_access import check_access
from foundation.settings import KafkaSettings


class TopicCreationError(OrbitstreamError):
    """A topic could not be created (and does not already exist)."""


def ensure_topics(
    kafka: KafkaSettings,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    timeout: float = 30,
) -> list[str]:
    """Create the topics that don't exist yet; return the names created.

    Refused credentials raise :class:`KafkaAuthenticationError` at once (kafka_access.py).
    """
    check_access(kafka, timeout)
    admin = AdminClient(kafka.confluent_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [n for n in dict.fromkeys(names) if n not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=replication_factor) for n in wanted],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise TopicCreationError(f"topic {name}: {exc}") from exc
    return created
