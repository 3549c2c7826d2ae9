"""One rule for acting on someone else's content, on every route that does it, each audited.

A moderator once made an administrator's private photo public, and deleted an administrator's
photo and comment; none of the photo-page or comment-thread actions wrote an audit row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from quart import Quart
from sqlalchemy import select

from hyperpics.infra.db import database
from hyperpics.models import AuditEntry, Comment, Photo, ReportTarget, Visibility

from .conftest import Tab, make_user
from .factories import add_comment, add_photo, add_report
from .helpers import user_ids
from .test_policy import rules


@dataclass
class ContentRoute:
    """How to act on a photo or a comment through one route (a POST)."""

    endpoint: str
    kind: str  # "photo" or "comment"
    url: Callable[[int], str]
    form: dict[str, str]
    audit_action: str


# Every POST route that acts on a photo or comment that may be someone else's.
CONTENT_ROUTES = [
    ContentRoute("photos.delete", "photo", lambda i: f"/photo/{i}/delete", {"reason": "off-topic"}, "photo.delete"),
    ContentRoute(
        "photos.edit",
        "photo",
        lambda i: f"/photo/{i}/edit",
        {"description": "rewritten", "visibility": "public", "tags": ""},
        "",
    ),
    ContentRoute("comments.delete", "comment", lambda i: f"/_/comments/{i}/delete", {}, "comment.delete"),
    ContentRoute(
        "admin_rows.delete", "photo", lambda i: f"/_/admin/photos/{i}/delete", {"confirmed": "1"}, "photo.delete"
    ),
    ContentRoute(
        "admin_rows.delete", "comment", lambda i: f"/_/admin/comments/{i}/delete", {"confirmed": "1"}, "comment.delete"
    ),
    ContentRoute(
        "admin_rows.report_action",
        "photo",
        lambda i: f"/_/admin/reports/photo/{i}/resolve",
        {"confirmed": "1"},
        "report.resolve",
    ),
    ContentRoute(
        "admin_rows.report_action",
        "comment",
        lambda i: f"/_/admin/reports/comment/{i}/resolve",
        {"confirmed": "1"},
        "report.resolve",
    ),
]
# POST routes naming a photo or comment that act only as the viewer themselves (their own
# collect, comment, report) or on the author's own settings: not content moderation.
OWN_ACTIONS = {
    "collect.collect",
    "collect.uncollect",
    "comments.add",
    "comments.toggle",
    "comments.report",
    "photos.report",
    "photos.upload",
}


def test_every_route_on_a_photo_or_comment_is_classified(app: Quart) -> None:
    """A new route acting on photos or comments must join CONTENT_ROUTES (and the rule) or
    say why it is the viewer's own action."""
    content = {route.endpoint for route in CONTENT_ROUTES}
    unclassified = []
    for rule in rules(app, {"POST"}):
        names_content = re.search(r"photo|comment|<[^>]*(photo_id|comment_id|row_id|target_id)>", rule.rule)
        if (
            names_content
            and rule.endpoint not in content | OWN_ACTIONS
            and not rule.endpoint.startswith(("admin_rows.bulk",))
        ):
            unclassified.append(f"{rule.rule} ({rule.endpoint})")
    assert not unclassified, unclassified


@dataclass
class Site:
    app: Quart
    tabs: dict[str, Tab]
    ids: dict[str, int]


@pytest.fixture
async def site(app: Quart, new_tab) -> Site:  # type: ignore[no-untyped-def]
    tabs = {
        "admin": await make_user(app, new_tab(), "boss", role="Administrator"),
        "moderator": await make_user(app, new_tab(), "mo", role="Moderator"),
        "member": await make_user(app, new_tab(), "ana"),
        "other": await make_user(app, new_tab(), "bob"),
    }
    return Site(app, tabs, await user_ids(app))


async def _content_by(site: Site, author: str, kind: str) -> int:
    """A private photo by ``author`` (or a comment by them on it), reported by bob."""
    photo = await add_photo(site.app, author, Visibility.PRIVATE if kind == "photo" else Visibility.PUBLIC)
    if kind == "photo":
        await add_report(site.app, "bob", ReportTarget.PHOTO, photo)
        return photo
    comment = await add_comment(site.app, author, photo, "a comment")
    await add_report(site.app, "bob", ReportTarget.COMMENT, comment)
    return comment


