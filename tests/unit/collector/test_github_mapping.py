"""GitHub deliveries -> community events, on GitHub's published example payloads."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from producers.collector.github import map_github
from schemas import models
from schemas.identity import IdentityProvider
from tests.fixtures.octokit import example

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Examples = dict[str, list[dict[str, Any]]]


def gh(login: str) -> models.Identity:
    return models.Identity(provider=IdentityProvider.GITHUB, external_id=login)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_an_opened_issue_is_a_post_by_its_author_with_its_labels(octokit_examples: Examples) -> None:
    payload = example(octokit_examples, "issues", "opened")
    issue, repo = payload["issue"], payload["repository"]["full_name"]
    [post] = map_github("issues", "d-1", payload, NOW)
    assert isinstance(post, models.PostCreated)
    assert post.identity == gh(issue["user"]["login"])
    assert post.occurred_at == when(issue["created_at"])
    assert post.source == "github"
    assert post.payload == models.PostCreatedPayload(
        post_id=f"{repo}#{issue['number']}",
        channel=f"{repo}/issues",
        title=issue["title"],
        is_question=False,
        tags=[label["name"] for label in issue["labels"]],
    )


def test_mentions_in_a_body_are_mention_events_and_the_author_is_not_mentioned(
    octokit_examples: Examples,
) -> None:
    payload = copy.deepcopy(example(octokit_examples, "issues", "opened"))
    author = payload["issue"]["user"]["login"]
    payload["issue"]["body"] = f"cc @Hubot and @octo-cat. Not me: @{author}, not mail: a@b.com, not @org/team"
    events = map_github("issues", "d-2", payload, NOW)
    mentions = [e for e in events if isinstance(e, models.Mention)]
    assert [m.payload.mentioned for m in mentions] == [gh("Hubot"), gh("octo-cat")]
    assert {m.identity for m in mentions} == {gh(author)}
    assert {m.payload.post_id for m in mentions} == {events[0].payload.post_id}


def test_an_issue_comment_replies_to_the_issue_author(octokit_examples: Examples) -> None:
    payload = example(octokit_examples, "issue_comment", "created")
    issue, comment, repo = payload["issue"], payload["comment"], payload["repository"]["full_name"]
    [reply] = map_github("issue_comment", "d-3", payload, NOW)
    assert isinstance(reply, models.ReplyCreated)
    assert reply.identity == gh(comment["user"]["login"])
    assert reply.occurred_at == when(comment["created_at"])
    assert reply.payload.post_id == f"{repo}#{issue['number']}"
    assert reply.payload.reply_id == f"{repo}#{issue['number']}/comments/{comment['id']}"
    assert reply.payload.post_author == gh(issue["user"]["login"])


def test_an_opened_pull_request_is_a_post_in_the_pulls_channel(octokit_examples: Examples) -> None:
    payload = example(octokit_examples, "pull_request", "opened")
    pr, repo = payload["pull_request"], payload["repository"]["full_name"]
    [post] = map_github("pull_request", "d-4", payload, NOW)
    assert isinstance(post, models.PostCreated)
    assert post.identity == gh(pr["user"]["login"])
    assert (post.payload.post_id, post.payload.channel, post.payload.title) == (
        f"{repo}#{pr['number']}",
        f"{repo}/pulls",
        pr["title"],
    )


def test_a_review_of_someone_elses_pull_request_is_a_reply_but_a_self_review_is_nothing(
    octokit_examples: Examples,
) -> None:
    payload = example(octokit_examples, "pull_request_review", "submitted")
    assert payload["review"]["user"]["login"] == payload["pull_request"]["user"]["login"]
    assert map_github("pull_request_review", "d-5", payload, NOW) == []
    other = copy.deepcopy(payload)
    reviewer = example(octokit_examples, "discussion", "answered")["answer"]["user"]
    other["review"]["user"] = reviewer
    [reply] = map_github("pull_request_review", "d-6", other, NOW)
    assert isinstance(reply, models.ReplyCreated)
    assert reply.identity == gh(reviewer["login"])
    assert reply.payload.post_author == gh(payload["pull_request"]["user"]["login"])
    assert reply.occurred_at == when(payload["review"]["submitted_at"])


def test_a_discussion_in_an_answerable_category_is_a_question(octokit_examples: Examples) -> None:
    payload = example(octokit_examples, "discussion", "created")
    d, repo = payload["discussion"], payload["repository"]["full_name"]
    [post] = map_github("discussion", "d-7", payload, NOW)
    assert isinstance(post, models.PostCreated)
    assert post.payload.post_id == f"{repo}/discussions/{d['number']}"
    assert post.payload.channel == f"{repo}/discussions/{d['category']['slug']}"
    assert post.payload.is_question is bool(d["category"]["is_answerable"])


def test_a_marked_answer_is_accepted_for_the_answerer_with_the_asker(octokit_examples: Examples) -> None:
    payload = example(octokit_examples, "discussion", "answered")
    d, answer, repo = payload["discussion"], payload["answer"], payload["repository"]["full_name"]
    [accepted] = map_github("discussion", "d-8", payload, NOW)
    assert isinstance(accepted, models.AnswerAccepted)
    assert accepted.identity == gh(answer["user"]["login"])
    assert accepted.payload.asker == gh(d["user"]["login"])
    assert accepted.identity != accepted.payload.asker
    assert accepted.payload.reply_id == f"{repo}/discussions/{d['number']}/comments/{answer['id']}"
    assert accepted.occurred_at == when(d["answer_chosen_at"])


def test_a_discussion_comment_replies_to_the_discussion(octokit_examples: Examples) -> None:
    payload = example(octokit_examples, "discussion_comment", "created")
    d, comment = payload["discussion"], payload["comment"]
    [reply] = map_github("discussion_comment", "d-9", payload, NOW)
    assert isinstance(reply, models.ReplyCreated)
    assert reply.identity == gh(comment["user"]["login"])
    assert reply.payload.post_author == gh(d["user"]["login"])


def test_star_and_fork_are_reactions_on_the_repository(octokit_examples: Examples) -> None:
    star = example(octokit_examples, "star", "created")
    fork = example(octokit_examples, "fork", None)
    [starred] = map_github("star", "d-10", star, NOW)
    [forked] = map_github("fork", "d-11", fork, NOW)
    assert isinstance(starred, models.ReactionAdded) and isinstance(forked, models.ReactionAdded)
    assert (starred.identity, starred.payload.reaction, starred.payload.post_id) == (
        gh(star["sender"]["login"]),
        "star",
        star["repository"]["full_name"],
    )
    assert starred.occurred_at == when(star["starred_at"])
    assert (forked.identity, forked.payload.reaction) == (gh(fork["sender"]["login"]), "fork")
    assert forked.occurred_at == when(fork["forkee"]["created_at"])


def test_an_added_member_joins_the_github_community(octokit_examples: Examples) -> None:
    payload = example(octokit_examples, "member", "added")
    [joined] = map_github("member", "d-12", payload, NOW)
    assert isinstance(joined, models.MemberJoined)
    assert joined.identity == gh(payload["member"]["login"])
    assert joined.payload.community == "github"
    assert joined.occurred_at == NOW  # the payload carries no time: when it was received


@pytest.mark.parametrize(
    ("event", "action"),
    [("issues", "labeled"), ("star", "deleted"), ("member", "edited"), ("pull_request", "closed")],
)
def test_other_actions_map_to_nothing(octokit_examples: Examples, event: str, action: str) -> None:
    assert map_github(event, "d-13", example(octokit_examples, event, action), NOW) == []


def test_every_published_event_type_maps_without_error(octokit_examples: Examples) -> None:
    mapped = set()
    for event, payloads in octokit_examples.items():
        for payload in payloads:
            if map_github(event, "d-14", payload, NOW):
                mapped.add(event)
    expected = {
        "issues",
        "issue_comment",
        "pull_request",
        "discussion",
        "discussion_comment",
        "star",
        "fork",
        "member",
    }
    assert mapped == expected  # pull_request_review: every published one is a self-review


def test_the_same_delivery_maps_to_the_same_ids_and_another_delivery_to_others(
    octokit_examples: Examples,
) -> None:
    payload = copy.deepcopy(example(octokit_examples, "issues", "opened"))
    payload["issue"]["body"] = "@hubot @monalisa"
    first = [e.event_id for e in map_github("issues", "72d3162e-cc78-11e3", payload, NOW)]
    again = [e.event_id for e in map_github("issues", "72d3162e-cc78-11e3", payload, datetime.now(UTC))]
    other = [e.event_id for e in map_github("issues", "72d3162e-cc78-11e4", payload, NOW)]
    assert len(first) == len(set(first)) == 3
    assert again == first
    assert not set(other) & set(first)


def test_bots_are_not_community_members(octokit_examples: Examples) -> None:
    payload = copy.deepcopy(example(octokit_examples, "issue_comment", "created"))
    payload["comment"]["user"]["type"] = "Bot"
    assert map_github("issue_comment", "d-15", payload, NOW) == []
