"""Where the Kafka clients' own log lines go while a command runs.

librdkafka logs through Python logging (``KAFKA_CLIENT_LOGGER``, settings.py). With no
handler anywhere, Python's last-resort handler prints every warning to stderr: a broker
restart then fills a command's output with connection-refused lines from every client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from foundation.settings import KAFKA_CLIENT_LOGGER


@contextmanager
def client_logs(path: Path, console_level: int | None = logging.WARNING) -> Iterator[None]:
    """Every client log line to ``path``; those at ``console_level`` or worse to stderr too
    (None: none, for a command that stops brokers on purpose)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(KAFKA_CLIENT_LOGGER)
    file = logging.FileHandler(path)
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handlers: list[logging.Handler] = [file]
    if console_level is not None:
        console = logging.StreamHandler()
        console.setLevel(console_level)
        console.setFormatter(logging.Formatter("kafka client %(levelname)s: %(message)s"))
        handlers.append(console)
    previous = logger.level
    logger.setLevel(logging.INFO)
    for handler in handlers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous)
