"""Schema evolution check: BACKWARD_TRANSITIVE, by Avro's schema resolution rules.

The current schema (reader) must read data written with every released version of it
(writers). confluent-kafka's mock:// registry does not check compatibility, so the check
runs here, on the .avsc files, naming the field and the rule that broke. Rule names follow
the Schema Registry's (READER_FIELD_MISSING_DEFAULT_VALUE, TYPE_MISMATCH, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.catalog import AREAS, SCHEMA_ROOT, full_name

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
# writer type -> reader types that can read it (Avro spec, "Schema Resolution").
PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}


@dataclass(frozen=True)
class Problem:
    record: str
    version: int
    path: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.record} v{self.version} -> current: {self.path or '<root>'}: {self.rule}: {self.detail}"
        )


def _named_types(schema: Any, namespace: str, names: dict[str, Any]) -> None:
    """Collect every named type (record, enum, fixed) by full name."""
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, namespace, names)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "enum", "fixed"):
            ns = schema.get("namespace", namespace)
            names[f"{ns}.{schema['name']}" if "." not in schema["name"] else schema["name"]] = schema
            for field in schema.get("fields", []):
                _named_types(field["type"], ns, names)
        elif kind == "array":
            _named_types(schema["items"], namespace, names)
        elif kind == "map":
            _named_types(schema["values"], namespace, names)
        elif isinstance(kind, dict | list):
            _named_types(kind, namespace, names)


class _Checker:
    def __init__(self, record: str, version: int, reader: dict[str, Any], writer: dict[str, Any]) -> None:
        self.record, self.version = record, version
        self.reader_names: dict[str, Any] = {}
        self.writer_names: dict[str, Any] = {}
        _named_types(reader, reader.get("namespace", ""), self.reader_names)
        _named_types(writer, writer.get("namespace", ""), self.writer_names)
        self.problems: list[Problem] = []
        self._seen: set[tuple[int, int]] = set()

    def problem(self, path: str, rule: str, detail: str) -> None:
        self.problems.append(Problem(self.record, self.version, path, rule, detail))

    def _resolve(self, schema: Any, names: dict[str, Any]) -> Any:
        """Named references to their definitions; ``{"type": "long", ...}`` kept as is."""
        if isinstance(schema, str) and schema not in PRIMITIVES:
            for full, definition in names.items():
                if full == schema or full.rsplit(".", 1)[-1] == schema:
                    return definition
        if isinstance(schema, dict) and isinstance(schema.get("type"), dict | list):
            return schema["type"]
        return schema

    @staticmethod
    def _kind(schema: Any) -> str:
        if isinstance(schema, list):
            return "union"
        if isinstance(schema, str):
            return schema
        kind = schema["type"]
        return kind if isinstance(kind, str) else "union"

    def check(self, reader: Any, writer: Any, path: str) -> None:
        reader = self._resolve(reader, self.reader_names)
        writer = self._resolve(writer, self.writer_names)
        key = (id(reader), id(writer))
        if key in self._seen:
            return  # recursive types: each pair once
        self._seen.add(key)
        r_kind, w_kind = self._kind(reader), self._kind(writer)
        if w_kind == "union":
            for branch in writer:
                self.check(reader, branch, path)
            return
        if r_kind == "union":
            if not any(self._matches(branch, writer) for branch in reader):
                self.problem(
                    path, "MISSING_UNION_BRANCH", f"no branch of the reader union reads writer type {w_kind}"
                )
            else:
                branch = next(b for b in reader if self._matches(b, writer))
                self.check(branch, writer, path)
            return
        if r_kind in PRIMITIVES or w_kind in PRIMITIVES:
            if r_kind not in PROMOTIONS.get(w_kind, {w_kind}):
                self.problem(path, "TYPE_MISMATCH", f"writer {w_kind} cannot be read as {r_kind}")
            return
        if r_kind != w_kind:
            self.problem(path, "TYPE_MISMATCH", f"writer {w_kind} cannot be read as {r_kind}")
            return
        getattr(self, f"_{r_kind}")(reader, writer, path)

    def _matches(self, reader_branch: Any, writer: Any) -> bool:
        sub = _Checker(self.record, self.version, {}, {})
        sub.reader_names, sub.writer_names = self.reader_names, self.writer_names
        sub.check(reader_branch, writer, "")
        return not sub.problems

    def _name_check(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> bool:
        aliases = set(reader.get("aliases", []))
        if (
            reader["name"].rsplit(".", 1)[-1] != writer["name"].rsplit(".", 1)[-1]
            and writer["name"] not in aliases
        ):
            self.problem(path, "NAME_MISMATCH", f"writer {writer['name']} vs reader {reader['name']}")
            return False
        return True

    def _record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        if not self._name_check(reader, writer, path):
            return
        written = {f["name"]: f for f in writer["fields"]}
        for field in reader["fields"]:
            name = field["name"]
            where = f"{path}.{name}" if path else name
            source = written.get(name) or next(
                (written[a] for a in field.get("aliases", []) if a in written), None
            )
            if source is not None:
                self.check(field["type"], source["type"], where)
            elif "default" not in field:
                self.problem(where, "READER_FIELD_MISSING_DEFAULT_VALUE", "added without a default")

    def _enum(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        if not self._name_check(reader, writer, path):
            return
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            self.problem(path, "MISSING_ENUM_SYMBOLS", f"reader lacks {missing} and has no default symbol")

    def _fixed(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        if self._name_check(reader, writer, path) and reader["size"] != writer["size"]:
            self.problem(path, "FIXED_SIZE_MISMATCH", f"{writer['size']} bytes vs {reader['size']}")

    def _array(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        self.check(reader["items"], writer["items"], f"{path}[]")

    def _map(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        self.check(reader["values"], writer["values"], f"{path}{{}}")


def check_pair(reader: dict[str, Any], writer: dict[str, Any], version: int = 0) -> list[Problem]:
    """Problems reading data written with ``writer`` using ``reader`` (empty: compatible)."""
    checker = _Checker(full_name(reader), version, reader, writer)
    checker.check(reader, writer, "")
    return checker.problems


def released_versions(root: Path, area: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    folder = root / "released" / area / name
    versions = [(int(p.stem.removeprefix("v")), json.loads(p.read_text())) for p in folder.glob("v*.avsc")]
    return sorted(versions, key=lambda v: v[0])


def check_tree(root: Path = SCHEMA_ROOT) -> tuple[int, list[Problem]]:
    """(pairs checked, problems) for every current schema against all its released versions."""
    pairs, problems = 0, []
    for area in AREAS:
        for path in sorted((root / "avro" / area).glob("*.avsc")):
            current = json.loads(path.read_text())
            versions = released_versions(root, area, path.stem)
            if not versions:
                problems.append(
                    Problem(full_name(current), 0, "", "NOT_RELEASED", f"no released version of {path.name}")
                )
            for version, writer in versions:
                pairs += 1
                problems.extend(check_pair(current, writer, version))
    return pairs, problems


def release(root: Path = SCHEMA_ROOT) -> list[Path]:
    """Save each current schema that differs from its latest released version as a new version."""
    written = []
    for area in AREAS:
        for path in sorted((root / "avro" / area).glob("*.avsc")):
            current = json.loads(path.read_text())
            versions = released_versions(root, area, path.stem)
            if versions and versions[-1][1] == current:
                continue
            target = (
                root / "released" / area / path.stem / f"v{(versions[-1][0] if versions else 0) + 1}.avsc"
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
            written.append(target)
    return written
