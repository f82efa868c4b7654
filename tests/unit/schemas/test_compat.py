"""Schema evolution: BACKWARD_TRANSITIVE by Avro resolution, on real data and on the tree."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from rich.console import Console

from orbitstream.commands.schemas import print_problems
from orbitstream.commands.schemas import schemas as schemas_cli
from schemas.catalog import SCHEMA_ROOT
from schemas.compat import check_pair, check_tree, release

FEATURE_USED = json.loads((SCHEMA_ROOT / "avro" / "product" / "feature_used.avsc").read_text())


def _payload(schema: dict) -> dict:
    return next(f for f in schema["fields"] if f["name"] == "payload")["type"]


def _v1_record() -> dict:
    return {
        "event_id": "e-1",
        "occurred_at": 1_767_225_600_000,
        "sent_at": None,
        "source": "web",
        "identity": {"provider": "product", "external_id": "u1"},
        "canonical_id": None,
        "payload": {"feature": "exports", "is_key_feature": True},
    }


def test_the_tree_is_compatible_with_every_released_version() -> None:
    pairs, problems = check_tree()
    assert problems == []
    # Each current schema against each of its released versions (NOT_RELEASED if none).
    assert pairs == len(list((SCHEMA_ROOT / "released").rglob("v*.avsc")))


def test_v1_data_is_read_by_a_compatible_v2_reader_with_the_new_fields_default() -> None:
    v2 = copy.deepcopy(FEATURE_USED)
    _payload(v2)["fields"].append({"name": "plan_tier", "type": "string", "default": "free", "doc": "new"})
    _payload(v2)["fields"].append({"name": "seats", "type": ["null", "int"], "default": None, "doc": "new"})
    assert check_pair(v2, FEATURE_USED, version=1) == []
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(FEATURE_USED, _force=True), _v1_record())
    buf.seek(0)
    read = schemaless_reader(buf, parse_schema(FEATURE_USED, _force=True), parse_schema(v2, _force=True))
    assert read["payload"] == {
        "feature": "exports",
        "is_key_feature": True,
        "plan_tier": "free",
        "seats": None,
    }
    assert read["event_id"] == "e-1"


def test_field_added_without_default_breaks_naming_field_and_rule() -> None:
    v2 = copy.deepcopy(FEATURE_USED)
    _payload(v2)["fields"].append({"name": "plan_tier", "type": "string"})
    [problem] = check_pair(v2, FEATURE_USED, version=1)
    assert (problem.path, problem.rule) == ("payload.plan_tier", "READER_FIELD_MISSING_DEFAULT_VALUE")
    assert str(problem).startswith("orbitstream.product.FeatureUsed v1 -> current: payload.plan_tier")


def test_type_change_breaks_unless_it_is_a_promotion() -> None:
    v2 = copy.deepcopy(FEATURE_USED)
    next(f for f in _payload(v2)["fields"] if f["name"] == "feature")["type"] = "int"
    [problem] = check_pair(v2, FEATURE_USED)
    assert (problem.path, problem.rule) == ("payload.feature", "TYPE_MISMATCH")
    assert "writer string cannot be read as int" in problem.detail
    api = json.loads((SCHEMA_ROOT / "avro" / "product" / "api_call.avsc").read_text())
    wider = copy.deepcopy(api)
    next(f for f in _payload(wider)["fields"] if f["name"] == "status_code")["type"] = "long"  # int -> long
    assert check_pair(wider, api) == []
    assert [p.rule for p in check_pair(api, wider)] == ["TYPE_MISMATCH"]  # long -> int narrows


def test_enum_symbol_removed_breaks_only_without_a_default() -> None:
    plan = json.loads((SCHEMA_ROOT / "avro" / "product" / "plan_changed.avsc").read_text())
    v2 = copy.deepcopy(plan)
    change = next(f for f in _payload(v2)["fields"] if f["name"] == "change")["type"]
    change["symbols"].remove("RENEW")
    assert check_pair(v2, plan) == []  # the enum has a default symbol: RENEW reads as OTHER
    del change["default"]
    [problem] = check_pair(v2, plan)
    assert (problem.path, problem.rule) == ("payload.change", "MISSING_ENUM_SYMBOLS")
    assert "RENEW" in problem.detail


def test_optional_field_made_required_breaks_on_its_null_branch() -> None:
    v2 = copy.deepcopy(FEATURE_USED)
    next(f for f in v2["fields"] if f["name"] == "canonical_id")["type"] = "string"
    rules = {(p.path, p.rule) for p in check_pair(v2, FEATURE_USED)}
    assert rules == {("canonical_id", "TYPE_MISMATCH")}


def test_check_is_transitive_and_release_adds_versions(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMA_ROOT / "avro", root / "avro")
    shutil.copytree(SCHEMA_ROOT / "released", root / "released")
    path = root / "avro" / "product" / "feature_used.avsc"
    v2 = copy.deepcopy(FEATURE_USED)
    _payload(v2)["fields"].append({"name": "plan_tier", "type": "string", "default": "free"})
    path.write_text(json.dumps(v2))
    assert check_tree(root)[1] == []
    latest = max(int(p.stem[1:]) for p in (root / "released" / "product" / "feature_used").glob("v*.avsc"))
    assert [p.name for p in release(root)] == [f"v{latest + 1}.avsc"]
    # The next drops the default: compatible with no version that lacked the field, so it
    # fails against each of them even though the latest had the field (transitive).
    v3 = copy.deepcopy(v2)
    del _payload(v3)["fields"][-1]["default"]
    path.write_text(json.dumps(v3))
    problems = check_tree(root)[1]
    assert [(p.version, p.path, p.rule) for p in problems] == [
        (n, "payload.plan_tier", "READER_FIELD_MISSING_DEFAULT_VALUE") for n in range(1, latest + 1)
    ]


def test_cli_check_passes_on_the_tree() -> None:
    result = CliRunner().invoke(schemas_cli, ["check"])
    assert result.exit_code == 0, result.output
    assert "compatible" in result.output


def _tree_with_a_new_required_field(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMA_ROOT / "avro", root / "avro")
    shutil.copytree(SCHEMA_ROOT / "released", root / "released")
    path = root / "avro" / "community" / "reply_created.avsc"
    schema = json.loads(path.read_text())
    _payload(schema)["fields"].append({"name": "bar_probe_required", "type": "string"})
    path.write_text(json.dumps(schema))
    return root


def test_check_outside_a_terminal_prints_every_name_in_full(tmp_path: Path) -> None:
    # As CI runs it: output to a pipe, no terminal width to fit.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    root = _tree_with_a_new_required_field(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "orbitstream", "schemas", "check", "--root", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    problem = (
        "orbitstream.community.ReplyCreated v1 -> current: payload.bar_probe_required: "
        "READER_FIELD_MISSING_DEFAULT_VALUE: "
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(problem)]
    assert len(lines) == 1, proc.stdout
    assert "…" not in proc.stdout


def test_check_on_a_narrow_terminal_wraps_names_instead_of_cutting_them(tmp_path: Path) -> None:
    problems = check_tree(_tree_with_a_new_required_field(tmp_path))[1]
    assert [p.version for p in problems] == [1, 2]  # the field is missing against each release
    out = io.StringIO()
    # One problem: one row, whose wrapped lines are the cells read below.
    print_problems(Console(file=out, force_terminal=True, width=50, color_system=None), problems[:1])
    body = out.getvalue().split("┩\n", 1)[1].splitlines()[:-1]  # the one row's lines
    cells = [line.split("│")[1:-1] for line in body]
    columns = ["".join(cell.strip() for cell in column) for column in zip(*cells, strict=True)]
    assert columns[0] == "orbitstream.community.ReplyCreated"
    assert columns[2] == "payload.bar_probe_required"
    assert columns[3] == "READER_FIELD_MISSING_DEFAULT_VALUE"
    assert "…" not in out.getvalue()
