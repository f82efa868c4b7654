"""Start a stream worker: ``orbitstream worker [FAUST WORKER OPTIONS]``.

The settings come from the command line's entry point; the worker claims its own
directory and web port on this host (placement.py), the public topics are created, then
Faust's own ``worker`` command runs with the options given (``--loglevel``, ...), passed
as arguments rather than through ``sys.argv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from faust.cli.faust import cli as faust_cli

from foundation.kafka_access import check_access
from foundation.settings import Settings
from foundation.topic_admin import ensure_topics
from streams import placement
from streams.app import create_app
from streams.topology import worker_topic_names


def run_worker(settings: Settings, faust_args: Sequence[str] = ()) -> NoReturn:
    """Run one worker until it is stopped; raises KafkaAccessError on refused credentials."""
    # A refused password ends the worker here, in seconds, instead of Faust retrying forever.
    check_access(settings.kafka)
    claimed = placement.claim(settings)  # held (locked) until the process exits
    settings = claimed.apply(settings)
    ensure_topics(
        settings.kafka,
        worker_topic_names(settings),
        settings.topics.partitions,
        settings.topics.replication_factor,
    )
    app = create_app(settings)
    # What faust.App.main() does before its CLI, minus reading the command line from sys.argv
    # (and discovery: the app registers its agents itself, autodiscover=False in app.py).
    app.finalize()
    app.worker_init()
    app.worker_init_post_autodiscover()
    faust_cli.main(args=["worker", *faust_args], prog_name="orbitstream worker", app=app)
    raise SystemExit(0)  # click's main exits itself; this is for the type checker
