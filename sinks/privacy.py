"""Rows made fit for the warehouse when a pseudonymisation key is set (docs/security.md).

Applied by the router to every row, on both the columnar and the model path, just before
it is batched, so no identity value reaches ClickHouse as sent:

- identity columns (``external_id``, ``linked_external_id``, ``counterpart_external_id``)
  hold the pseudonym of the identity (schemas/pseudonyms.py), by the provider beside them;
- an event's ``payload`` JSON has the identities nested in it pseudonymised the same way;
- any other text (a dead letter's error, a sender's canonical id, a tag) has every
  email-shaped part replaced by that email's pseudonym;
- a dead letter's original key and value bytes, which hold whatever the message held,
  are sealed (Fernet, AES-128-CBC + HMAC-SHA256, with a key derived from the
  pseudonymisation key): replay opens them, nobody without the key can read them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from foundation.settings import PrivacySettings
from schemas.pseudonyms import Pseudonymiser
from sinks.columnar import Values
from sinks.rows import COLUMNS

# Identity columns: (provider column, external id column) per table.
_IDENTITY_PAIRS = {
    "events": (("provider", "external_id"), ("counterpart_provider", "counterpart_external_id")),
    "identity_links": (("provider", "external_id"), ("linked_provider", "linked_external_id")),
    "identity_refusals": (("provider", "external_id"), ("linked_provider", "linked_external_id")),
}
_SEALED = {"dead_letters": ("key", "value")}


class DeadLetterSeal:
    """Seals and opens dead letters' original bytes under a key derived from the pseudonymisation key."""

    PREFIX = b"sealed1:"

    def __init__(self, key: bytes) -> None:
        derived = hmac.new(key, b"orbitstream dead-letter seal v1", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, data: bytes | str | None) -> bytes | None:
        if data is None:
            return None
        raw = data.encode() if isinstance(data, str) else data
        return self.PREFIX + self._fernet.encrypt(raw)

    def open(self, data: bytes | None) -> bytes | None:
        """The original bytes; data that was never sealed (stored before a key was set) as is."""
        if data is None or not data.startswith(self.PREFIX):
            return data
        try:
            return self._fernet.decrypt(data[len(self.PREFIX) :])
        except InvalidToken as exc:
            raise ValueError("a sealed dead letter does not open with this pseudonymisation key") from exc


def _payload(pseudonymiser: Pseudonymiser, text: str) -> str:
    if '"external_id"' not in text and "@" not in text:
        return text

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: walk(v) for k, v in value.items()}
            if isinstance(out.get("provider"), str) and isinstance(value.get("external_id"), str):
                out["external_id"] = pseudonymiser.identity(value["provider"], value["external_id"])
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return pseudonymiser.text(value)
        return value

    # The same form columnar.py and rows.py write (sorted keys, compact).
    return json.dumps(walk(json.loads(text)), sort_keys=True, separators=(",", ":"))


class RowPrivacy:
    """``apply(table, values)``: the row as the warehouse may store it."""

    def __init__(self, pseudonymiser: Pseudonymiser, seal: DeadLetterSeal) -> None:
        self.pseudonymiser = pseudonymiser
        self.seal = seal
        self._plans: dict[str, Callable[[Values], Values]] = {t: self._plan(t) for t in COLUMNS}

    @classmethod
    def from_settings(cls, privacy: PrivacySettings) -> RowPrivacy | None:
        pseudonymiser = Pseudonymiser.from_settings(privacy)
        if pseudonymiser is None or privacy.pseudonymisation_key is None:
            return None
        return cls(pseudonymiser, DeadLetterSeal(privacy.pseudonymisation_key.get_secret_value().encode()))

    def apply(self, table: str, values: Values) -> Values:
        plan = self._plans.get(table)
        return values if plan is None else plan(values)

    def _plan(self, table: str) -> Callable[[Values], Values]:
        index = {name: i for i, name in enumerate(COLUMNS[table][:-1])}
        pairs = [(index[p], index[e]) for p, e in _IDENTITY_PAIRS.get(table, ())]
        sealed = {index[name] for name in _SEALED.get(table, ())}
        identity_columns = {e for _, e in pairs}
        payload = index.get("payload") if table == "events" else None
        ps, seal = self.pseudonymiser, self.seal

        def apply(values: Values) -> Values:
            out = list(values)
            for i, value in enumerate(out):
                if i in sealed:
                    out[i] = seal.seal(value)
                elif i == payload:
                    out[i] = _payload(ps, value)
                elif i not in identity_columns:
                    out[i] = _scrubbed(ps, value)
            for p, e in pairs:
                out[e] = ps.identity(out[p], out[e])
            return tuple(out)

        return apply


def _scrubbed(pseudonymiser: Pseudonymiser, value: Any) -> Any:
    if isinstance(value, str):
        return pseudonymiser.text(value)
    if isinstance(value, list):
        return [pseudonymiser.text(v) if isinstance(v, str) else v for v in value]
    if isinstance(value, dict):
        return {k: pseudonymiser.text(v) if isinstance(v, str) else v for k, v in value.items()}
    return value
