"""Stream workers (faust-streaming): identity resolution, the per-user join, scoring."""
