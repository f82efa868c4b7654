"""Link decisions and merge guards."""

import pytest

from schemas.identity import IllegalIdentityError, deterministic_canonical_id
from streams.identity.resolution import (
    LinkDecision,
    RefusalReason,
    canonical_id_problem,
    checked_key,
    decide_link,
    require_legal_canonical_id,
    resolve,
)

A, B = "product:u-1", "email:ada@example.com"


def test_fresh_link_joins_both_to_first_identitys_deterministic_id() -> None:
    decision = decide_link(A, None, B, None)
    assert decision == LinkDecision(
        canonical_id=deterministic_canonical_id("product", "u-1"), assign_first=True, assign_second=True
    )


def test_fresh_link_uses_the_senders_canonical_id_when_given() -> None:
    assert decide_link(A, None, B, None, explicit_canonical="c-9").canonical_id == "c-9"


def test_unlinked_identity_joins_the_linked_one() -> None:
    assert decide_link(A, "c-1", B, None) == LinkDecision(canonical_id="c-1", assign_second=True)
    assert decide_link(A, None, B, "c-2") == LinkDecision(canonical_id="c-2", assign_first=True)


def test_link_within_one_person_changes_nothing() -> None:
    assert decide_link(A, "c-1", B, "c-1") == LinkDecision(canonical_id="c-1")


def test_two_people_with_other_identities_are_never_merged() -> None:
    decision = decide_link(A, "c-1", B, "c-2", explicit_canonical="c-1")
    assert decision.refused is RefusalReason.BOTH_HAVE_OTHER_IDENTITIES
    assert decision.canonical_id is None
    assert not decision.assign_first and not decision.assign_second


def test_self_link_is_refused() -> None:
    assert decide_link(A, None, A, None).refused is RefusalReason.SAME_IDENTITY


def test_checked_key_reports_illegal_ids() -> None:
    assert checked_key("email", "Ada@Example.com") == ("email:ada@example.com", None)
    key, why = checked_key("product", "guest")
    assert key is None and why is not None and "guest" in why


def test_resolve_prefers_link_over_deterministic_id() -> None:
    assert resolve(B, "c-7") == "c-7"
    assert resolve(B, None) == deterministic_canonical_id("email", "ada@example.com")


@pytest.mark.parametrize("illegal", ["null", "", "  ", "guest", "NULL", " None ", "anonymous", "0", "-1"])
def test_a_sender_supplied_canonical_id_passes_the_illegal_id_guard(illegal: str) -> None:
    problem = canonical_id_problem(illegal)
    assert problem == f"canonical_id {illegal!r} is not a person's id"
    with pytest.raises(IllegalIdentityError) as raised:
        require_legal_canonical_id(illegal)
    assert str(raised.value) == f"field canonical_id {illegal!r} is not a person's id"
    # A link naming it is refused like a link of an illegal identity, whatever the table says.
    for first, second in [(None, None), ("c-1", None), ("c-1", "c-2")]:
        assert decide_link(A, first, B, second, explicit_canonical=illegal) == LinkDecision(
            canonical_id=None, refused=RefusalReason.ILLEGAL_ID
        )


def test_usable_canonical_ids_pass_and_padded_ones_are_refused() -> None:
    for usable in ["c-9", "9b2f7c1e-5d1a-4e0b-8f3c-2a6d1e0f4b7a", "Null-Island", "guest-42"]:
        assert canonical_id_problem(usable) is None
        require_legal_canonical_id(usable)
    require_legal_canonical_id(None)  # no canonical id: resolved from the identity
    assert canonical_id_problem(" c-9") == "canonical_id ' c-9' has surrounding whitespace"
