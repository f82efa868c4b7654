"""The Kafka clients' own log lines go to a file, and to stderr only at the level asked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from foundation.client_logs import client_logs
from foundation.settings import KAFKA_CLIENT_LOGGER


def test_every_line_goes_to_the_file_and_none_to_stderr_when_the_console_is_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run" / "kafka-clients.log"
    with client_logs(path, console_level=None):
        logging.getLogger(KAFKA_CLIENT_LOGGER).error("FAIL broker 1: Connection refused")
        logging.getLogger(KAFKA_CLIENT_LOGGER).info("connected")
    assert capsys.readouterr().err == ""
    lines = path.read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "ERROR FAIL broker 1: Connection refused",
        "INFO connected",
    ]


def test_warnings_and_worse_reach_stderr_too_and_the_handlers_go_afterwards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = logging.getLogger(KAFKA_CLIENT_LOGGER)
    before = list(logger.handlers)
    with client_logs(tmp_path / "kafka-clients.log"):
        logger.info("connected")
        logger.warning("slow broker")
    assert capsys.readouterr().err == "kafka client WARNING: slow broker\n"
    assert logger.handlers == before
