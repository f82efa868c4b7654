"""Who a ClickHouse HTTP request authenticates as, checked the way clickhouse-server does.

clickhouse-server (src/Server/HTTP/authenticateUserByHTTP.cpp) takes the user and
password from exactly one of: the ``X-ClickHouse-User`` / ``X-ClickHouse-Key`` headers,
an ``Authorization: Basic`` header, or the ``user`` / ``password`` URL parameters (user
``default`` and no password when none is given). Mixing two of them is refused with
AUTHENTICATION_FAILED. A wrong user or password is AUTHENTICATION_FAILED (516, answered
403 Forbidden); a request that sent no credentials at all, where a password is needed, is
REQUIRED_PASSWORD (194, answered 401 with ``WWW-Authenticate: Basic``), as servers since
24.11 answer it.

The embedded warehouse has one user, configured at start. Passwords are compared in
constant time and never appear in an answer or a log line.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from foundation.exceptions import OrbitstreamError

AUTHENTICATION_FAILED = 516
REQUIRED_PASSWORD = 194
REALM = 'Basic realm="ClickHouse server HTTP API"'
# Where the server process reads its user's password (clickhouse-server's image uses the name).
PASSWORD_ENV = "CLICKHOUSE_PASSWORD"  # noqa: S105 - a variable name, not a password


class AuthError(OrbitstreamError):
    """A refused request; ``str()`` is clickhouse-server's text for it."""

    def __init__(self, code: int, message: str) -> None:
        name = "REQUIRED_PASSWORD" if code == REQUIRED_PASSWORD else "AUTHENTICATION_FAILED"
        super().__init__(f"Code: {code}. DB::Exception: {message}. ({name})")
        self.code = code


def _mixed(first: str, second: str) -> AuthError:
    return AuthError(
        AUTHENTICATION_FAILED,
        f"Invalid authentication: it is not allowed to use {first} and {second} simultaneously",
    )


def _not_empty(user: str, method: str) -> str:
    if not user:
        raise AuthError(AUTHENTICATION_FAILED, f"Got an empty user name from {method}")
    return user


def _header(headers: Mapping[str, str], name: str) -> str:
    # HTTP header names are case-insensitive; http.server keeps what the client sent.
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    given: bool  # False: nothing was sent, the defaults apply


def credentials(headers: Mapping[str, str], params: Mapping[str, str]) -> Credentials:
    """The credentials a request carries, or :class:`AuthError` if it mixes methods."""
    user, key = _header(headers, "X-ClickHouse-User"), _header(headers, "X-ClickHouse-Key")
    authorization = _header(headers, "Authorization")
    in_params = "user" in params or "password" in params
    if user or key:
        if authorization:
            raise _mixed("X-ClickHouse HTTP headers", "Authorization HTTP header")
        if in_params:
            raise _mixed("X-ClickHouse HTTP headers", "authentication via parameters")
        return Credentials(_not_empty(user, "X-ClickHouse HTTP headers"), key, True)
    if authorization:
        if in_params:
            raise _mixed("Authorization HTTP header", "authentication via parameters")
        scheme, _, info = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise AuthError(
                AUTHENTICATION_FAILED,
                f"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported",
            )
        try:
            decoded = base64.b64decode(info.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError(
                AUTHENTICATION_FAILED, "Invalid authentication: malformed Basic credentials"
            ) from None
        name, _, password = decoded.partition(":")
        return Credentials(_not_empty(name, "Authorization HTTP header"), password, True)
    name = params.get("user", "default")
    return Credentials(
        _not_empty(name, "authentication via parameters"), params.get("password", ""), in_params
    )


@dataclass(frozen=True)
class UserCheck:
    """The embedded server's one user."""

    user: str = "default"
    password: str = ""

    def authenticate(self, headers: Mapping[str, str], params: Mapping[str, str]) -> str:
        """The authenticated user name, or :class:`AuthError` as clickhouse-server answers it."""
        given = credentials(headers, params)
        user_ok = hmac.compare_digest(given.user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(given.password.encode(), self.password.encode())
        if user_ok and password_ok:
            return given.user
        message = (
            f"{given.user}: Authentication failed: password is incorrect, or there is no user with such name"
        )
        raise AuthError(AUTHENTICATION_FAILED if given.given else REQUIRED_PASSWORD, message)
