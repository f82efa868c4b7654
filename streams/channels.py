"""The two kinds of topic the workers declare: Avro bytes (the contract) and internal records."""

from __future__ import annotations

from typing import Any

import faust


def avro_topic(app: faust.App, *names: str, partitions: int) -> Any:
    """Contract records: raw bytes in and out, (de)coded by our serde so bad bytes can be dead-lettered."""
    return app.topic(*names, key_serializer="raw", value_serializer="raw", partitions=partitions)


def record_topic(app: faust.App, *names: str, value_type: type[faust.Record] | None, partitions: int) -> Any:
    """Worker-internal JSON records, keyed by str; Faust creates these topics itself."""
    return app.topic(*names, key_type=str, value_type=value_type, partitions=partitions, internal=True)
