"""Packaged analyses over the warehouse: one SQL file each (``sql/``), a typed Python API,
a CLI and a self-contained HTML report. Definitions: docs/analyses.md."""

from analytics.api import Analyses
from analytics.params import Window

__all__ = ["Analyses", "Window"]
