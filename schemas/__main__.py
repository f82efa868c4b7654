"""``python -m schemas check|release``."""

from schemas.cli import schemas

schemas()
