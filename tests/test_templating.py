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
