"""Discourse deliveries -> community events under the discourse identity."""

from __future__ import annotations

from datetime import UTC, datetime

from producers.collector.discourse import instance_name, map_discourse
from schemas import models
from schemas.identity import IdentityProvider, identity_key
from tests.unit.collector import discourse_payloads as dp

NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
FORUM = "forum.example.com"


def dc(name: str) -> models.Identity:
    return models.Identity(provider=IdentityProvider.DISCOURSE, external_id=name)


def test_a_topic_is_a_post_by_its_creator_a_question_when_tagged_so() -> None:
    [post] = map_discourse("topic_created", "101", FORUM, dp.TOPIC_CREATED, NOW)
    assert isinstance(post, models.PostCreated)
    assert post.identity == dc("Ada_L")
    assert post.occurred_at == datetime(2026, 3, 2, 8, 15, 30, 123000, tzinfo=UTC)
    assert post.payload == models.PostCreatedPayload(
        post_id=f"{FORUM}/t/42",
        channel="support",
        title="How do I rotate an API token?",
        is_question=True,
        tags=["question", "auth"],
    )


def test_a_topics_first_post_gives_only_its_mentions() -> None:
    events = map_discourse("post_created", "102", FORUM, dp.FIRST_POST_CREATED, NOW)
    assert [type(e) for e in events] == [models.Mention, models.Mention]
    assert [e.payload.mentioned for e in events] == [dc("grace"), dc("Linus.T")]
    assert {e.payload.post_id for e in events} == {f"{FORUM}/t/42"}


def test_a_reply_names_the_author_replied_to_and_its_mentions() -> None:
    events = map_discourse("post_created", "103", FORUM, dp.REPLY_CREATED, NOW)
    reply, mention = events
    assert isinstance(reply, models.ReplyCreated)
    assert reply.identity == dc("grace")
    assert reply.payload == models.ReplyCreatedPayload(
        reply_id=f"{FORUM}/p/902", post_id=f"{FORUM}/t/42", post_author=dc("Ada_L")
    )
    assert isinstance(mention, models.Mention)
    assert mention.payload.mentioned == dc("Ada_L")


def test_a_new_user_joins_the_forum_and_is_linked_to_their_email() -> None:
    joined, link = map_discourse("user_created", "104", FORUM, dp.USER_CREATED, NOW)
    assert isinstance(joined, models.MemberJoined)
    assert joined.identity == dc("Grace")
    assert joined.payload == models.MemberJoinedPayload(community="forum", is_teammate=False)
    assert isinstance(link, models.IdentityLink)
    assert (link.identity, link.linked_identity) == (
        dc("Grace"),
        models.Identity(provider=IdentityProvider.EMAIL, external_id="grace@example.com"),
    )
    # Usernames are case-insensitive: the user's later posts as "grace" are the same key.
    assert identity_key("discourse", "Grace") == identity_key("discourse", "grace")


def test_an_accepted_solution_is_an_accepted_answer_by_the_posts_author() -> None:
    [accepted] = map_discourse("accepted_solution", "105", FORUM, dp.ACCEPTED_SOLUTION, NOW)
    assert isinstance(accepted, models.AnswerAccepted)
    assert accepted.identity == dc("grace")
    assert (accepted.payload.post_id, accepted.payload.reply_id) == (f"{FORUM}/t/42", f"{FORUM}/p/902")
    assert accepted.occurred_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def test_other_events_map_to_nothing_and_ids_follow_the_event_id() -> None:
    assert map_discourse("post_edited", "106", FORUM, dp.REPLY_CREATED, NOW) == []
    first = map_discourse("post_created", "107", FORUM, dp.REPLY_CREATED, NOW)
    again = map_discourse("post_created", "107", FORUM, dp.REPLY_CREATED, NOW)
    other = map_discourse("post_created", "108", FORUM, dp.REPLY_CREATED, NOW)
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert not {e.event_id for e in first} & {e.event_id for e in other}


def test_the_instance_header_names_the_forum_host() -> None:
    assert instance_name("https://forum.example.com") == "forum.example.com"
    assert instance_name(None) == "discourse"
