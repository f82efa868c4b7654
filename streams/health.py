"""Per-agent liveness and counters, served on the worker's web port at /health.

faust-streaming stops an agent silently on an uncaught exception (faust-streaming#175):
agents here catch per event by policy, and anything that still escapes marks the agent
dead on this board, so a dead agent is visible rather than quiet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


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
    outputs: Counter[str] = field(default_factory=Counter)

    def agent(self, name: str) -> AgentHealth:
        return self.agents.setdefault(name, AgentHealth())

    def died(self, name: str, error: BaseException) -> None:
        state = self.agent(name)
        state.alive = False
        state.last_error = f"{type(error).__name__}: {error}"

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
