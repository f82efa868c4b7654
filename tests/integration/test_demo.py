"""``orbitstream demo`` end to end in a subprocess, as a new user runs it: it completes, and
stderr carries no Kafka client log lines (librdkafka's ``%4|...|GETPID|`` at the start,
``%3|...|FAIL|`` after the summary)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# librdkafka's own format (%<syslog level>|<time>|<facility>|...) and what the same lines
# say once routed through Python logging.
CLIENT_LOG_LINE = re.compile(r"%\d\||GETPID|Connection refused|kafka client (WARNING|ERROR|CRITICAL)")


def test_demo_completes_with_no_kafka_client_noise_on_stderr(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORBITSTREAM_")}
    workdir = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "orbitstream", "demo", "--users", "8", "--days", "4", "--rate", "400"]
        + ["--workdir", str(workdir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "every process stopped" in proc.stdout
    noise = [line for line in proc.stderr.splitlines() if CLIENT_LOG_LINE.search(line)]
    assert noise == []
    assert (workdir / "kafka-clients.log").exists()
    # The report it writes says the population is built with members churning less.
    report = (workdir / "report.html").read_text()
    assert '<p class="demo" id="demo">' in report
    assert "churn_share_members 0.12" in report and "churn_share_non_members 0.35" in report
