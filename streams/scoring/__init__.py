"""Engagement score, Orbit level and reach: pure functions of event time."""
