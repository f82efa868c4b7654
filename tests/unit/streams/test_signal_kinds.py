"""User signals: a kind the worker does not know is an error that dead-letters, never skipped."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from foundation.exceptions import OrbitstreamError
from streams.errors import Action, classify
from streams.exceptions import UnknownSignalKindError
from streams.messages import SignalKind, UserSignal, signal_kind

MESSAGE = SimpleNamespace(topic="p-user-signals", partition=2, offset=9)


@pytest.mark.parametrize(
    ("wire", "kind"),
    [
        ("merge-in", SignalKind.MERGE_IN),
    ],
)
def test_each_known_kind_is_read_from_its_wire_name(wire: str, kind: SignalKind) -> None:
    assert signal_kind(UserSignal(kind=wire, canonical_id="c-1"), MESSAGE) is kind


def test_a_signal_survives_the_internal_topics_json_with_its_kind() -> None:
    sent = UserSignal(kind=SignalKind.MERGE_IN, canonical_id="c-1", occurred_at_ms=5)
    received = UserSignal.loads(sent.dumps(serializer="json"), serializer="json")
    assert received.kind == "merge-in"
    assert signal_kind(received, MESSAGE) is SignalKind.MERGE_IN


def test_an_unknown_kind_names_the_kind_and_where_it_was_and_is_dead_lettered() -> None:
    with pytest.raises(UnknownSignalKindError) as raised:
        signal_kind(UserSignal(kind="merge-sideways", canonical_id="c-1"), MESSAGE)
    assert str(raised.value) == (
        "p-user-signals[2]@9: unknown user signal kind 'merge-sideways' (known: merge-in)"
    )
    assert isinstance(raised.value, OrbitstreamError)
    assert classify(raised.value) is Action.DEAD_LETTER
