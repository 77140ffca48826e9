"""The shape of every API answer the dashboard reads: one description the demo and the tests share.

Each shape is the documented response format (shared/reference/sources.md) as the recordings in
tests/fixtures/<api>/ show it, written as a small schema:

- `str`, `int`, `float`, `bool`: a JSON value of exactly that type (a bool is not an int);
- `None`: always null; `str | None` (a union): any of its members; `Maybe(shape)`: null or `shape`;
- `[shape]`: a list whose every item has `shape`;
- `{"name": shape, "other?": shape}`: an object with exactly these keys; a key written with a
  trailing `?` is on some records only (a real answer carries it on some records, not all);
- `ANY`: anything (lists the dashboard never looks into, which every recording leaves empty).

The demo checks each answer it renders against its shape (formats.py), and tests/test_api_formats.py
checks every recording against the same shape: a field renamed, dropped or added on one side only
fails there. Change a format here first, then the demo and the recordings to match.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Final

Shape = Any  # a type, None, a union, Maybe, a one-item list, a dict of shapes, or ANY


class _Anything:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Anything()


@dataclass(frozen=True, slots=True)
class Maybe:
    """Null, or a value of `shape`."""

    shape: Shape


class ShapeError(ValueError):
    """An answer that does not have its API's shape."""


def problems(shape: Shape, value: Any, where: str = "$") -> list[str]:
    """Every way `value` differs from `shape`, each as `path: what` (empty when it conforms)."""
    if shape is ANY:
        return []
    if shape is None:
        return [] if value is None else [f"{where}: {_kind(value)}, not null"]
    if isinstance(shape, Maybe):
        return [] if value is None else problems(shape.shape, value, where)
    if isinstance(shape, types.UnionType):
        members = [None if member is type(None) else member for member in shape.__args__]
        if any(not problems(member, value, where) for member in members):
            return []
        return [f"{where}: {_kind(value)}, not {shape}"]
    if isinstance(shape, type):
        return [] if type(value) is shape else [f"{where}: {_kind(value)}, not {shape.__name__}"]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: {_kind(value)}, not a list"]
        return [found for item in value for found in problems(shape[0], item, f"{where}[]")]
    if not isinstance(value, dict):
        return [f"{where}: {_kind(value)}, not an object"]
    found: list[str] = []
    keys = {key.removesuffix("?"): key for key in shape}
    for name, key in keys.items():
        if name in value:
            found += problems(shape[key], value[name], f"{where}.{name}")
        elif not key.endswith("?"):
            found.append(f"{where}.{name}: missing")
    found += [f"{where}.{name}: not in the format" for name in value if name not in keys]
    return found


def check(shape: Shape, value: Any, what: str) -> Any:
    """`value` itself if it has `shape`, else ShapeError naming the first few differences."""
    if wrong := problems(shape, value):
        raise ShapeError(f"{what} is not in its API's format: " + "; ".join(sorted(set(wrong))[:8]))
    return value


def paths(shape: Shape, where: str = "$") -> set[str]:
    """Every field path a shape describes (`$.hits[].author`), for checking what recordings cover."""
    if isinstance(shape, Maybe):
        return paths(shape.shape, where)
    if isinstance(shape, list):
        return paths(shape[0], where + "[]")
    if isinstance(shape, dict):
        found: set[str] = set()
        for key, inner in shape.items():
            path = f"{where}.{key.removesuffix('?')}"
            found |= {path} | paths(inner, path)
        return found
    return set()


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# --------------------------------------------------------------------------------------------------
# The shapes, one per answer the dashboard reads (and the demo serves)

HN_SEARCH: Shape = {
    "hits": [
        {
            "_tags": [str],
            "author": str,
            "children?": [ANY],
            "created_at": str,
            "created_at_i": int,
            "num_comments?": None | int,
            "objectID": str,
            "points": None | int,
            "story_id": None | int,
            "title?": None | str,
            "updated_at?": str,
            "url?": None | str,
            "comment_text?": None | str,
            "parent_id?": None | int,
            "story_title?": None | str,
            "story_url?": None | str,
            "story_text?": None | str,
            "_highlightResult?": {},
        }
    ],
    "nbHits": int,
    "page": int,
    "nbPages": int,
    "hitsPerPage": int,
    "exhaustiveNbHits?": bool,
    "query": str,
    "params": str,
    "processingTimeMS?": int,
    "exhaustive?": {
        "nbHits": bool,
        "typo": bool,
    },
    "exhaustiveTypo?": bool,
    "serverTimeMS?": int,
}

