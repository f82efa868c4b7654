"""Trigger episode keys are built from ChurnReason and read back to it."""

from __future__ import annotations

import pytest

from schemas.models import ChurnReason
from streams.triggers.rules import SCOPES, episode_key, rule_of


def test_episode_keys_keep_the_stored_format() -> None:
    # Keys live in the users table's state: the format must not change under a restart.
    assert episode_key(ChurnReason.USAGE_DROP) == "USAGE_DROP"
    assert episode_key(ChurnReason.QUESTION_UNANSWERED, "post-7") == "QUESTION_UNANSWERED:post-7"


@pytest.mark.parametrize("reason", sorted(SCOPES["due"]))
def test_the_rule_of_a_key_is_its_reason(reason: ChurnReason) -> None:
    assert rule_of(episode_key(reason)) is reason
    assert rule_of(episode_key(reason, "x:y")) is reason


def test_a_key_of_no_known_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="NOT_A_RULE"):
        rule_of("NOT_A_RULE:post-1")


def test_every_scope_judges_only_reasons_of_the_contract() -> None:
    assert SCOPES["product"] | SCOPES["community"] <= SCOPES["due"]
    assert ChurnReason.OTHER not in SCOPES["due"]
