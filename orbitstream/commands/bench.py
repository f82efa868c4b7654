"""``orbitstream bench NAME [OPTIONS]``: the benchmarks in bench/, each recording bench/results/NAME.json.

Each benchmark parses its own options (``orbitstream bench NAME --help``); they are passed
through as arguments, never through ``sys.argv``.
"""

from __future__ import annotations

import importlib
import sys

import click

# command name -> the bench module whose main(argv) runs it
BENCHMARKS = {
    "producer-throughput": "bench.producer_throughput",
    "stream-latency": "bench.stream_latency",
    "sink-throughput": "bench.sink_throughput",
    "metrics-overhead": "bench.metrics_overhead",
    "collector-throughput": "bench.collector_throughput",
    "account-health-cost": "bench.account_health_cost",
    "faults": "bench.faults",
}
_PASSTHROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


@click.group()
def bench() -> None:
    """Benchmarks (several minutes each; the figures go to bench/results/)."""


def _command(name: str, module: str) -> click.Command:
    @click.pass_context
    def run(ctx: click.Context) -> None:
        code = importlib.import_module(module).main(ctx.args)
        sys.exit(code if isinstance(code, int) else 0)

    path = module.replace(".", "/") + ".py"
    return click.Command(
        name,
        callback=run,
        context_settings=_PASSTHROUGH,
        help=f"Run {path} (options: `--help` after the name).",
    )


for _name, _module in BENCHMARKS.items():
    bench.add_command(_command(_name, _module))
