"""Every schema of the contract, parsed once: current versions and released ones.

Released versions live in ``schemas/released/<area>/<name>/v<N>.avsc``; the serde reads
data written with any of them (resolved against the current schema), and the evolution
check holds the current schema to each of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.exceptions import SchemaError

SCHEMA_ROOT = Path(__file__).parent
AREAS = ("product", "community", "identity", "outputs")


def full_name(schema: dict[str, Any]) -> str:
    return f"{schema['namespace']}.{schema['name']}"


def crc64_fingerprint(schema: Any) -> bytes:
    """CRC-64-AVRO of the Parsing Canonical Form, little-endian as single-object encoding puts it.

    fastavro's hex string already lists the fingerprint's bytes low byte first (for the
    schema ``"null"``: ``8a8f25cce724dd63``, the spec's example), so it is taken as is.
    """
    canonical = to_parsing_canonical_form(parse_schema(schema, _force=True))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


@dataclass(frozen=True)
class SchemaVersion:
    name: str
    version: int | None  # None: the current schema in schemas/avro
    raw: dict[str, Any]
    parsed: Any
    fingerprint: bytes
    path: Path


@dataclass
class SchemaCatalog:
    current: dict[str, SchemaVersion] = field(default_factory=dict)
    released: dict[str, list[SchemaVersion]] = field(default_factory=dict)
    _by_fingerprint: dict[bytes, SchemaVersion] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path = SCHEMA_ROOT) -> SchemaCatalog:
        catalog = cls()
        for area in AREAS:
            for path in sorted((root / "avro" / area).glob("*.avsc")):
                catalog._add(cls._read(path, None))
            for path in sorted((root / "released" / area).glob("*/v*.avsc")):
                catalog._add(cls._read(path, int(path.stem.removeprefix("v"))))
        if not catalog.current:
            raise SchemaError(f"no schemas under {root / 'avro'}")
        return catalog

    @staticmethod
    def _read(path: Path, version: int | None) -> SchemaVersion:
        try:
            raw = json.loads(path.read_text())
            parsed = parse_schema(raw, _force=True)
        except Exception as exc:
            raise SchemaError(f"{path}: {exc}") from exc
        return SchemaVersion(full_name(raw), version, raw, parsed, crc64_fingerprint(raw), path)

    def _add(self, entry: SchemaVersion) -> None:
        if entry.version is None:
            self.current[entry.name] = entry
        else:
            self.released.setdefault(entry.name, []).append(entry)
            self.released[entry.name].sort(key=lambda v: v.version or 0)
        # The current schema wins a fingerprint it shares with an identical released one.
        if entry.version is None or entry.fingerprint not in self._by_fingerprint:
            self._by_fingerprint[entry.fingerprint] = entry

    def names(self) -> list[str]:
        return sorted(self.current)

    def schema(self, name: str) -> SchemaVersion:
        try:
            return self.current[name]
        except KeyError:
            raise SchemaError(f"no schema named {name!r} in the catalog") from None

    def parsed(self, name: str) -> Any:
        return self.schema(name).parsed

    def raw(self, name: str) -> dict[str, Any]:
        return self.schema(name).raw

    def fingerprint(self, name: str) -> bytes:
        return self.schema(name).fingerprint

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        return self._by_fingerprint.get(fp)
