"""``python -m streams worker ...``: the worker entry point (Faust's own CLI after setup).

Settings are read here, once; the worker claims its own directory and web port on this
host (placement.py), and the public topics are created before Faust starts.
"""

from __future__ import annotations

import sys

from pydantic import ValidationError

from infra.kafka_access import KafkaAccessError, check_access
from infra.settings import UnknownSettingError, load_settings, validation_summary
from infra.topics import ensure_topics
from streams import placement
from streams.app import create_app
from streams.topology import worker_topic_names


def main() -> None:
    try:
        settings = load_settings()
    except UnknownSettingError as exc:
        # A configuration mistake is one line naming the variable, not a traceback.
        sys.exit(f"error: {exc}")
    except ValidationError as exc:
        sys.exit(f"error: {validation_summary(exc)}")
    try:
        # A refused password ends the worker here, in seconds, instead of Faust retrying forever.
        check_access(settings.kafka)
    except KafkaAccessError as exc:
        sys.exit(f"error: {exc}")
    claimed = placement.claim(settings)  # held (locked) until the process exits
    settings = claimed.apply(settings)
    ensure_topics(
        settings.kafka,
        worker_topic_names(settings),
        settings.topics.partitions,
        settings.topics.replication_factor,
    )
    create_app(settings).main()


if __name__ == "__main__":
    main()
