"""``python -m orbitstream``: the same as the ``orbitstream`` command."""

from orbitstream.cli import main

main()
