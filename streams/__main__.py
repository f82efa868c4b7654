"""``python -m streams worker ...``: the worker entry point (Faust's own CLI after setup).

Settings are read here, once; the worker claims its own directory and web port on this
host (placement.py), and the public topics are created before Faust starts.
"""

from __future__ import annotations

from infra.settings import load_settings
from infra.topics import ensure_topics
from streams import placement
from streams.app import create_app
from streams.topology import public_topic_names


def main() -> None:
    loaded = load_settings()
    claimed = placement.claim(loaded)  # held (locked) until the process exits
    settings = claimed.apply(loaded)
    ensure_topics(
        settings.kafka,
        public_topic_names(settings),
        settings.topics.partitions,
        settings.topics.replication_factor,
    )
    create_app(settings).main()


if __name__ == "__main__":
    main()
