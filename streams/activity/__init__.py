"""The per-user join: state, the step function, and its agents."""
