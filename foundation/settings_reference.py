"""Every ``ORBITSTREAM_*`` variable, from the settings model: the names, the reference page.

``docs/configuration.md`` is rendered from here (``orbitstream config docs``; a test keeps
it current), and a misspelt variable is answered with the nearest valid names from the
same list, so the documentation, the check and the model cannot drift apart.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from foundation.exceptions import OrbitstreamError

ENV_PREFIX = "ORBITSTREAM_"
NESTED_DELIMITER = "__"


class UnknownSettingError(OrbitstreamError, ValueError):
    """An ``ORBITSTREAM_*`` environment variable names no setting."""


DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    default: str
    description: str
    section: bool  # a whole section given as one JSON object


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is dict:
        return f"JSON object {_type_name(args[0])} → {_type_name(args[1])}"
    if origin is tuple:
        return "JSON array [" + ", ".join(_type_name(a) for a in args) + "]"
    if annotation is SecretStr:
        return "secret string"
    if annotation is Path:
        return "path"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    return getattr(annotation, "__name__", str(annotation))


def _bounds(info: FieldInfo) -> str:
    """``≥ 1``-style constraints of a field (pydantic keeps them as annotated_types metadata)."""
    signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    return "".join(
        f" {sign} {getattr(item, attr)}"
        for item in info.metadata
        for attr, sign in signs.items()
        if getattr(item, attr, None) is not None
    )


def json_ready(value: Any) -> Any:
    """JSON-ready form of a settings value, secrets revealed (a child process's environment,
    the reference's defaults)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return json_ready(value.model_dump())
    if isinstance(value, Mapping):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "empty" if not value.get_secret_value() else "(secret)"
    if isinstance(value, str | Path | Enum):
        text = str(value.value if isinstance(value, Enum) else value)
        return f"`{text}`" if text else "empty"
    return f"`{json.dumps(json_ready(value))}`"


def variables(model: type[BaseModel], prefix: str = ENV_PREFIX) -> Iterator[Variable]:
    """Every variable in model order; a section first as one JSON variable, then its fields."""
    for name, info in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        annotation = info.annotation
        if _is_section(annotation):
            assert isinstance(annotation, type)
            doc = (annotation.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ").replace("``", "`")
            yield Variable(env, "JSON object", "(the defaults below)", doc, section=True)
            yield from variables(annotation, env + NESTED_DELIMITER)
        else:
            description = (info.description or "").replace("\n", " ")
            yield Variable(env, _type_name(annotation) + _bounds(info), _default(info), description, False)


def variable_names(model: type[BaseModel]) -> list[str]:
    return [v.name for v in variables(model)]


def check_environment(environ: Mapping[str, str], model: type[BaseModel]) -> None:
    """Refuse any ``ORBITSTREAM_*`` variable that names no setting, suggesting the nearest ones."""
    known = variable_names(model)
    for key in sorted(environ):
        if not key.upper().startswith(ENV_PREFIX) or key.upper() in known:
            continue
        # Compared without the shared prefix, which would make every name look similar.
        tails = {name.removeprefix(ENV_PREFIX): name for name in known}
        near = [
            tails[t]
            for t in difflib.get_close_matches(key.upper().removeprefix(ENV_PREFIX), tails, n=3, cutoff=0.6)
        ]
        hint = f"did you mean {' or '.join(near)}?" if near else "no setting has a similar name."
        raise UnknownSettingError(f"{key} is not an orbitstream setting; {hint} See docs/configuration.md.")


_INTRO = """\
# Configuration

<!-- Generated from foundation/settings.py by `orbitstream config docs`; a test fails when
     this file is not current. Edit the settings model, then regenerate. -->

All configuration is read from environment variables once, at the entry point (CLI,
worker, sink), into one typed settings object (`foundation/settings.py`). Names start with
`ORBITSTREAM_` and nest with `__`: `ORBITSTREAM_KAFKA__BOOTSTRAP_SERVERS=10.0.0.5:9092`.
Names are case-insensitive. A whole section can be given as one JSON object
(`ORBITSTREAM_TOPICS='{"prefix": "staging-", "partitions": 8}'`); settings typed as JSON
objects or arrays take JSON (`ORBITSTREAM_STREAMS__SCORING__PRODUCT_WEIGHTS='{"FeatureUsed":
2.0}'`) and replace the whole default, so list every key you want.

A variable that starts with `ORBITSTREAM_` but names no setting stops every command
(`--help` included) with one line naming it and the nearest valid names, and exit code 2:
a misspelt setting is never silently ignored. A value of the wrong type is refused naming
the variable.
"""


def render_markdown(model: type[BaseModel]) -> str:
    lines = [_INTRO]
    in_table = False
    for var in variables(model):
        if var.section:
            depth = var.name.count(NESTED_DELIMITER)
            lines += ["", f"{'#' * (depth + 2)} `{var.name}`", "", var.description]
            in_table = False
            continue
        if not in_table:
            lines += ["", "| variable | type | default | description |", "| --- | --- | --- | --- |"]
            in_table = True
        description = var.description.replace("|", "\\|")
        lines.append(f"| `{var.name}` | {var.type} | {var.default} | {description} |")
    return "\n".join(lines) + "\n"