REDDIT_LISTING: Shape = {
    "kind": str,
    "data": {
        "after": None | str,
        "dist": int,
        "modhash": str,
        "geo_filter": str,
        "facets?": {},
        "children": [
            {
                "kind": str,
                "data": {
                    "subreddit": str,
                    "selftext": str,
                    "author_fullname": str,
                    "title": str,
                    "subreddit_name_prefixed": str,
                    "name": str,
                    "upvote_ratio": float,
                    "ups": int,
                    "score": int,
                    "is_self": bool,
                    "created": float,
                    "domain": str,
                    "id": str,
                    "author": str,
                    "num_comments": int,
                    "permalink": str,
                    "url": str,
                    "created_utc": float,
                    "over_18": bool,
                    "stickied": bool,
                    "selftext_html?": None,
                    "subreddit_type?": str,
                    "url_overridden_by_dest?": str,
                },
            }
        ],
        "before": None | str,
    },
}

# The lists every status carries, a reblogged one as well (the dashboard reads the tags only).
_MASTODON_STATUS_LISTS: Shape = {
    "media_attachments": [ANY],
    "mentions": [ANY],
    "tags": [{"name": str, "url": str}],
    "emojis": [ANY],
}

MASTODON_STATUSES: Shape = [
    {
        "id": str,
        "created_at": str,
        "in_reply_to_id": None | str,
        "in_reply_to_account_id": None,
        "sensitive": bool,
        "spoiler_text": str,
        "visibility": str,
        "language": None | str,
        "uri": str,
        "url": None | str,
        "replies_count": int,
        "reblogs_count": int,
        "favourites_count": int,
        "edited_at": None,
        "content": str,
        "reblog": Maybe(
            {
                "id": str,
                "created_at": str,
                "in_reply_to_id": None,
                "in_reply_to_account_id": None,
                "sensitive": bool,
                "spoiler_text": str,
                "visibility": str,
                "language": str,
                "uri": str,
                "url": str,
                "replies_count": int,
                "reblogs_count": int,
                "favourites_count": int,
                "edited_at": None,
                "content": str,
                "reblog": None,
                "account": {
                    "id": str,
                    "username": str,
                    "acct": str,
                    "display_name": str,
                    "url": str,
                },
                **_MASTODON_STATUS_LISTS,
                "card": None,
                "poll": None,
            }
        ),
        "account": {
            "id": str,
            "username": str,
            "acct": str,
            "display_name": str,
            "locked?": bool,
            "bot?": bool,
            "created_at?": str,
            "note?": str,
            "url": str,
            "avatar?": str,
            "followers_count?": int,
            "following_count?": int,
            "statuses_count?": int,
        },
        **_MASTODON_STATUS_LISTS,
        "card": Maybe(
            {
                "url": str,
                "title": str,
                "description": str,
                "language": str,
                "type": str,
                "author_name": str,
                "author_url": str,
                "provider_name": str,
                "provider_url": str,
                "html": str,
                "width": int,
                "height": int,
                "image": None | str,
                "embed_url": str,
                "blurhash": None | str,
                "image_description?": str,
                "published_at?": None,
                "authors?": [ANY],
            }
        ),
        "poll": None,
    }
]

BLUESKY_SEARCH: Shape = {
    "posts": [
        {
            "uri": str,
            "cid": str,
            "author": {
                "did": str,
                "handle": str,
                "displayName": str,
                "avatar?": str,
                "labels?": [ANY],
                "createdAt?": str,
            },
            "record": {
                "$type": str,
                "createdAt": str,
                "langs?": [str],
                "text": str,
                "reply?": {
                    "parent": {
                        "cid": str,
                        "uri": str,
                    },
                    "root": {
                        "cid": str,
                        "uri": str,
                    },
                },
                "facets?": [
                    {
                        "index": {
                            "byteStart": int,
                            "byteEnd": int,
                        },
                        "features": [
                            {
                                "$type": str,
                                "uri?": str,
                                "tag?": str,
                                "did?": str,
                            }
                        ],
                    }
                ],
                "embed?": {
                    "$type": str,
                    "external?": {
                        "uri": str,
                        "title": str,
                        "description": str,
                        "thumb?": None,
                    },
                    "record?": {
                        "$type": str,
                        "record": {
                            "uri": str,
                            "cid": str,
                        },
                    },
                    "media?": {
                        "$type": str,
                        "external": {
                            "uri": str,
                            "title": str,
                            "description": str,
                            "thumb": None,
                        },
                    },
                },
            },
            "replyCount": int,
            "repostCount": int,
            "likeCount": int,
            "quoteCount": int,
            "indexedAt": str,
            "labels": [ANY],
            "embed?": {
                "$type": str,
                "external": {
                    "uri": str,
                    "title": str,
                    "description": str,
                },
            },
        }
    ],
    "hitsTotal": int,
    "cursor?": str,
}

