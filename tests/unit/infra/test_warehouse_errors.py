"""ClickHouse exception text and HTTP status as clickhouse-server gives them (pure)."""

from __future__ import annotations

import pytest

from infra.warehouse.engine import EngineError, server_text
from infra.warehouse.errors import NAMES, status_map


@pytest.mark.parametrize(
    ("chdb_says", "server_says"),
    [
        (  # chdb's wrapping as seen for SET of an unknown setting
            "Code: 115. DB::Exception: Code: 115. DB::Exception: Unknown setting 'x'. (UNKNOWN_SETTING) "
            "(version 26.9.2.1). (UNKNOWN_SETTING)",
            "Code: 115. DB::Exception: Unknown setting 'x'. (UNKNOWN_SETTING) (version 26.9.2.1)",
        ),
        (  # ... and for an unknown output format: three times
            "Code: 73. DB::Exception: Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format F. "
            "(UNKNOWN_FORMAT) (version 26.9.2.1). (UNKNOWN_FORMAT) (version 26.9.2.1). (UNKNOWN_FORMAT)",
            "Code: 73. DB::Exception: Unknown format F. (UNKNOWN_FORMAT) (version 26.9.2.1)",
        ),
        ("Code: 62. DB::Exception: Empty query.", "Code: 62. DB::Exception: Empty query."),
        ("not a ClickHouse error", "not a ClickHouse error"),
    ],
)
def test_chdbs_wrapping_is_removed(chdb_says: str, server_says: str) -> None:
    assert server_text(chdb_says) == server_says
    assert str(EngineError(chdb_says)) == server_says


def test_status_groups_follow_clickhouse_server_by_error_name() -> None:
    codes = {"UNKNOWN_SETTING": 115, "SYNTAX_ERROR": 62, "AUTHENTICATION_FAILED": 516, "LOGICAL_ERROR": 49}
    assert status_map(codes) == {115: 404, 62: 400, 516: 403}  # LOGICAL_ERROR: 500, the default
    assert {"UNKNOWN_TABLE", "TIMEOUT_EXCEEDED", "NOT_IMPLEMENTED", "REQUIRED_PASSWORD"} <= NAMES