async def _state(site: Site, kind: str, target: int) -> tuple | None:
    async with database(site.app).session(write=False) as session:
        if kind == "photo":
            photo = await session.get(Photo, target)
            return None if photo is None else (photo.description, photo.visibility)
        comment = await session.get(Comment, target)
        return None if comment is None else (comment.body,)


async def _audit_rows(site: Site) -> list[AuditEntry]:
    async with database(site.app).session(write=False) as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


def _ids(route: ContentRoute) -> str:
    return f"{route.endpoint}-{route.kind}"


@pytest.mark.parametrize("route", CONTENT_ROUTES, ids=_ids)
async def test_a_moderator_cannot_act_on_an_administrators_content(site: Site, route: ContentRoute) -> None:
    target = await _content_by(site, "boss", route.kind)
    before = await _state(site, route.kind, target)
    page = await site.tabs["moderator"].post(route.url(target), route.form)
    assert page.status == 403, page.text[:300]
    assert await _state(site, route.kind, target) == before
    assert await _audit_rows(site) == []


@pytest.mark.parametrize("route", [r for r in CONTENT_ROUTES if r.audit_action], ids=_ids)
@pytest.mark.parametrize("actor, author", [("moderator", "ana"), ("admin", "mo"), ("admin", "boss2")])
async def test_acting_on_someone_elses_content_is_allowed_by_rank_and_audited(
    site: Site, route: ContentRoute, actor: str, author: str
) -> None:
    if author == "boss2":
        await make_user(site.app, Tab(site.app), "boss2", role="Administrator")
    target = await _content_by(site, author, route.kind)
    page = await site.tabs[actor].post(route.url(target), route.form)
    assert page.status in (200, 303), page.text[:300]
    assert await _state(site, route.kind, target) is None
    actions = {(entry.action, entry.actor_id) for entry in await _audit_rows(site)}
    assert (route.audit_action, site.ids["boss" if actor == "admin" else "mo"]) in actions


async def test_nobody_but_the_author_edits_a_photo(site: Site) -> None:
    for author, actor in (("ana", "moderator"), ("mo", "admin"), ("ana", "admin")):
        photo = await add_photo(site.app, author, Visibility.PRIVATE)
        page = await site.tabs[actor].post(
            f"/photo/{photo}/edit", {"description": "x", "visibility": "public", "tags": ""}
        )
        assert page.status == 403
        assert await _state(site, "photo", photo) == (f"a private photo by {author}", Visibility.PRIVATE)


async def test_a_photo_author_may_clear_comments_under_their_photo_and_it_is_audited(site: Site) -> None:
    photo = await add_photo(site.app, "ana")
    comment = await add_comment(site.app, "mo", photo, "a moderator's comment")
    page = await site.tabs["member"].post(f"/_/comments/{comment}/delete")
    assert page.status == 303
    [entry] = await _audit_rows(site)
    assert (entry.action, entry.actor_id, entry.before["author_id"]) == (
        "comment.delete",
        site.ids["ana"],
        site.ids["mo"],
    )


async def test_ones_own_content_leaves_no_audit_row(site: Site) -> None:
    photo = await add_photo(site.app, "mo")
    comment = await add_comment(site.app, "mo", photo, "mine")
    assert (await site.tabs["moderator"].post(f"/_/comments/{comment}/delete")).status == 303
    assert (await site.tabs["moderator"].post(f"/photo/{photo}/delete")).status == 303
    assert await _audit_rows(site) == []


async def test_buttons_follow_the_rule(site: Site) -> None:
    """The moderator sees no delete button on an administrator's photo, and one on a member's."""
    admins = await add_photo(site.app, "boss")
    members = await add_photo(site.app, "ana")
    on_admins = await site.tabs["moderator"].get(f"/photo/{admins}")
    on_members = await site.tabs["moderator"].get(f"/photo/{members}")
    assert "Delete as moderator" not in on_admins.text and "Edit details" not in on_admins.text
    assert "Delete as moderator" in on_members.text and "Edit details" not in on_members.text
