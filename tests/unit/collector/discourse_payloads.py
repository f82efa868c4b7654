"""Discourse webhook bodies, shaped like Discourse's web hook serializers emit them
(WebHookTopicViewSerializer, WebHookPostSerializer, WebHookUserSerializer; the Solved
plugin's accepted_solution sends the accepted post). Discourse publishes no example
package, so these carry the fields the mapping reads plus neighbours it must ignore."""

from __future__ import annotations

from typing import Any

TOPIC_CREATED: dict[str, Any] = {
    "topic": {
        "id": 42,
        "title": "How do I rotate an API token?",
        "fancy_title": "How do I rotate an API token?",
        "posts_count": 1,
        "created_at": "2026-03-02T08:15:30.123Z",
        "archetype": "regular",
        "category_id": 5,
        "category_slug": "support",
        "tags": ["question", "auth"],
        "created_by": {"id": 7, "username": "Ada_L", "name": "Ada", "avatar_template": "/a/{size}.png"},
        "last_poster": {"id": 7, "username": "Ada_L"},
    }
}

FIRST_POST_CREATED: dict[str, Any] = {
    "post": {
        "id": 901,
        "username": "Ada_L",
        "created_at": "2026-03-02T08:15:30.200Z",
        "post_number": 1,
        "reply_to_post_number": None,
        "topic_id": 42,
        "raw": "Asking @grace and @Linus.T about tokens",
        "cooked": "<p>Asking ...</p>",
    }
}

REPLY_CREATED: dict[str, Any] = {
    "post": {
        "id": 902,
        "username": "grace",
        "created_at": "2026-03-02T09:00:00.000Z",
        "post_number": 2,
        "reply_to_post_number": 1,
        "reply_to_user": {"id": 7, "username": "Ada_L", "avatar_template": "/a/{size}.png"},
        "topic_id": 42,
        "topic_title": "How do I rotate an API token?",
        "category_id": 5,
        "raw": "Settings > Tokens. @Ada_L see the docs",
    }
}

USER_CREATED: dict[str, Any] = {
    "user": {
        "id": 8,
        "username": "Grace",
        "name": "Grace H",
        "email": "grace@example.com",
        "created_at": "2026-03-01T12:00:00.000Z",
        "admin": False,
        "moderator": False,
        "trust_level": 0,
    }
}

ACCEPTED_SOLUTION: dict[str, Any] = {
    "post": {
        "id": 902,
        "username": "grace",
        "created_at": "2026-03-02T09:00:00.000Z",
        "updated_at": "2026-03-02T10:30:00.000Z",
        "post_number": 2,
        "topic_id": 42,
        "accepted_answer": True,
    }
}
