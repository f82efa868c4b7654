"""``python -m infra.kafka start|stop|status --workdir DIR``: a broker that outlives the command.

``start`` leaves the broker running (pid and bootstrap address in the work dir);
``stop`` ends it. ``KAFKA_HOME`` selects an existing Kafka install instead of the jars.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from infra.kafka.broker import KafkaBroker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.kafka")
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--workdir", type=Path, default=Path("var/kafka"))
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    pid_file, bootstrap_file = args.workdir / "broker.pid", args.workdir / "bootstrap"
    if args.command == "start":
        home = os.environ.get("KAFKA_HOME")  # entry point: the one place this is read
        broker = KafkaBroker(args.workdir, port=args.port, kafka_home=Path(home) if home else None)
        bootstrap = broker.start()
        pid_file.write_text(str(broker.pid))
        bootstrap_file.write_text(bootstrap)
        print(bootstrap)
        return 0
    if not pid_file.exists():
        print("not running")
        return 1 if args.command == "stop" else 3
    pid = int(pid_file.read_text())
    if args.command == "status":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("not running")
            return 3
        print(f"running: pid {pid}, {bootstrap_file.read_text()}")
        return 0
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    pid_file.unlink()
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
