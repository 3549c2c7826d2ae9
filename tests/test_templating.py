"""Templates render synchronously and build URLs with a shortcut (templating.py): the
shortcut must give exactly what Quart's url_for gives, for every route. Fragments kept for
everyone (cards, comments) are keyed by all they show, and carry each viewer's own token,
path and buttons."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from quart import Quart, url_for
from werkzeug.routing import AnyConverter, BaseConverter, IntegerConverter, PathConverter

from hyperpics.web import templating

from .html import elements, texts


def _samples(converter: BaseConverter) -> list[object]:
    if isinstance(converter, IntegerConverter):
        return [1, 2_147_483_647]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    if isinstance(converter, PathConverter):
        return ["a/b c"]
    return ["ana", "ça va/ou?#&", "日本"]


async def test_the_template_url_builder_matches_quart_on_every_route(app: Quart) -> None:
    builder = app.jinja_env.globals["url_for"]
    assert isinstance(builder, templating.UrlBuilder)
    checked = 0
    async with app.test_request_context("/"):
        for rule in app.url_map.iter_rules():
            samples = {name: _samples(converter) for name, converter in rule._converters.items()}  # noqa: SLF001
            for index in range(3):
                values = {name: found[index % len(found)] for name, found in samples.items()}
                for extra in ({}, {"page": 2, "q": "a b&c"}, {"next": None}):
                    expected = url_for(rule.endpoint, **values, **extra)
                    assert builder(rule.endpoint, **values, **extra) == expected, (rule.rule, values, extra)
                    checked += 1
    assert checked > 100


async def test_options_and_relative_names_go_to_quart(app: Quart) -> None:
    builder = app.jinja_env.globals["url_for"]
    async with app.test_request_context("/photo/3", root_path=""):
        assert builder("photos.show", photo_id=3, _anchor="comments") == "/photo/3#comments"
        assert builder("photos.show", photo_id=3, _external=True) == "http://localhost/photo/3"
    async with app.test_request_context("/photo/3", root_path="/pics"):
        assert builder("photos.show", photo_id=3) == "/pics/photo/3"


async def test_pages_render_without_jinja_async_mode(app: Quart) -> None:
    assert app.jinja_env.is_async is False
    page = await app.test_client().get("/explore")
    assert page.status_code == 200
    assert "Explore" in texts(await page.get_data(as_text=True), "h1")


async def test_no_context_processor_sends_a_rendering_to_a_thread(app: Quart) -> None:
    """Quart runs a synchronous context processor in a thread on every rendering; the ones that
    add nothing (Flask's per blueprint, Quart-Auth's) are gone, and the rest are coroutines."""
    import inspect

    processors = [processor for found in app.template_context_processors.values() for processor in found]
    assert processors, "the app's own context processor (the viewer) is missing"
    for processor in processors:
        assert inspect.iscoroutinefunction(processor), f"{processor.__module__}.{processor.__qualname__}"
    async with app.test_request_context("/explore"):
        context: dict[str, object] = {"current_user": "given"}
        await templating._context(context)  # noqa: SLF001
    assert {"g", "request", "session", "Permission", "unread_count"} <= context.keys()
    assert context["current_user"] == "given"  # what the caller gives wins


async def test_a_global_added_after_templates_loaded_is_seen_by_them(app: Quart) -> None:
    """Templates hold a plain copy of the globals (templating.Environment.make_globals): a
    change to them drops the templates made before it, rather than going unseen."""
    env = app.jinja_env
    name = "partials/field_error.html"
    assert "late_global" not in env.get_template(name).globals
    env.globals["late_global"] = "seen"
    assert env.get_template(name).globals["late_global"] == "seen"
    assert env.from_string("{{ late_global }}").render(field="x", message="") == "seen"
    env.globals.pop("late_global")
    assert "late_global" not in env.get_template(name).globals


def _card(**photo_values: object):  # type: ignore[no-untyped-def]

    from hyperpics.models import Photo, User, Visibility
    from hyperpics.services.photos import Card

    author = User(id=7, username="ana", name="Ana", email="ana@example.com", bio="", avatar_medium="a" * 24 + "_m.png")
    values: dict[str, object] = {
        "id": 3, "author_id": 7, "description": "sea", "alt_text": "", "visibility": Visibility.PUBLIC,
        "filename_original": "b" * 24 + ".jpg", "filename_medium": "b" * 24 + "_m.jpg",
        "filename_small": "b" * 24 + "_s.jpg", "width": 1200, "height": 800, "can_comment": True,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "derivatives": 1, "colour": "#336699",
    }  # fmt: skip
    values.update(photo_values)
    photo = Photo(**values)
    photo.author = author
    return Card(photo, 4, 5)


async def test_a_cached_card_shows_only_what_its_key_holds(app: Quart) -> None:
    """CardCache keeps a card by the values in ``shown``: every column the card's template
    reads must be among them, or an edit would leave the old card in the cache."""
    from hyperpics.models import Photo, Visibility

    cards = app.jinja_env.globals["photo_card"]
    changed_values = {
        "description": "harbour", "alt_text": "boats", "visibility": Visibility.PRIVATE, "width": 640, "height": 480,
        "filename_small": "c" * 24 + "_s.jpg", "filename_medium": "c" * 24 + "_m.jpg",
        "filename_original": "c" * 24 + ".jpg", "can_comment": False, "derivatives": 0, "colour": "#cc2200",
    }  # fmt: skip
    async with app.test_request_context("/"):
        base = _card()
        rendered = app.jinja_env.get_template(cards.TEMPLATE).render(card=base, byline=True)
        assert cards(base) == rendered
        for column in Photo.__table__.columns.keys():  # noqa: SIM118 (a ColumnCollection is not a dict)
            if column not in changed_values:
                continue
            other = _card(**{column: changed_values[column]})
            differs = app.jinja_env.get_template(cards.TEMPLATE).render(card=other, byline=True) != rendered
            in_key = cards.shown(other) != cards.shown(base)
            assert not differs or in_key, f"the card shows photo.{column}, which CardCache.shown leaves out"
        for column in ("username", "name", "email", "bio", "avatar_medium"):
            other = _card()
            setattr(other.photo.author, column, "zed")
            differs = app.jinja_env.get_template(cards.TEMPLATE).render(card=other, byline=True) != rendered
            assert not differs or cards.shown(other) != cards.shown(base), f"author.{column} is shown, not in the key"


def _comment(**values: object):  # type: ignore[no-untyped-def]
    from hyperpics.models import Comment, User

    author = User(id=8, username="bea", name="Bea", email="bea@example.com", bio="", avatar_medium="d" * 24 + "_m.png")
    replied = Comment(id=4, photo_id=3, author_id=7, body="first", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    replied.author = _card().photo.author
    fields: dict[str, object] = {
        "id": 5, "photo_id": 3, "author_id": 8, "body": "lovely light", "reply_to_id": 4,
        "created_at": datetime(2026, 1, 2, tzinfo=UTC),
    }  # fmt: skip
    fields.update(values)
    comment = Comment(**fields)
    comment.author, comment.reply_to = author, replied
    return comment


async def test_a_cached_comment_shows_only_what_its_key_holds(app: Quart) -> None:
    """comment_item keeps a comment by comment_shown: every value the comment's template
    reads must be in it, or a change would leave the old comment on the page."""
    from hyperpics.forms.photos import ReportForm
    from hyperpics.views.comments import COMMENT_TEMPLATE, comment_shown

    def render(comment, photo) -> str:  # type: ignore[no-untyped-def]
        can_reply, can_delete, can_report = comment_shown(comment, photo, None)[-3:]
        return app.jinja_env.get_template(COMMENT_TEMPLATE).render(
            comment=comment, photo=photo, can_reply=can_reply, can_delete=can_delete, can_report=can_report,
            report_form=ReportForm(),
        )  # fmt: skip

    async with app.test_request_context("/photo/3"):
        photo = _card().photo
        base = _comment()
        rendered, key = render(base, photo), comment_shown(base, photo, None)
        changes: dict[str, object] = {
            "id": 6, "body": "harsh light", "author_id": 7, "created_at": datetime(2025, 6, 1, tzinfo=UTC),
        }  # fmt: skip
        for column, value in changes.items():
            other = _comment(**{column: value})
            differs = render(other, photo) != rendered
            assert not differs or comment_shown(other, photo, None) != key, f"comment.{column} is shown, not in the key"
        for column in ("username", "name", "avatar_medium", "id"):
            other = _comment()
            setattr(other.author, column, 99 if column == "id" else "zed")
            differs = render(other, photo) != rendered
            assert not differs or comment_shown(other, photo, None) != key, f"author.{column} is shown, not in the key"
        # A reply names whom it answers when that is a reply itself (a direct reply sits under it).
        nested = _comment()
        nested.reply_to.reply_to_id = 2
        assert render(nested, photo) != rendered and comment_shown(nested, photo, None) != key
        other = _comment()
        other.reply_to.reply_to_id = 2
        other.reply_to.author.name = "Zed"
        assert render(other, photo) != render(nested, photo)
        assert comment_shown(other, photo, None) != comment_shown(nested, photo, None)
        top = _comment(reply_to_id=None)
        top.reply_to = None
        assert render(top, photo) != rendered and comment_shown(top, photo, None) != key
        other_photo = _card(author_id=8).photo  # the commenter is now the photo's author: a badge
        assert render(base, other_photo) != rendered and comment_shown(base, other_photo, None) != key


async def test_comments_kept_for_everyone_carry_each_viewers_own_token_path_and_buttons(app: Quart) -> None:
    from .conftest import Tab, make_user
    from .factories import add_comment, add_photo
    from .helpers import user_ids

    tabs = {name: Tab(app) for name in ("owner", "ana", "bruno")}
    for name, tab in tabs.items():
        await make_user(app, tab, name)
    ids = await user_ids(app)
    photo = await add_photo(app, "owner")
    for author in ("ana", "bruno"):
        await add_comment(app, ids[author], photo, f"a word from {author}", None, minutes_ago=5)
    pages = {name: await tab.get(f"/photo/{photo}?page=1") for name, tab in tabs.items()}
    again = await tabs["ana"].get(f"/photo/{photo}?page=1")  # from the kept fragments this time
    for name, page in {**pages, "ana again": again}.items():
        assert page.status == 200
        assert templating.SLOT_MARK not in page.text
        tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page.text))
        assert tokens == {tabs[name.split()[0]].csrf}, name  # this session's token in every form
        paths = set(re.findall(r'name="next" value="([^"]+)"', page.text))
        assert paths == {f"/photo/{photo}?page=1"}, name
    for name in ("ana", "bruno"):
        deletable = re.findall(r'hx-post="/_/comments/(\d+)/delete"', pages[name].text)
        reportable = re.findall(r'id="report-comment-(\d+)"', pages[name].text)
        assert len(deletable) == 1 and len(reportable) == 1  # their own to delete, the other's to report
        assert deletable != reportable
    owner_deletes = re.findall(r'hx-post="/_/comments/(\d+)/delete"', pages["owner"].text)
    assert len(owner_deletes) == 2  # the photo's author may delete both
    assert re.findall(r'hx-post="/_/comments/(\d+)/delete"', again.text) == re.findall(
        r'hx-post="/_/comments/(\d+)/delete"', pages["ana"].text
    )


async def test_a_cached_notification_shows_only_what_its_key_holds(app: Quart) -> None:
    """notification_item keeps a line of the list by notification_shown: everything the line's
    template reads must be in it."""
    from collections.abc import Callable

    from hyperpics.models import Comment, Notification, NotificationKind, Visibility
    from hyperpics.services.notifications import Group
    from hyperpics.views.notifications import NOTIFICATION_TEMPLATE, notification_shown

    def line(change: Callable[[Group], object] = lambda group: None) -> Group:
        latest = Notification(
            id=11, receiver_id=9, actor_id=7, kind=NotificationKind.COMMENT, photo_id=3, comment_id=5,
            created_at=datetime(2026, 1, 2, tzinfo=UTC),
        )  # fmt: skip
        latest.comment = Comment(id=5, photo_id=3, author_id=7, body="nice", created_at=latest.created_at)
        latest.photo = _card().photo
        group = Group(
            kind=NotificationKind.COMMENT, latest=latest, actors=[_card().photo.author], ids=[11, 10], unread=True
        )
        change(group)
        return group

    def render(group: Group) -> str:
        return app.jinja_env.get_template(NOTIFICATION_TEMPLATE).render(group=group)

    changes: dict[str, Callable[[Group], object]] = {
        "kind": lambda group: setattr(group, "kind", NotificationKind.REPLY),
        "unread": lambda group: setattr(group, "unread", False),
        "ids": lambda group: group.ids.pop(),
        "actors": lambda group: group.actors.append(_comment().author),
        "actor's name": lambda group: setattr(group.actors[0], "name", "Zed"),
        "actor's username": lambda group: setattr(group.actors[0], "username", "zed"),
        "latest.id": lambda group: setattr(group.latest, "id", 12),
        "latest.photo_id": lambda group: setattr(group.latest, "photo_id", 4),
        "latest.comment_id": lambda group: setattr(group.latest, "comment_id", 6),
        "latest.out_of_sight": lambda group: setattr(group.latest, "out_of_sight", True),
        "latest.created_at": lambda group: setattr(group.latest, "created_at", datetime(2025, 1, 1, tzinfo=UTC)),
        "the comment's words": lambda group: setattr(group.latest.comment, "body", "grand"),
        "actor's avatar": lambda group: setattr(group.actors[0], "avatar_medium", "e" * 24 + "_m.png"),
        "the photo's small file": lambda group: setattr(group.latest.photo, "filename_small", "f" * 24 + "_s.jpg"),
        "the photo's visibility": lambda group: setattr(group.latest.photo, "visibility", Visibility.FOLLOWERS),
        "the photo's alt text": lambda group: setattr(group.latest.photo, "alt_text", "boats at dawn"),
    }
    async with app.test_request_context("/notifications"):
        base = line()
        rendered, key = render(base), notification_shown(base)
        for name, change in changes.items():
            other = line(change)
            assert render(other) != rendered, f"changing {name} shows nothing new: the check tests nothing"
            assert notification_shown(other) != key, f"the line shows {name}, which notification_shown leaves out"


async def test_a_cached_search_hit_shows_only_what_its_key_holds(app: Quart) -> None:
    """search_hit keeps a photo or person found by search_hit_shown: every value its template
    reads must be in it."""
    from markupsafe import Markup

    from hyperpics.models import Visibility
    from hyperpics.services.search import Hit
    from hyperpics.views.search import HIT_TEMPLATES, search_hit_shown

    def render(hit: Hit, category: str) -> str:
        return app.jinja_env.get_template(HIT_TEMPLATES[category]).render(hit=hit)

    photo_changes = {
        "id": 9, "visibility": Visibility.FOLLOWERS, "filename_small": "c" * 24 + "_s.jpg", "width": 300,
        "height": 900, "alt_text": "boats", "description": "harbour", "filename_original": "c" * 24 + ".jpg",
        "derivatives": 0, "colour": "#cc2200",
    }  # fmt: skip
    async with app.test_request_context("/search"):
        base = Hit(_card().photo, Markup("a <mark>sea</mark> view"))
        rendered, key = render(base, "photo"), search_hit_shown(base, "photo")
        variants = {
            f"photo.{name}": Hit(_card(**{name: value}).photo, base.snippet) for name, value in photo_changes.items()
        }
        variants["the snippet"] = Hit(_card().photo, Markup("<mark>sea</mark>"))
        for name in ("id", "username", "name"):
            other = Hit(_card().photo, base.snippet)
            setattr(other.item.author, name, 99 if name == "id" else "zed")  # type: ignore[attr-defined]
            variants[f"author.{name}"] = other
        for name, other in variants.items():
            assert render(other, "photo") != rendered, f"changing {name} shows nothing new: the check tests nothing"
            assert search_hit_shown(other, "photo") != key, f"a photo found shows {name}, not in the key"

        person = Hit(_card().photo.author, Markup("likes the <mark>sea</mark>"))
        rendered, key = render(person, "user"), search_hit_shown(person, "user")
        for name, value in {"id": 99, "username": "zed", "name": "Zed", "avatar_medium": "e" * 24 + "_m.png"}.items():
            other = Hit(_card().photo.author, person.snippet)
            setattr(other.item, name, value)
            assert render(other, "user") != rendered and search_hit_shown(other, "user") != key, name
        other = Hit(person.item, Markup("sea"))
        assert render(other, "user") != rendered and search_hit_shown(other, "user") != key


def _viewer(**values: object):  # type: ignore[no-untyped-def]
    from hyperpics.models import Role, RoleName, User

    fields: dict[str, object] = {
        "id": 9, "username": "cleo", "name": "Cleo", "email": "cleo@example.com", "bio": "", "active": True,
        "confirmed": True, "avatar_small": "e" * 24 + "_s.png", "theme": "system",
    }  # fmt: skip
    role = values.pop("role", RoleName.USER)
    fields.update(values)
    viewer = User(**fields)
    permissions = {RoleName.LOCKED: 0b11, RoleName.USER: 0b1111, RoleName.MODERATOR: 0b11111}.get(role, 0b111111)  # type: ignore[call-overload]
    viewer.role = Role(id=1, name=role, permissions=permissions)
    return viewer


async def test_the_kept_nav_shows_only_what_its_key_holds(app: Quart) -> None:
    """site_nav() keeps the nav by layout.nav_shown: every value the template reads must be
    in it, or one member's name, avatar or count would show on another's page."""
    from hyperpics.models import RoleName
    from hyperpics.web.layout import NAV_TEMPLATE, nav_context, nav_shown

    def render(viewer, unread: int = 2, endpoint: str = "photos.show", query: str = "") -> str:  # type: ignore[no-untyped-def]
        return app.jinja_env.get_template(NAV_TEMPLATE).render(nav_context(viewer, unread, endpoint, query))

    async with app.test_request_context("/photo/3"):
        base = _viewer()
        rendered, key = render(base), nav_shown(base, 2, "photos.show", "")
        for column, value in {
            "id": 10,
            "username": "zed",
            "name": "Zed",
            "avatar_small": None,
            "theme": "dark",
        }.items():
            other = _viewer(**{column: value})
            differs = render(other) != rendered
            assert not differs or nav_shown(other, 2, "photos.show", "") != key, (
                f"user.{column} is shown, not in the key"
            )
        moderator = _viewer(role=RoleName.MODERATOR)
        assert render(moderator) != rendered and nav_shown(moderator, 2, "photos.show", "") != key
        assert render(base, unread=3) != rendered and nav_shown(base, 3, "photos.show", "") != key
        for endpoint in ("main.index", "main.explore"):
            assert render(base, endpoint=endpoint) != rendered
            assert nav_shown(base, 2, endpoint, "") != key
        assert render(base, endpoint="search.index", query="sea") != rendered
        assert nav_shown(base, 2, "search.index", "sea") != key
        # Off the search page the words searched are not shown, so they do not split the key.
        assert nav_shown(base, 2, "photos.show", "sea") == key
        assert render(None) != rendered and nav_shown(None, 0, "photos.show", "") != key


async def test_each_member_gets_their_own_nav_from_the_kept_copies(app: Quart) -> None:
    from .conftest import Tab, make_user

    tabs = {name: Tab(app) for name in ("ana", "bruno")}
    for name, tab in tabs.items():
        await make_user(app, tab, name)
    for _ in range(2):  # the second time from the kept navs
        for name, tab in tabs.items():
            page = await tab.get("/explore")
            assert page.status == 200
            nav = page.text.split('<main id="content"')[0]
            assert f"@{name}<" in nav and f"/user/{name}" in nav
            assert templating.SLOT_MARK not in page.text
            logout_token = re.search(
                r'action="/auth/logout">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', nav
            )
            assert logout_token is not None and logout_token.group(1) == tab.csrf
            assert elements(nav, '[href="/explore"][aria-current=page]')


async def test_a_kept_admin_user_row_shows_only_what_its_key_holds(app: Quart) -> None:
    """admin_user_row keeps a row of the users table by views/admin.user_row_shown: every value
    the row reads (the member's and what the viewer may do) must be in it."""
    from datetime import timedelta

    from hyperpics.models import Role, RoleName
    from hyperpics.services.admin_tables import UserRow
    from hyperpics.views.admin import USER_ROW_TEMPLATE, user_row_context, user_row_shown

    def row(photos: int = 3, reports: int = 1, **values: object) -> UserRow:
        fields: dict[str, object] = {"id": 20, "username": "dora", "name": "Dora", "email": "dora@example.com"}
        return UserRow(_viewer(**{**fields, **values}), photos, reports)

    def render(target: UserRow, viewer) -> str:  # type: ignore[no-untyped-def]
        return app.jinja_env.get_template(USER_ROW_TEMPLATE).render(user_row_context(target, viewer))

    admin, moderator = _viewer(role=RoleName.ADMINISTRATOR), _viewer(id=30, role=RoleName.MODERATOR)
    async with app.test_request_context("/admin/users"):
        joined = datetime(2026, 1, 1, tzinfo=UTC)
        base = row(member_since=joined)
        rendered, key = render(base, admin), user_row_shown(base, admin)
        changes: dict[str, object] = {
            "username": "zed", "name": "Zed", "email": "zed@example.com", "avatar_medium": "f" * 24 + "_m.png",
            "active": False, "confirmed": False, "member_since": joined - timedelta(days=400),
        }  # fmt: skip
        for column, value in changes.items():
            other = row(**{"member_since": joined, column: value})
            differs = render(other, admin) != rendered
            assert not differs or user_row_shown(other, admin) != key, f"user.{column} is shown, not in the key"
        for counts in ({"photos": 4}, {"reports": 0}):
            other = row(member_since=joined, **counts)  # type: ignore[arg-type]
            assert render(other, admin) != rendered and user_row_shown(other, admin) != key
        locked = row(member_since=joined, role=RoleName.LOCKED, locked=True)
        locked.user.role_before_lock = Role(id=3, name=RoleName.MODERATOR, permissions=0b11111)
        assert render(locked, admin) != rendered and user_row_shown(locked, admin) != key
        other_before = row(member_since=joined, role=RoleName.LOCKED, locked=True)
        other_before.user.role_before_lock = Role(id=1, name=RoleName.USER, permissions=0b1111)
        assert render(other_before, admin) != render(locked, admin)
        assert user_row_shown(other_before, admin) != user_row_shown(locked, admin)
        # What the viewer may do: a moderator gets no role form; nobody may block themselves.
        assert render(base, moderator) != rendered and user_row_shown(base, moderator) != key
        myself = row(id=admin.id, member_since=joined)
        mine = UserRow(myself.user, 3, 1)
        assert render(mine, admin) != render(row(member_since=joined, id=admin.id + 100), admin)
        assert user_row_shown(mine, admin) != user_row_shown(row(member_since=joined, id=admin.id + 100), admin)
        staff = row(member_since=joined, role=RoleName.MODERATOR)
        assert render(staff, moderator) != render(base, moderator)
        assert user_row_shown(staff, moderator) != user_row_shown(base, moderator)