BLUESKY_SESSION: Shape = {
    "did": str,
    "handle": str,
    "email?": str,
    "emailConfirmed?": bool,
    "accessJwt": str,
    "refreshJwt": str,
    "active": bool,
}

LEMMY_POST_VIEW: Shape = {
    "post": {
        "id": int,
        "name": str,
        "url": None | str,
        "body": None | str,
        "creator_id": int,
        "community_id": int,
        "removed": bool,
        "locked": bool,
        "published": str,
        "updated?": None,
        "deleted": bool,
        "nsfw": bool,
        "thumbnail_url": None,
        "ap_id": str,
        "local": bool,
        "language_id": int,
        "featured_community": bool,
        "featured_local": bool,
        "embed_title?": None | str,
        "embed_description?": str,
    },
    "creator": {
        "id": int,
        "name": str,
        "display_name?": None | str,
        "avatar?": None,
        "banned?": bool,
        "published?": str,
        "actor_id": str,
        "local": bool,
        "deleted?": bool,
        "bot_account?": bool,
        "instance_id?": int,
    },
    "community": {
        "id": int,
        "name": str,
        "title": str,
        "removed?": bool,
        "published?": str,
        "deleted?": bool,
        "nsfw?": bool,
        "actor_id": str,
        "local?": bool,
        "hidden?": bool,
        "posting_restricted_to_mods?": bool,
        "instance_id?": int,
        "visibility?": str,
    },
    "creator_banned_from_community": bool,
    "banned_from_community?": bool,
    "creator_is_moderator?": bool,
    "creator_is_admin?": bool,
    "counts": {
        "post_id": int,
        "comments": int,
        "score": int,
        "upvotes": int,
        "downvotes": int,
        "published": str,
        "newest_comment_time": str,
    },
    "subscribed": str,
    "saved": bool,
    "read": bool,
    "hidden?": bool,
    "creator_blocked": bool,
    "my_vote": None,
    "unread_comments": int,
}

LEMMY_SEARCH: Shape = {
    "type_": str,
    "comments": [ANY],
    "posts": [LEMMY_POST_VIEW],
    "communities": [ANY],
    "users": [ANY],
}

LEMMY_POST: Shape = {
    "post_view": LEMMY_POST_VIEW,
    "community_view": {
        "community": {
            "id": int,
            "name": str,
            "title": str,
            "removed": bool,
            "published": str,
            "deleted": bool,
            "nsfw": bool,
            "actor_id": str,
            "local": bool,
            "hidden": bool,
            "posting_restricted_to_mods": bool,
            "instance_id": int,
            "visibility": str,
        },
        "subscribed": str,
        "blocked": bool,
        "counts": {
            "community_id?": int,
            "subscribers?": int,
            "posts?": int,
            "comments?": int,
        },
        "banned_from_community?": bool,
    },
    "moderators": [ANY],
    "cross_posts": [ANY],
}

STACK_ITEMS: Shape = {
    "items": [
        {
            "tags": [str],
            "owner": {
                "account_id": int,
                "reputation": int,
                "user_id": int,
                "user_type": str,
                "profile_image?": str,
                "display_name": str,
                "link": str,
            },
            "is_answered": bool,
            "view_count": int,
            "answer_count": int,
            "score": int,
            "last_activity_date": int,
            "creation_date": int,
            "question_id": int,
            "content_license": str,
            "link": str,
            "title": str,
            "body?": str,
        }
    ],
    "has_more": bool,
    "quota_max": int,
    "quota_remaining": int,
    "backoff?": int,  # seconds to wait before the next request of this method
}

STACK_ERROR: Shape = {
    "error_id": int,
    "error_message": str,
    "error_name": str,
}

