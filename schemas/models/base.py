"""Base classes for the generated models: validation in, Avro dicts out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict


def _utc_millis(value: datetime) -> datetime:
    """Aware UTC, truncated to the millisecond: what timestamp-millis can carry."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware (UTC)")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


UtcMillis = Annotated[datetime, AfterValidator(_utc_millis)]


def _to_avro(value: Any) -> Any:
    if isinstance(value, AvroModel):
        return value.to_avro()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_to_avro(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_avro(v) for k, v in value.items()}
    return value


class AvroModel(BaseModel):
    """A pydantic mirror of one Avro record in schemas/avro (generated, never hand-edited)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    avro_name: ClassVar[str]

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it (enums as symbols, nested records as dicts)."""
        return {name: _to_avro(getattr(self, name)) for name in type(self).model_fields}

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Self:
        return cls.model_validate(record)
