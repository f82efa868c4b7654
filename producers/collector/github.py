"""GitHub webhook deliveries as community events under the ``github`` identity (the login).

| GitHub event (action) | events |
| --- | --- |
| issues (opened), pull_request (opened) | PostCreated by the author, Mention per @login in the body |
| issue_comment, discussion_comment (created) | ReplyCreated to the post's author, Mentions |
| pull_request_review (submitted) | ReplyCreated to the PR author (not on one's own PR), Mentions |
| discussion (created) | PostCreated (a question in an answerable category), Mentions |
| discussion (answered) | AnswerAccepted by the answer's author, the asker as ``asker`` |
| star (created), fork | ReactionAdded ``star`` / ``fork`` on the repository |
| member (added) | MemberJoined, community ``github`` |

Anything else (other actions, other events, bots' activity) maps to nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from producers.collector.mapping import Builder
from schemas import models
from schemas.identity import IdentityProvider

SOURCE = "github"


def _login(user: Any) -> str | None:
    """A person's login; None for a missing user or a bot (apps are not community members)."""
    if not isinstance(user, dict) or user.get("type") == "Bot":
        return None
    login = user.get("login")
    return login if isinstance(login, str) and login else None


def _labels(item: dict[str, Any]) -> list[str]:
    return [
        label["name"] for label in item.get("labels") or [] if isinstance(label, dict) and "name" in label
    ]


def _opened(b: Builder, repo: str, item: dict[str, Any], channel: str, post_id: str, question: bool) -> None:
    who = _login(item.get("user"))
    if who is None:
        return
    tags = _labels(item)
    is_question = question or any(tag.lower() == "question" for tag in tags)
    when = item.get("created_at")
    b.add(
        models.PostCreated,
        who,
        when,
        post_id=post_id,
        channel=channel,
        title=item.get("title") or "",
        is_question=is_question,
        tags=tags,
    )
    b.add_mentions(who, when, post_id, item.get("body"))


def _reply(b: Builder, post_id: str, reply_id: str, author: Any, to: Any, when: Any, body: Any) -> None:
    who = _login(author)
    if who is None:
        return
    post_author = _login(to)
    b.add(
        models.ReplyCreated,
        who,
        when,
        reply_id=reply_id,
        post_id=post_id,
        post_author=b.identity(post_author) if post_author else None,
    )
    b.add_mentions(who, when, post_id, body)


def map_github(
    event: str, delivery: str, payload: dict[str, Any], received_at: datetime
) -> list[models.Event]:
    """The community events of one delivery (``X-GitHub-Event``, ``X-GitHub-Delivery``)."""
    b = Builder(IdentityProvider.GITHUB, delivery, SOURCE, received_at)
    action = payload.get("action")
    repo = (payload.get("repository") or {}).get("full_name") or "unknown"
    if event == "issues" and action == "opened":
        issue = payload["issue"]
        _opened(b, repo, issue, f"{repo}/issues", f"{repo}#{issue['number']}", question=False)
    elif event == "pull_request" and action == "opened":
        pr = payload["pull_request"]
        _opened(b, repo, pr, f"{repo}/pulls", f"{repo}#{pr['number']}", question=False)
    elif event == "issue_comment" and action == "created":
        issue, comment = payload["issue"], payload["comment"]
        post_id = f"{repo}#{issue['number']}"
        reply_id = f"{post_id}/comments/{comment['id']}"
        _reply(
            b,
            post_id,
            reply_id,
            comment.get("user"),
            issue.get("user"),
            comment.get("created_at"),
            comment.get("body"),
        )
    elif event == "pull_request_review" and action == "submitted":
        pr, review = payload["pull_request"], payload["review"]
        if _login(review.get("user")) != _login(pr.get("user")):  # a self-review is no interaction
            post_id = f"{repo}#{pr['number']}"
            reply_id = f"{post_id}/reviews/{review['id']}"
            _reply(
                b,
                post_id,
                reply_id,
                review.get("user"),
                pr.get("user"),
                review.get("submitted_at"),
                review.get("body"),
            )
    elif event == "discussion" and action == "created":
        d = payload["discussion"]
        category = d.get("category") or {}
        channel = f"{repo}/discussions/{category.get('slug') or 'general'}"
        _opened(b, repo, d, channel, f"{repo}/discussions/{d['number']}", bool(category.get("is_answerable")))
    elif event == "discussion" and action == "answered":
        d, answer = payload["discussion"], payload["answer"]
        who, asker = _login(answer.get("user")), _login(d.get("user"))
        if who is not None:
            post_id = f"{repo}/discussions/{d['number']}"
            b.add(
                models.AnswerAccepted,
                who,
                d.get("answer_chosen_at") or answer.get("updated_at"),
                post_id=post_id,
                reply_id=f"{post_id}/comments/{answer['id']}",
                asker=b.identity(asker) if asker else None,
                tags=_labels(d),
            )
    elif event == "discussion_comment" and action == "created":
        d, comment = payload["discussion"], payload["comment"]
        post_id = f"{repo}/discussions/{d['number']}"
        reply_id = f"{post_id}/comments/{comment['id']}"
        _reply(
            b,
            post_id,
            reply_id,
            comment.get("user"),
            d.get("user"),
            comment.get("created_at"),
            comment.get("body"),
        )
    elif (event == "star" and action == "created") or event == "fork":
        who = _login(payload.get("sender"))
        if who is not None:
            when = (
                payload.get("starred_at")
                if event == "star"
                else (payload.get("forkee") or {}).get("created_at")
            )
            b.add(models.ReactionAdded, who, when, post_id=repo, reaction=event, target_author=None)
    elif event == "member" and action == "added":
        who = _login(payload.get("member"))
        if who is not None:
            b.add(models.MemberJoined, who, None, community="github", is_teammate=False)
    return b.events
