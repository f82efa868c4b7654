"""The fault verifier's parts: fault plan, services, feeder, runs, warehouse snapshots, comparison."""
