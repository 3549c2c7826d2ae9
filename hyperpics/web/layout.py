"""The frame every page shares (the site's nav) and the hot-tags box, rendered once per look.

A member's nav differs from another's only by a few values (their name, avatar, unread count,
whether they moderate) and by the page it sits on; rendering it for every page was a sixth of
a member's page. ``site_nav()`` keeps it by those values (:func:`nav_shown`), with the logout
form's token as a stand-in (templating.slot), so a member's pages render it once per look.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from quart import Quart, g, request

from ..models import Permission, User
from .templating import FragmentCache

NAV_TEMPLATE = "partials/nav.html"
HOT_TAGS_TEMPLATE = "partials/hot_tags.html"
# The pages whose nav link is marked as the current one.
MARKED_PAGES = frozenset({"main.index", "main.explore"})


def nav_shown(viewer: User | None, unread: int, endpoint: str | None, search_query: str) -> tuple[Any, ...]:
    """What the nav shows: its key in the fragment cache. Everything the template reads is
    here (tests/test_templating.py checks it)."""
    current = endpoint if endpoint in MARKED_PAGES else None
    query = search_query if endpoint == "search.index" else ""
    if viewer is None:
        return (current, query)
    return (
        current, query, viewer.id, viewer.username, viewer.name, viewer.avatar_small,
        viewer.can(Permission.MODERATE), unread, viewer.theme,
    )  # fmt: skip


def nav_context(viewer: User | None, unread: int, endpoint: str | None, search_query: str) -> dict[str, Any]:
    key = nav_shown(viewer, unread, endpoint, search_query)
    return {
        "current_user": viewer,
        "current_page": key[0],
        "search_query": key[1],
        "unread_count": unread,
        "moderates": viewer is not None and viewer.can(Permission.MODERATE),
    }


def init_app(app: Quart) -> None:
    navs = FragmentCache(app.jinja_env, NAV_TEMPLATE)
    hot_tag_boxes = FragmentCache(app.jinja_env, HOT_TAGS_TEMPLATE, size=100)

    def site_nav() -> Markup:
        """``site_nav()`` in the layout: the nav for this viewer on this page."""
        viewer: User | None = g.get("user")
        unread = g.get("unread_count", 0) if viewer is not None else 0
        endpoint = request.endpoint if request else None
        query = request.args.get("q", "") if request else ""
        key = nav_shown(viewer, unread, endpoint, query)
        return navs.get(key, lambda: nav_context(viewer, unread, endpoint, query))

    def hot_tags_box(tags: Sequence[Any]) -> Markup:
        """``hot_tags_box(hot_tags)``: the tags box, the same for everyone who sees these tags."""
        return hot_tag_boxes.get(tuple(tags), lambda: {"hot_tags": tags})

    app.jinja_env.globals["site_nav"] = site_nav
    app.jinja_env.globals["hot_tags_box"] = hot_tags_box
