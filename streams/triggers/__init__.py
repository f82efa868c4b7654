"""Churn-risk triggers: pure functions of a user's state and event time."""
