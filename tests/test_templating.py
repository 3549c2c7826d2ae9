"""Templates render synchronously and build URLs with a shortcut (templating.py): the
shortcut must give exactly what Quart's url_for gives, for every route."""

from __future__ import annotations

from quart import Quart, url_for

from hyperpics import templating

from werkzeug.routing import AnyConverter, BaseConverter, IntegerConverter, PathConverter


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
    assert "<h1>Explore</h1>" in await page.get_data(as_text=True)


def _card(**photo_values: object):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from hyperpics.models import Photo, User, Visibility
    from hyperpics.services.photos import Card

    author = User(id=7, username="ana", name="Ana", email="ana@example.com", bio="", avatar_medium="a" * 24 + "_m.png")
    values: dict[str, object] = {
        "id": 3, "author_id": 7, "description": "sea", "alt_text": "", "visibility": Visibility.PUBLIC,
        "filename_original": "b" * 24 + ".jpg", "filename_medium": "b" * 24 + "_m.jpg",
        "filename_small": "b" * 24 + "_s.jpg", "width": 1200, "height": 800, "can_comment": True,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
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
        "filename_original": "c" * 24 + ".jpg", "can_comment": False,
    }  # fmt: skip
    async with app.test_request_context("/"):
        base = _card()
        rendered = app.jinja_env.get_template(cards.TEMPLATE).render(card=base)
        assert cards(base) == rendered
        for column in Photo.__table__.columns.keys():
            if column not in changed_values:
                continue
            other = _card(**{column: changed_values[column]})
            differs = app.jinja_env.get_template(cards.TEMPLATE).render(card=other) != rendered
            in_key = cards.shown(other) != cards.shown(base)
            assert not differs or in_key, f"the card shows photo.{column}, which CardCache.shown leaves out"
        for column in ("username", "name", "email", "bio", "avatar_medium"):
            other = _card()
            setattr(other.photo.author, column, "zed")
            differs = app.jinja_env.get_template(cards.TEMPLATE).render(card=other) != rendered
            assert not differs or cards.shown(other) != cards.shown(base), f"author.{column} is shown, not in the key"
