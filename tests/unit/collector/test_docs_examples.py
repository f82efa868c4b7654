"""docs/collector.md shows a valid example of every event type of the contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

from producers.collector.events import MODELS, check_event

DOC = Path(__file__).resolve().parents[3] / "docs" / "collector.md"


def test_every_event_type_has_one_example_and_each_validates() -> None:
    section = DOC.read_text().split("### An example per event type", 1)[1].split("\n## ", 1)[0]
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", section, re.S)]
    assert sorted(e["type"] for e in examples) == sorted(MODELS)
    for example in examples:
        result = check_event(example, "docs")
        assert not isinstance(result, list), (example["type"], result)