DISCOURSE_SEARCH: Shape = {
    "posts": [
        {
            "id": int,
            "name": str,
            "username": str,
            "avatar_template": str,
            "created_at": str,
            "like_count": int,
            "blurb": str,
            "post_number": int,
            "topic_title_headline?": str,
            "topic_id": int,
            "cooked?": str,
        }
    ],
    "topics": [
        {
            "id": int,
            "title": str,
            "fancy_title": str,
            "slug": str,
            "posts_count": int,
            "reply_count": int,
            "highest_post_number": int,
            "image_url?": None,
            "created_at": str,
            "last_posted_at?": str,
            "bumped?": bool,
            "bumped_at?": str,
            "archetype?": str,
            "unseen?": bool,
            "pinned?": bool,
            "unpinned?": None,
            "visible?": bool,
            "closed?": bool,
            "archived?": bool,
            "bookmarked?": None,
            "liked?": None,
            "tags": [str],
            "tags_descriptions?": {},
            "category_id": int,
            "has_accepted_answer?": bool,
            "views": int,
            "like_count": int,
            "last_poster_username?": str,
            "pinned_globally?": bool,
            "featured_link?": None,
            "has_summary?": bool,
            "op_like_count?": int,
            "excerpt?": str,
            "posters?": [
                {
                    "extras": str,
                    "description": str,
                    "user_id": int,
                    "primary_group_id": None,
                    "flair_group_id": None,
                }
            ],
        }
    ],
    "users": [ANY],
    "categories": [ANY],
    "tags": [ANY],
    "groups": [ANY],
    "grouped_search_result": {
        "more_posts": None | bool,
        "more_users": None,
        "more_categories": None,
        "term": str,
        "search_log_id": int,
        "more_full_page_results": None | bool,
        "can_create_topic": bool,
        "error": None,
        "extra?": {},
        "post_ids": [int],
        "user_ids": [ANY],
        "category_ids": [ANY],
        "tag_ids": [ANY],
        "group_ids": [ANY],
    },
}

DISCOURSE_LATEST: Shape = {
    "users": [
        {
            "id": int,
            "username": str,
            "name": str,
            "avatar_template": str,
            "trust_level": int,
            "animated_avatar?": None,
        }
    ],
    "primary_groups": [ANY],
    "flair_groups": [ANY],
    "topic_list": {
        "can_create_topic": bool,
        "more_topics_url": str,
        "per_page": int,
        "top_tags": [str],
        "topics": [
            {
                "id": int,
                "title": str,
                "fancy_title": str,
                "slug": str,
                "posts_count": int,
                "reply_count?": int,
                "highest_post_number": int,
                "image_url": None,
                "created_at": str,
                "last_posted_at": str,
                "bumped": bool,
                "bumped_at": str,
                "archetype": str,
                "unseen": bool,
                "pinned": bool,
                "unpinned": None,
                "visible": bool,
                "closed": bool,
                "archived": bool,
                "bookmarked": None,
                "liked": None,
                "tags": [str],
                "tags_descriptions": {},
                "category_id": int,
                "views": int,
                "like_count": int,
                "last_poster_username": str,
                "pinned_globally": bool,
                "featured_link": None,
                "has_summary": bool,
                "op_like_count": int,
                "posters": [
                    {
                        "extras": None | str,
                        "description": str,
                        "user_id": int,
                        "primary_group_id": None,
                        "flair_group_id": None,
                    }
                ],
                "excerpt?": str,
                "has_accepted_answer?": bool,
            }
        ],
    },
}

GITHUB_SEARCH: Shape = {
    "total_count": int,
    "incomplete_results": bool,
    "items": [
        {
            "url": str,
            "repository_url?": str,
            "labels_url?": str,
            "comments_url?": str,
            "events_url?": str,
            "html_url": str,
            "id": int,
            "node_id?": str,
            "number": int,
            "title": str,
            "user": {
                "login": str,
                "id": int,
                "node_id?": str,
                "avatar_url?": str,
                "gravatar_id?": str,
                "url?": str,
                "html_url?": str,
                "type": str,
                "user_view_type?": str,
                "site_admin?": bool,
            },
            "labels": [
                {
                    "id": int,
                    "name": str,
                    "color": str,
                    "default": bool,
                    "description": str,
                }
            ],
            "state": str,
            "locked": bool,
            "assignee?": None,
            "assignees?": [ANY],
            "milestone?": None,
            "comments": int,
            "created_at": str,
            "updated_at": str,
            "closed_at": None,
            "author_association": str,
            "type?": None,
            "active_lock_reason?": None,
            "sub_issues_summary?": {
                "total": int,
                "completed": int,
                "percent_completed": int,
            },
            "body": None | str,
            "closed_by?": None,
            "reactions": {
                "url": str,
                "total_count": int,
                "+1": int,
                "-1": int,
                "laugh": int,
                "hooray": int,
                "confused": int,
                "heart": int,
                "rocket": int,
                "eyes": int,
            },
            "timeline_url?": str,
            "performed_via_github_app?": None,
            "state_reason?": None,
            "score": float,
            "draft?": bool,
            "pull_request?": {
                "url": str,
                "html_url": str,
                "diff_url": str,
                "patch_url": str,
                "merged_at": None,
            },
        }
    ],
}


# The single records some endpoints answer with, and the getPosts answer.
MASTODON_STATUS: Shape = MASTODON_STATUSES[0]
BLUESKY_POSTS: Shape = {"posts": BLUESKY_SEARCH["posts"]}
