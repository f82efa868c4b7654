"""``python -m sinks run|migrate|replay-dead-letters``."""

from sinks.cli import main

main()
