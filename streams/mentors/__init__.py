"""Mentor matching by error class."""

from streams.mentors import agents, index

__all__ = ["agents", "index"]
