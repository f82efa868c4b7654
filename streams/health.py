"""Per-agent liveness and counters, served on the worker's web port at /health and, as
Prometheus metrics, on its metrics port (streams/metrics.py).

faust-streaming stops an agent silently on an uncaught exception (faust-streaming#175):
agents here catch per event by policy, and anything that still escapes marks the agent
dead on this board, so a dead agent is visible rather than quiet.

Everything here is changed on the worker's event loop only (the agents, the resolve
stage's batch handling) and read there too (both pages are served by the loop), so the
counters are plain integers: no lock on the hot path.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Send -> score latency buckets (seconds): the paced runs' p50 sits at tens of
# milliseconds, a backlog's at seconds to minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass
class LatencyTally:
    """A histogram's counts kept as plain numbers (a prometheus_client Histogram.observe
    costs several microseconds under its lock; this costs one bisect). ``counts[i]``
    holds the observations in bucket i (not cumulative); the last one is above every bound."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass
class AgentHealth:
    processed: int = 0
    dead_lettered: int = 0
    alive: bool = True
    last_error: str | None = None


@dataclass
class Health:
    """Owned by one app instance; agents report into it."""

    agents: dict[str, AgentHealth] = field(default_factory=dict)
    # Records read per (full) topic name, and records sent per topic name.
    inputs: Counter[str] = field(default_factory=Counter)
    outputs: Counter[str] = field(default_factory=Counter)
    # Dead letters per (stage, error class).
    dead_letter_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Records behind the resolve stage's position, per (topic, partition) it owns.
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    latency: LatencyTally = field(default_factory=LatencyTally)

    def agent(self, name: str) -> AgentHealth:
        return self.agents.setdefault(name, AgentHealth())

    def died(self, name: str, error: BaseException) -> None:
        state = self.agent(name)
        state.alive = False
        state.last_error = f"{type(error).__name__}: {error}"

    def dead_lettered(self, stage: str, error: BaseException, topic: str) -> None:
        """One message of ``stage`` sent to the dead-letter ``topic`` because of ``error``."""
        self.agent(stage).dead_lettered += 1
        self.outputs[topic] += 1
        self.dead_letter_reasons[(stage, type(error).__name__)] += 1

    @property
    def healthy(self) -> bool:
        return all(a.alive for a in self.agents.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "agents": {
                name: {
                    "alive": a.alive,
                    "processed": a.processed,
                    "dead_lettered": a.dead_lettered,
                    "last_error": a.last_error,
                }
                for name, a in sorted(self.agents.items())
            },
            "outputs": dict(self.outputs),
        }
