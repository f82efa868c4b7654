"""Which faults a run injects and where in the stream: seeded, so a run can be repeated.

A fault is placed at a point in the workload (after N events were handed to the
producer); faults run one after another, each bounded, and every one is logged with the
time it started, how long it took and, for a killed process, how long until its group
had given its partitions to a live member again (``resume_s``).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    WORKER_KILL = "worker-kill"  # SIGKILL the stream worker, restart it
    SINK_KILL = "sink-kill"  # SIGKILL the sink, restart it
    WAREHOUSE_DOWN = "warehouse-down"  # stop the warehouse, start it again after outage_s
    BROKER_RESTART = "broker-restart"  # stop the broker; the producer is started while it is down
    WORKER_JOIN_LEAVE = "worker-join-leave"  # a second worker joins, works a while, leaves


# What `make faults` injects (the long run): three worker kills, two sink kills, one of each other.
FULL_PLAN: dict[FaultKind, int] = {
    FaultKind.WORKER_KILL: 3,
    FaultKind.SINK_KILL: 2,
    FaultKind.WAREHOUSE_DOWN: 1,
    FaultKind.BROKER_RESTART: 1,
    FaultKind.WORKER_JOIN_LEAVE: 1,
}


@dataclass(frozen=True)
class PlannedFault:
    kind: FaultKind
    at_event: int  # injected once this many events were handed to the producer


@dataclass
class FaultRecord:
    """What happened when a fault was injected (seconds since the run's production began)."""

    kind: FaultKind
    at_event: int
    at: str = ""  # UTC wall-clock time it was injected (ISO 8601), to match with process logs
    started_s: float = 0.0
    duration_s: float = 0.0
    resume_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


def plan_faults(counts: dict[FaultKind, int], events: int, seed: int) -> list[PlannedFault]:
    """Faults at seeded random points between 5% and 85% of the stream, in seeded order.

    Points are at least 3% of the stream apart, so each fault starts under load of its own.
    """
    rng = random.Random(seed)  # noqa: S311 - fault placement, seeded for repeatability
    kinds = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    if not kinds:
        return []
    low, high = int(events * 0.05), int(events * 0.85)
    gap = max(1, int(events * 0.03))
    for _ in range(1000):
        points = sorted(rng.randint(low, high) for _ in kinds)
        if all(b - a >= gap for a, b in zip(points, points[1:], strict=False)):
            break
    else:  # too many faults for the stream: spread them evenly
        step = (high - low) // max(len(kinds), 1)
        points = [low + i * step for i in range(len(kinds))]
    return [PlannedFault(kind, at) for kind, at in zip(kinds, points, strict=True)]


def parse_selection(spec: str) -> dict[FaultKind, int]:
    """``"worker-kill=3,sink-kill"`` -> counts; ``all`` is the full plan; ``none`` is a clean run."""
    if spec.strip() == "all":
        return dict(FULL_PLAN)
    counts: dict[FaultKind, int] = {}
    if spec.strip() in ("", "none"):
        return counts
    for part in spec.split(","):
        name, _, n = part.strip().partition("=")
        try:
            kind = FaultKind(name)
        except ValueError:
            known = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"unknown fault {name!r} (known: {known})") from None
        counts[kind] = counts.get(kind, 0) + (int(n) if n else 1)
    return counts
