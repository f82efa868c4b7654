"""Identity: link table, merge guards, resolution of events to canonical ids."""

from streams.identity import agents, resolution

__all__ = ["agents", "resolution"]
