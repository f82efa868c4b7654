"""Mentor matching by error class."""
