"""Where benchmarks record their figures: bench/results/<name>.json, with the machine noted."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def record(name: str, figures: dict[str, Any]) -> Path:
    """Write ``figures`` with when and where they were measured; return the file."""
    path = RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "recorded_at": datetime.now(UTC).isoformat(),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        **figures,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
