"""Property-based tests of the identity rules (schemas/identity.py) and the link decisions
built on them (streams/identity/resolution.py)."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from schemas.identity import (
    ILLEGAL_IDS,
    ORBITSTREAM_NAMESPACE,
    IdentityProvider,
    IllegalIdentityError,
    deterministic_canonical_id,
    identity_key,
    normalise,
)
from streams.identity import resolution
from streams.identity.resolution import RefusalReason, checked_key, decide_link

providers = st.sampled_from(list(IdentityProvider))
CASE_INSENSITIVE = {IdentityProvider.EMAIL, IdentityProvider.GITHUB, IdentityProvider.DISCOURSE}
ascii_ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30)


def legal(provider: IdentityProvider, external_id: str) -> str | None:
    try:
        return normalise(provider, external_id)
    except IllegalIdentityError:
        return None


@given(providers, st.text())
def test_normalise_accepts_or_refuses_with_illegal_identity_only(
    provider: IdentityProvider, raw: str
) -> None:
    try:
        value = normalise(provider, raw)
    except IllegalIdentityError as exc:
        assert repr(raw) in str(exc)  # names the id it refused
        return
    assert value == value.strip()
    assert value.lower() not in ILLEGAL_IDS


@given(providers, st.text())
def test_normalise_is_idempotent(provider: IdentityProvider, raw: str) -> None:
    once = legal(provider, raw)
    assume(once is not None)
    assert normalise(provider, once) == once


@given(providers, st.text(), st.text(alphabet=" \t\n\u3000\u00a0", max_size=3))
def test_surrounding_whitespace_never_changes_the_key(provider: IdentityProvider, raw: str, pad: str) -> None:
    key = legal(provider, raw)
    assume(key is not None)
    assert identity_key(provider, pad + raw + pad) == identity_key(provider, raw)


@given(providers, ascii_ids)
def test_case_matters_exactly_for_the_case_sensitive_providers(provider: IdentityProvider, raw: str) -> None:
    assume(legal(provider, raw) is not None and raw.lower() != raw.upper())
    same = identity_key(provider, raw.upper()) == identity_key(provider, raw.lower())
    assert same is (provider in CASE_INSENSITIVE)


@given(providers, st.text())
def test_compatibility_forms_map_to_one_identity(provider: IdentityProvider, raw: str) -> None:
    """Full-width and other NFKC-equivalent spellings of an id are the same identity."""
    assume(legal(provider, raw) is not None)
    assert identity_key(provider, unicodedata.normalize("NFKC", raw)) == identity_key(provider, raw)


@given(
    providers, st.sampled_from(sorted(ILLEGAL_IDS - {""})), st.booleans(), st.text(alphabet=" \t", max_size=2)
)
def test_placeholder_ids_are_illegal_in_any_case_or_padding(
    provider: IdentityProvider, placeholder: str, upper: bool, pad: str
) -> None:
    with pytest.raises(IllegalIdentityError):
        normalise(provider, pad + (placeholder.upper() if upper else placeholder) + pad)


@given(providers, st.text())
def test_deterministic_id_is_the_uuid5_of_the_key(provider: IdentityProvider, raw: str) -> None:
    assume(legal(provider, raw) is not None)
    cid = deterministic_canonical_id(provider, raw)
    assert uuid.UUID(cid).version == 5
    assert cid == str(uuid.uuid5(ORBITSTREAM_NAMESPACE, identity_key(provider, raw)))
    assert resolution.resolve(identity_key(provider, raw), None) == cid


@given(st.text(min_size=1).filter(lambda p: p not in {v.value for v in IdentityProvider}), st.text())
def test_an_unknown_provider_is_refused_naming_it(provider: str, raw: str) -> None:
    with pytest.raises(ValueError, match="is not a valid IdentityProvider"):
        identity_key(provider, raw)


@given(providers, st.text())
def test_checked_key_never_raises_for_known_providers(provider: IdentityProvider, raw: str) -> None:
    key, why = checked_key(provider, raw)
    assert (key is None) != (why is None)
    if key is not None:
        assert key == identity_key(provider, raw)


keys = st.builds(
    identity_key, providers, st.sampled_from(["a@example.com", "b@example.com", "c@example.com"])
)
entries = st.none() | st.sampled_from(["person-1", "person-2"])


@given(keys, entries, keys, entries, st.none() | st.just("explicit"))
def test_link_decisions_follow_the_merge_guard(
    first: str, first_cid: str | None, second: str, second_cid: str | None, explicit: str | None
) -> None:
    d = decide_link(first, first_cid, second, second_cid, explicit)
    if first == second:
        assert d.refused is RefusalReason.SAME_IDENTITY
    elif first_cid is not None and second_cid is not None and first_cid != second_cid:
        assert d.refused is RefusalReason.BOTH_HAVE_OTHER_IDENTITIES and d.canonical_id is None
    else:
        assert d.refused is None
        # Whoever is linked already keeps their person; nobody linked moves.
        assert d.canonical_id == (first_cid or second_cid or explicit or resolution.resolve(first, None))
        assert d.assign_first == (first_cid is None)
        assert d.assign_second == (second_cid is None)
