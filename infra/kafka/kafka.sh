#!/usr/bin/env bash
# Start, stop or check the local single-node KRaft broker:
#   infra/kafka/kafka.sh start [--workdir var/kafka] [--port 9092]
# It formats storage, starts the broker on a free loopback port (or --port), waits until
# it accepts requests and prints the bootstrap address. Fetch the jars first: make setup.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python="${root}/.venv/bin/python"
[ -x "$python" ] || python=python3
cd "$root"
exec "$python" -m infra.kafka "$@"
