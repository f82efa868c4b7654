"""The foundation: settings, the base error, shared names; imports nothing of the project."""
