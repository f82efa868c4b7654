"""Discourse webhook deliveries as community events under the ``discourse`` identity (username).

| X-Discourse-Event | events |
| --- | --- |
| topic_created | PostCreated by the topic's creator |
| post_created | ReplyCreated in the topic (to the author replied to, when named); Mentions |
| user_created | MemberJoined (``forum``; staff are teammates), and an IdentityLink to the email when given |
| accepted_solution (the Solved plugin) | AnswerAccepted by the accepted post's author |

A topic's first post also arrives as post_created: topic_created counted the post, so only
its mentions are taken from it (the topic payload has no text).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from producers.collector.mapping import Builder, event_id, parse_time
from schemas import models
from schemas.identity import IdentityProvider

SOURCE = "discourse"


def _tags(topic: dict[str, Any]) -> list[str]:
    """Tag names: plain strings in older Discourse versions, objects with a name in newer ones."""
    tags = []
    for tag in topic.get("tags") or []:
        name = tag.get("name") if isinstance(tag, dict) else tag
        if isinstance(name, str) and name:
            tags.append(name)
    return tags


def _topic_id(instance: str, topic_id: Any) -> str:
    return f"{instance}/t/{topic_id}"


def _username(user: Any) -> str | None:
    if isinstance(user, dict) and isinstance(user.get("username"), str) and user["username"]:
        return str(user["username"])
    return None


def _channel(item: dict[str, Any]) -> str:
    return str(item.get("category_slug") or item.get("category_id") or "uncategorized")


def map_discourse(
    event: str, delivery: str, instance: str, payload: dict[str, Any], received_at: datetime
) -> list[models.Event]:
    """The community events of one delivery (``X-Discourse-Event``, ``X-Discourse-Event-Id``)."""
    b = Builder(IdentityProvider.DISCOURSE, delivery, SOURCE, received_at)
    if event == "topic_created":
        topic = payload["topic"]
        who = _username(topic.get("created_by"))
        if who is not None:
            post_id = _topic_id(instance, topic["id"])
            tags = _tags(topic)
            when = topic.get("created_at")
            b.add(
                models.PostCreated,
                who,
                when,
                post_id=post_id,
                channel=_channel(topic),
                title=topic.get("title") or "",
                is_question=any(tag.lower() == "question" for tag in tags),
                tags=tags,
            )
    elif event == "post_created":
        post = payload["post"]
        who = _username(post)
        post_id = _topic_id(instance, post["topic_id"])
        if who is not None and post.get("post_number") != 1:
            to = _username(post.get("reply_to_user")) if post.get("reply_to_post_number") else None
            b.add(
                models.ReplyCreated,
                who,
                post.get("created_at"),
                reply_id=f"{instance}/p/{post['id']}",
                post_id=post_id,
                post_author=b.identity(to) if to else None,
            )
        if who is not None:
            b.add_mentions(who, post.get("created_at"), post_id, post.get("raw"))
    elif event == "user_created":
        user = payload["user"]
        who = _username(user)
        if who is not None:
            staff = bool(user.get("admin") or user.get("moderator") or user.get("staff"))
            b.add(models.MemberJoined, who, user.get("created_at"), community="forum", is_teammate=staff)
            if isinstance(user.get("email"), str) and "@" in user["email"]:
                _link_email(b, who, user["email"], user.get("created_at"))
    elif event == "accepted_solution":
        post = payload["post"]
        who = _username(post)
        if who is not None:
            b.add(
                models.AnswerAccepted,
                who,
                post.get("updated_at") or post.get("created_at"),
                post_id=_topic_id(instance, post["topic_id"]),
                reply_id=f"{instance}/p/{post['id']}",
                asker=None,
                tags=[],
            )
    return b.events


def _link_email(b: Builder, who: str, email: str, when: Any) -> None:
    """The forum account and its email are one person: links it to the product account."""
    b.events.append(
        models.IdentityLink(
            event_id=event_id(b.provider.value, b.delivery, len(b.events)),
            occurred_at=parse_time(when, b.fallback),
            source=b.source,
            identity=b.identity(who),
            linked_identity=models.Identity(provider=IdentityProvider.EMAIL, external_id=email),
        )
    )


def instance_name(header: str | None) -> str:
    """``X-Discourse-Instance`` (a base URL) as a host name: post ids name their forum."""
    if not header:
        return "discourse"
    host = header.split("://", 1)[-1].strip("/")
    return host or "discourse"


__all__ = ["SOURCE", "instance_name", "map_discourse"]
