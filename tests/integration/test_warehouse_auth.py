"""The embedded warehouse with a configured user and password, as clickhouse-server answers.

clickhouse-server's behaviour, which these tests hold the embedded server to
(src/Server/HTTP/authenticateUserByHTTP.cpp, exceptionCodeToHTTPStatus.cpp and its HTTP
handler): wrong credentials are ``Code: 516 ... (AUTHENTICATION_FAILED)`` with HTTP 403
and ``X-ClickHouse-Exception-Code: 516``; no credentials at all where a password is
needed is code 194 REQUIRED_PASSWORD with HTTP 401 and ``WWW-Authenticate: Basic``;
mixing two ways of sending credentials is 516 too.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from infra.warehouse.process import EmbeddedWarehouse

pytestmark = pytest.mark.integration

USER = "analyst"
PASSWORD = "w4rehouse-Secret-77"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedWarehouse]:
    with EmbeddedWarehouse(tmp_path_factory.mktemp("secured"), user=USER, password=PASSWORD) as wh:
        yield wh


def _request(wh: EmbeddedWarehouse, query: str, headers: dict[str, str] | None = None, **params: str):
    url = f"{wh.url}/?{urllib.parse.urlencode({'query': query, **params})}"
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_clickhouse_connect_with_the_configured_user_and_password_runs_queries(secured) -> None:
    client = clickhouse_connect.get_client(
        host=secured.host, port=secured.port, username=USER, password=PASSWORD, compress=False
    )
    assert client.command("SELECT 40 + 2") == 42


def test_clickhouse_connect_with_a_wrong_password_gets_authentication_failed_without_the_password(
    secured,
) -> None:
    with pytest.raises(DatabaseError) as raised:
        clickhouse_connect.get_client(
            host=secured.host, port=secured.port, username=USER, password="not-the-password", compress=False
        )
    text = str(raised.value)
    assert "516" in text and "AUTHENTICATION_FAILED" in text
    assert "not-the-password" not in text and PASSWORD not in text


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        (_basic(USER, "wrong"), {}),
        (_basic("nobody", PASSWORD), {}),
        ({"X-ClickHouse-User": USER, "X-ClickHouse-Key": "wrong"}, {}),
        ({}, {"user": USER, "password": "wrong"}),
        ({}, {"user": USER}),
    ],
    ids=["basic-password", "basic-user", "x-clickhouse-headers", "url-params", "url-user-only"],
)
def test_wrong_credentials_by_any_method_are_516_forbidden(secured, headers, params) -> None:
    status, answer_headers, body = _request(secured, "SELECT 1", headers, **params)
    assert status == 403
    assert answer_headers["X-ClickHouse-Exception-Code"] == "516"
    assert body.startswith("Code: 516. DB::Exception: ")
    assert "Authentication failed: password is incorrect, or there is no user with such name" in body
    assert body.rstrip().endswith("(AUTHENTICATION_FAILED)")
    assert PASSWORD not in body and "wrong" not in body


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        (_basic(USER, PASSWORD), {}),
        ({"X-ClickHouse-User": USER, "X-ClickHouse-Key": PASSWORD}, {}),
        ({}, {"user": USER, "password": PASSWORD}),
    ],
    ids=["basic", "x-clickhouse-headers", "url-params"],
)
def test_right_credentials_by_any_method_run_the_query(secured, headers, params) -> None:
    assert _request(secured, "SELECT 6 * 7", headers, **params)[::2] == (200, "42\n")


def test_no_credentials_at_all_is_required_password_401_with_a_basic_challenge(secured) -> None:
    status, headers, body = _request(secured, "SELECT 1")
    assert status == 401
    assert headers["X-ClickHouse-Exception-Code"] == "194"
    assert headers["WWW-Authenticate"] == 'Basic realm="ClickHouse server HTTP API"'
    assert body.startswith("Code: 194. DB::Exception: default: Authentication failed")


def test_credentials_sent_two_ways_at_once_are_refused(secured) -> None:
    status, headers, body = _request(
        secured, "SELECT 1", _basic(USER, PASSWORD), user=USER, password=PASSWORD
    )
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "516")
    assert "not allowed to use Authorization HTTP header and authentication via parameters" in body


def test_ping_needs_no_credentials(secured) -> None:
    with urllib.request.urlopen(f"{secured.url}/ping", timeout=10) as response:  # noqa: S310 - loopback
        assert response.read() == b"Ok.\n"


def test_the_server_listens_on_loopback_only_by_default(secured) -> None:
    # /proc/net/tcp lists listening sockets (state 0A) as hex address:port; 0100007F is 127.0.0.1.
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == secured.port
    ]
    assert listening == [f"0100007F:{secured.port:04X}"]
