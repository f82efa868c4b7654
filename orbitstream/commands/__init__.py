"""One click group per area, mounted on `orbitstream` by orbitstream/cli.py."""
