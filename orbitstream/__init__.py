"""The command line (`orbitstream`) and the demo: the top floor, it drives every package."""
