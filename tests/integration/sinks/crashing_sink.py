"""A sink that dies like a crashed host after its Nth batch insert, before that batch's
offsets are committed: ``python -m tests.integration.sinks.crashing_sink N``, settings from
the environment. test_sink_crash.py runs it; the seam is ``Sink(after_insert=...)``."""

from __future__ import annotations

import logging
import os
import signal
import sys

from foundation.settings import load_settings
from sinks.batching import PartitionBatch
from sinks.runner import Sink, SinkStats

log = logging.getLogger("crashing_sink")


def main(crash_after: int) -> None:
    def crash(stats: SinkStats, batch: PartitionBatch) -> None:
        if stats.batches_inserted >= crash_after:
            log.error(
                "SIGKILL before committing %s[%d] up to %d", batch.topic, batch.partition, batch.last_offset
            )
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Sink(load_settings(), after_insert=crash).run()


if __name__ == "__main__":
    main(int(sys.argv[1]))
