"""Packaged analyses over the warehouse: one SQL file each (``sql/``), a typed Python API,
a CLI and a self-contained HTML report. Definitions: docs/analyses.md."""

from sinks.analyses.api import Analyses
from sinks.analyses.params import Window

__all__ = ["Analyses", "Window"]
