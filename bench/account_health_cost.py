"""What account health adds to the join's per-event step (no broker: pure code).

Folds one synthetic workload through ``apply_event`` (the baseline, measured in the same
run) and through ``apply_event`` + ``after_event`` (account facts and health), in
alternating rounds (ABBA, after one warm-up of each) so both see the same machine load;
the fastest round of each stands for it (noise on a shared machine only slows a round
down). Prints and records events/s of each and the cost per event.
Run: ``python -m bench.account_health_cost [--events N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bench.results import record
from bench.stream_latency import workload
from foundation.settings import StreamSettings
from schemas.identity import deterministic_canonical_id
from schemas.models import Event
from streams.accounts.health import after_event
from streams.activity.process import StepResult, apply_event
from streams.state import UserState

EMITTED = datetime(2030, 1, 1, tzinfo=UTC)


def fold(events: list[tuple[str, Event]], cfg: StreamSettings, with_health: bool) -> tuple[float, int]:
    """Seconds to fold every event in, and how many health records came out."""
    states: dict[str, UserState] = {}
    emitted = 0
    step: Callable[[StepResult, Event], StepResult] = lambda r, e: after_event(r, e, cfg, EMITTED)  # noqa: E731
    started = time.perf_counter()
    for canonical_id, event in events:
        result = apply_event(states.get(canonical_id), event, canonical_id, cfg, emitted_at=EMITTED)
        if with_health:
            result = step(result, event)
            emitted += result.health is not None
        states[canonical_id] = result.state
    return time.perf_counter() - started, emitted


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="Workload events folded per round.")
    parser.add_argument("--rounds", type=int, default=4, help="Measured rounds of each.")
    args = parser.parse_args(argv)
    cfg = StreamSettings()
    events = [
        (deterministic_canonical_id(e.identity.provider.value, e.identity.external_id), e)
        for e in sorted(workload(args.events, seed=7), key=lambda e: e.occurred_at)
    ]
    base: list[float] = []
    health: list[float] = []
    emitted = 0
    fold(events, cfg, with_health=False)
    fold(events, cfg, with_health=True)
    for i in range(args.rounds):
        order = (False, True) if i % 2 == 0 else (True, False)
        for with_health in order:
            seconds, count = fold(events, cfg, with_health=with_health)
            if with_health:
                health.append(seconds)
                emitted = count
            else:
                base.append(seconds)
    n = len(events)
    figures: dict[str, Any] = {
        "events": n,
        "rounds": args.rounds,
        "baseline_events_per_s": round(n / min(base)),
        "with_health_events_per_s": round(n / min(health)),
        "added_us_per_event": round((min(health) - min(base)) / n * 1e6, 2),
        "ratio_to_baseline": round(min(base) / min(health), 3),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "health_records": emitted,
        "health_records_per_event": round(emitted / n, 3),
    }
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(f"recorded in {record('account_health_cost', figures)}")


if __name__ == "__main__":
    main()
