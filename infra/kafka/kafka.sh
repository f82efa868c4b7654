#!/usr/bin/env bash
# The local single-node KRaft broker, detached from this shell:
#   infra/kafka/kafka.sh start  [--workdir var/kafka] [--port 9092] [--timeout 90]
#   infra/kafka/kafka.sh status [--workdir var/kafka]    # exit 0 running, 1 not answering, 3 stopped
#   infra/kafka/kafka.sh stop   [--workdir var/kafka] [--timeout 30]
# `start` formats the storage (first time only), starts the broker on a free loopback port
# (or --port), waits until it accepts requests and prints its bootstrap address.
# Jars come from `make setup` (Maven Central), or from an existing install via KAFKA_HOME.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python="${root}/.venv/bin/python"
[ -x "$python" ] || python=python3
cd "$root"
exec "$python" -m infra.kafka "$@"
