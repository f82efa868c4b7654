"""Generate the pydantic models from the .avsc files: ``python -m schemas.codegen``.

The .avsc files are the single source of truth. Models are generated rather than
hand-written so they cannot drift, and generated into a checked-in module rather than
built at import time so that type checkers and readers see real classes. A unit test
regenerates and compares, so an edited schema without regenerated models fails CI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

AVRO_ROOT = Path(__file__).parent / "avro"
TARGET = Path(__file__).parent / "models" / "generated.py"
ENVELOPE = ("event_id", "occurred_at", "sent_at", "source", "identity", "canonical_id")
AREAS = ("common", "product", "community", "identity", "outputs")
PRIMITIVES = {
    "string": "str",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "boolean": "bool",
    "bytes": "bytes",
    "null": "None",
}


class _Generator:
    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.done: set[str] = set()
        self.events: list[str] = []
        self.outputs: list[str] = []

    def type_of(self, schema: Any, namespace: str) -> str:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return PRIMITIVES[schema]
            return schema.rsplit(".", 1)[-1]  # a named type defined earlier
        if isinstance(schema, list):
            members = [self.type_of(s, namespace) for s in schema]
            return " | ".join(m for m in members if m != "None") + (" | None" if "None" in members else "")
        kind = schema["type"]
        if kind == "record":
            return self.record(schema, namespace)
        if kind == "enum":
            return self.enum(schema, namespace)
        if kind == "array":
            return f"list[{self.type_of(schema['items'], namespace)}]"
        if kind == "map":
            return f"dict[str, {self.type_of(schema['values'], namespace)}]"
        if schema.get("logicalType") == "timestamp-millis":
            return "UtcMillis"
        return self.type_of(kind, namespace)

    def enum(self, schema: dict[str, Any], namespace: str) -> str:
        name = schema["name"]
        if name == "IdentityProvider":
            return name  # schemas.identity owns it: identity rules and models share one enum
        if name not in self.done:
            self.done.add(name)
            lines = [
                f"class {name}(StrEnum):",
                f'    """Avro enum {schema.get("namespace", namespace)}.{name}."""',
                "",
            ]
            lines += [f'    {symbol} = "{symbol}"' for symbol in schema["symbols"]]
            self.blocks.append("\n".join(lines))
        return name

    def record(self, schema: dict[str, Any], namespace: str, base: str = "AvroModel") -> str:
        name = schema["name"]
        ns = schema.get("namespace", namespace)
        if name in self.done:
            return name
        self.done.add(name)
        fields = schema["fields"]
        is_event = [f["name"] for f in fields[: len(ENVELOPE)]] == list(ENVELOPE)
        if is_event and name != "Event":
            self.ensure_event_base(fields[: len(ENVELOPE)], ns)
            base, fields = "Event", fields[len(ENVELOPE) :]
            self.events.append(name)
        lines = [
            f"class {name}({base}):",
            f'    """{schema.get("doc", "Avro record " + name)}"""',
            "",
            f'    avro_name: ClassVar[str] = "{ns}.{name}"',
        ]
        for f in fields:
            lines.append(self.field(f, ns))
        self.blocks.append("\n".join(lines))
        return name

    def ensure_event_base(self, envelope: list[dict[str, Any]], ns: str) -> None:
        if "Event" in self.done:
            return
        self.done.add("Event")
        lines = [
            "class Event(AvroModel):",
            '    """Envelope shared by product, community and identity-link events."""',
            "",
        ]
        lines += [self.field(f, ns) for f in envelope]
        self.blocks.append("\n".join(lines))

    def field(self, f: dict[str, Any], ns: str) -> str:
        annotation = self.type_of(f["type"], ns)
        if "default" not in f:
            return f"    {f['name']}: {annotation}"
        default = f["default"]
        if isinstance(default, list):
            return f"    {f['name']}: {annotation} = Field(default_factory=list)"
        if isinstance(default, dict):
            return f"    {f['name']}: {annotation} = Field(default_factory=dict)"
        if isinstance(default, str) and annotation not in ("str", "str | None"):
            return f"    {f['name']}: {annotation} = {annotation}.{default}"
        return f"    {f['name']}: {annotation} = {default!r}"

    def run(self, schemas: list[dict[str, Any]]) -> str:
        for schema in schemas:
            self.record(schema, schema["namespace"])
            if schema["namespace"] == "orbitstream.outputs":
                self.outputs.append(schema["name"])
        head = [
            "# Generated by `python -m schemas.codegen` from schemas/avro/**/*.avsc. Do not edit.",
            '"""Pydantic models of every Avro record in the contract."""',
            "",
            "from __future__ import annotations",
            "",
            "from enum import StrEnum",
            "from typing import ClassVar",
            "",
            "from pydantic import Field",
            "",
            "from schemas.identity import IdentityProvider",
            "from schemas.models.base import AvroModel, UtcMillis",
        ]
        names = ["IdentityProvider", *(b.split("(", 1)[0].removeprefix("class ") for b in self.blocks)]
        names += ["EVENT_MODELS", "OUTPUT_MODELS"]
        head += ["", "__all__ = [" + ", ".join(f'"{n}"' for n in sorted(names)) + "]"]
        tail = [
            f"EVENT_MODELS: tuple[type[Event], ...] = ({', '.join(self.events)},)",
            f"OUTPUT_MODELS: tuple[type[AvroModel], ...] = ({', '.join(dict.fromkeys(self.outputs))},)",
        ]
        return "\n".join(head) + "\n\n\n" + "\n\n\n".join(self.blocks) + "\n\n\n" + "\n".join(tail) + "\n"


def load_current(root: Path = AVRO_ROOT) -> list[dict[str, Any]]:
    """Every current schema, areas in dependency-friendly order, files sorted within an area."""
    return [json.loads(path.read_text()) for area in AREAS for path in sorted((root / area).glob("*.avsc"))]


def render(root: Path = AVRO_ROOT) -> str:
    return _Generator().run(load_current(root))


def main() -> None:
    TARGET.write_text(render())
    print(f"wrote {TARGET}", file=sys.stderr)


if __name__ == "__main__":
    main()
