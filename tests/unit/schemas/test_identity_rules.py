"""Identity normalisation and deterministic canonical ids."""

import uuid

import pytest

from schemas.identity import (
    ORBITSTREAM_NAMESPACE,
    IdentityProvider,
    IllegalIdentityError,
    deterministic_canonical_id,
    identity_key,
    normalise,
)


def test_email_and_github_are_case_insensitive_and_trimmed() -> None:
    assert normalise("email", "  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert normalise(IdentityProvider.GITHUB, "AdaL") == "adal"


def test_sso_and_product_keep_case() -> None:
    assert normalise("sso", " https://idp|AbC ") == "https://idp|AbC"
    assert normalise("product", "User-42") == "User-42"


def test_fullwidth_characters_fold_to_ascii() -> None:
    assert normalise("email", "ａｄａ@example.com") == "ada@example.com"


@pytest.mark.parametrize(
    "bad", ["", "  ", "null", "NULL", "guest", "Anonymous", "undefined", "0", "[object Object]"]
)
def test_placeholder_ids_are_illegal(bad: str) -> None:
    with pytest.raises(IllegalIdentityError, match="not a person's identity"):
        normalise("product", bad)


def test_email_without_single_at_is_illegal() -> None:
    with pytest.raises(IllegalIdentityError, match="not an address"):
        normalise("email", "ada.example.com")


def test_unknown_provider_is_rejected() -> None:
    with pytest.raises(ValueError, match="myspace"):
        normalise("myspace", "ada")


def test_identity_key_and_canonical_id_are_stable_across_spellings() -> None:
    assert identity_key("email", "ADA@example.com") == "email:ada@example.com"
    expected = str(uuid.uuid5(ORBITSTREAM_NAMESPACE, "email:ada@example.com"))
    assert deterministic_canonical_id("email", " Ada@Example.com") == expected
    assert deterministic_canonical_id("email", "ada@example.com") == expected
    assert deterministic_canonical_id("github", "ada") != deterministic_canonical_id("product", "ada")
