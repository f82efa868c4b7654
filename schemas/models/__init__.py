"""Pydantic models of the contract, generated from schemas/avro (see schemas/codegen.py)."""

from schemas.models.base import AvroModel, UtcMillis
from schemas.models.generated import *  # noqa: F403 - the generated module is the API
from schemas.models.generated import EVENT_MODELS, OUTPUT_MODELS, Event

ALL_MODELS: tuple[type[AvroModel], ...] = (*EVENT_MODELS, *OUTPUT_MODELS)
_BY_NAME = {model.avro_name: model for model in ALL_MODELS}


def model_for(avro_name: str) -> type[AvroModel]:
    """The model of a top-level record, by its full Avro name."""
    try:
        return _BY_NAME[avro_name]
    except KeyError:
        raise KeyError(f"no model for Avro record {avro_name!r}") from None


__all__ = ["ALL_MODELS", "EVENT_MODELS", "OUTPUT_MODELS", "AvroModel", "Event", "UtcMillis", "model_for"]
