"""Rendering templates: Jinja in its plain, synchronous mode.

Quart runs Jinja in async mode, where every piece of output passes through an async
generator and every call through ``auto_await``. No template here awaits anything (the
context processors, which may, run before the render), so templates render synchronously:
the same pages in about half the time. Quart's own ``render_template`` cannot drive this
environment; everything renders through the functions here, which also refuse to render
inside a write transaction (db.check_not_writing).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, MutableMapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from jinja2 import Environment as JinjaEnvironment
from jinja2 import Template, nodes
from jinja2_fragments import BlockNotFoundError
from markupsafe import Markup, escape
from quart import current_app, g, has_request_context, request
from quart import url_for as quart_url_for
from werkzeug.routing import Rule

from ..infra import db

if TYPE_CHECKING:
    from quart import Quart


class Environment(JinjaEnvironment):
    """Quart's loader (the app's and the blueprints' templates), without async mode, and
    each template's globals in one plain dict (:meth:`make_globals`)."""

    def __init__(self, app: Quart, **options: Any) -> None:
        options.setdefault("loader", app.create_global_jinja_loader())
        options["enable_async"] = False
        super().__init__(**options)
        self.globals = _Globals(self, self.globals)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals: the environment's, then its own, copied into one dict.

        Jinja chains the two (a ChainMap), and every include and import copies or compares
        them key by key in Python: a few percent of a page. Jinja asks that globals not
        change once templates are loaded; here a change drops the loaded ones (_Globals)."""
        return {**self.globals, **(d or {})}


class _Globals(dict[str, Any]):
    """The environment's globals; a change forgets the templates made with a copy of them."""

    def __init__(self, env: JinjaEnvironment, values: dict[str, Any]) -> None:
        super().__init__(values)
        self._env = env

    def _changed(self) -> None:
        if self._env.cache is not None:
            self._env.cache.clear()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = super().setdefault(key, default)
        self._changed()
        return value

    def pop(self, key: str, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._changed()
        return value


def init_app(app: Quart) -> None:
    """Before anything touches ``app.jinja_env``: it is made from this class on first use."""
    app.jinja_environment = Environment  # type: ignore[assignment]
    app.jinja_env.globals["url_for"] = UrlBuilder(app)
    app.jinja_env.globals["photo_card"] = CardCache(app.jinja_env)


class FragmentCache:
    """A fragment rendered once per look, kept by the values it shows (the caller's ``key``).

    Nothing to invalidate: a change to anything the fragment shows is a new key. What belongs
    to one request (the session's form token, the page's path) is rendered as a stand-in
    (:func:`slot`) and filled in when the page is done (:func:`fill_slots`), so that one
    rendering serves everyone with the same key.
    """

    def __init__(self, env: JinjaEnvironment, template: str, size: int = 20_000) -> None:
        self._env = env
        self._template = template
        self._size = size
        self._kept: dict[tuple[Any, ...], tuple[Markup, bool]] = {}

    def get(self, key: tuple[Any, ...], context: Callable[[], dict[str, Any]]) -> Markup:
        """The fragment for ``key``; ``context()`` is called to render it only if it is not kept."""
        kept = self._kept.get(key)
        if kept is None:
            if len(self._kept) >= self._size:
                self._kept.clear()  # simpler than LRU, and a full refill costs one render per fragment
            state = g._get_current_object() if g else None
            # A kept fragment may draw others (a thread, its comments): the outer one is still
            # shared when an inner one is done.
            outer = state is not None and state.get("rendering_shared", False)
            if state is not None:
                state.rendering_shared = True
            try:
                html = Markup(self._env.get_template(self._template).render(context()))
            finally:
                if state is not None:
                    state.rendering_shared = outer
            kept = self._kept[key] = (html, SLOT_MARK in html)
        html, has_slots = kept
        if has_slots:
            g.slots_used = True
        return html


class CardCache:
    """``photo_card(card)`` in templates: a grid's photo card, rendered once per look.

    A card shows the same thing to everyone (no viewer, no token), so it is kept by the values
    it shows (:meth:`shown`), and a grid of cards costs twelve dictionary lookups. The template
    renders without the request's context, so it cannot come to depend on the viewer by
    accident; a value it starts to read must join :meth:`shown` (tests/test_templating.py
    checks them).
    """

    TEMPLATE = "partials/photo_card.html"

    def __init__(self, env: JinjaEnvironment, size: int = 20_000) -> None:
        self._cards = FragmentCache(env, self.TEMPLATE, size)

    @staticmethod
    def shown(card: Any) -> tuple[Any, ...]:
        photo, author = card.photo, card.photo.author
        return (
            photo.id, photo.visibility, photo.alt_text, photo.description, photo.filename_original,
            photo.filename_small, photo.width, photo.height, photo.derivatives, photo.colour, author.id,
            author.username, author.name, card.collects, card.comments,
        )  # fmt: skip

    def __call__(self, card: Any, byline: bool = True) -> Markup:
        """``byline=False`` leaves out the author's name (their own profile's grid)."""
        return self._cards.get((*self.shown(card), byline), lambda: {"card": card, "byline": byline})


# Stand-ins for what belongs to one request, in fragments rendered for everyone: private-use
# characters, which nothing escapes and no page holds otherwise.
SLOT_MARK = "\ue000"
_slot_values: dict[str, Callable[[], str]] = {}


def register_slot(name: str, value: Callable[[], str]) -> None:
    """``value()`` fills the stand-in that :func:`slot` gives for ``name``."""
    _slot_values[name] = value


def slot(name: str) -> str | None:
    """The stand-in for ``name`` while a shared fragment renders; None otherwise (render the value)."""
    if not g or not g.get("rendering_shared"):
        return None
    return f"{SLOT_MARK}{name}{SLOT_MARK}"


def fill_slots(html: str) -> str:
    """The page with its stand-ins replaced by this request's values (escaped, as the
    template would have escaped them)."""
    if not g or not g.pop("slots_used", False):
        return html
    # One pass over the page: between the marks, every other piece is a slot's name.
    pieces = html.split(SLOT_MARK)
    values: dict[str, str] = {}
    for index in range(1, len(pieces), 2):
        name = pieces[index]
        if name not in values:
            values[name] = str(escape(_slot_values[name]()))
        pieces[index] = values[name]
    return "".join(pieces)


class UrlBuilder:
    """``url_for`` for templates, where a grid calls it a hundred times a page.

    Quart's searches the URL map for the endpoint's rule on every call; here an endpoint
    with a single rule is built by that rule directly (werkzeug's own compiled builder, so the
    URL is the same, query string included), once per endpoint and values. Anything else goes
    to Quart's: blueprint-relative names, ``_external`` and the other options, an app mounted
    below ``/``, URL defaults.
    """

    KEPT = 50_000  # URLs kept by endpoint and values: the same links recur on every page

    def __init__(self, app: Quart) -> None:
        self._app = app
        self._rules: dict[str, Rule | None] | None = None
        self._built: dict[tuple[Any, ...], str] = {}

    def _rule(self, endpoint: str) -> Rule | None:
        if self._rules is None:  # the URL map is complete once the app serves
            found: dict[str, list[Rule]] = {}
            for rule in self._app.url_map.iter_rules():
                found.setdefault(rule.endpoint, []).append(rule)
            plain = not (self._app.url_default_functions or self._app.url_map.host_matching)
            self._rules = {name: rules[0] if plain and len(rules) == 1 else None for name, rules in found.items()}
        return self._rules.get(endpoint)

    def __call__(self, endpoint: str, **values: Any) -> str:
        if request.root_path:
            return quart_url_for(endpoint, **values)
        key = (endpoint, *values.items())
        try:
            return self._built[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value (a list): Quart's, below
            key = ()
        rule = self._rule(endpoint)
        if rule is None or not key:
            return quart_url_for(endpoint, **values)
        given = {}
        for name, value in values.items():
            if name[0] == "_" or isinstance(value, list | tuple):  # options, several values
                return quart_url_for(endpoint, **values)
            if value is not None:
                given[name] = value
        built = rule.build(given)
        if built is None:  # a value its converter refuses, or a missing one: Quart says why
            return quart_url_for(endpoint, **values)
        if len(self._built) >= self.KEPT:
            self._built.clear()
        url = self._built[key] = "/" + built[1].lstrip("/")
        return url


def settle_context_processors(app: Quart) -> None:
    """Once every blueprint is registered: drop the context processors that add nothing here.

    Each blueprint brings Flask's default one (it reads Flask's context, empty under Quart), and
    Quart-Auth brings one for its own ``current_user`` (auth.py's replaces it). Both are
    synchronous, and Quart runs a synchronous processor in a thread: two thread hops per
    rendering, for nothing."""
    from flask.templating import _default_template_ctx_processor as flask_default
    from quart_auth import QuartAuth

    for processors in app.template_context_processors.values():
        processors[:] = [
            processor
            for processor in processors
            if processor is not flask_default
            and getattr(processor, "__func__", None) is not QuartAuth._template_context
        ]


async def _context(context: dict[str, Any]) -> JinjaEnvironment:
    """``context`` with what the app's context processors add (what the caller gave wins).

    Quart's ``update_template_context``, except that a synchronous processor is called
    in place rather than in a thread: a context processor only gathers values."""
    app = current_app._get_current_object()
    names: list[str | None] = [None]
    if has_request_context():
        names.extend(reversed(request.blueprints))
    added: dict[str, Any] = {}
    for name in names:
        for processor in app.template_context_processors.get(name, ()):
            values = processor()
            added.update(await values if inspect.isawaitable(values) else values)
    for key, value in added.items():
        context.setdefault(key, value)
    return app.jinja_env


async def render_template(name: str, **context: Any) -> str:
    db.check_not_writing(f"rendering {name}")
    env = await _context(context)
    return fill_slots(env.get_template(name).render(context))


async def render_block(template: str, block: str, **context: Any) -> str:
    """One block of a page template, with the same context a whole render gets.

    The block may be defined by a template this one extends; the page's own overrides of
    blocks nested in it still apply. (jinja2-fragments only looks in the named template.)
    """
    db.check_not_writing(f"rendering {template}#{block}")
    env = await _context(context)
    page = env.get_template(template)
    render_context = page.new_context(context)
    for parent in _ancestors(env, template):
        for name, render in parent.blocks.items():
            render_context.blocks.setdefault(name, []).append(render)
    if block not in render_context.blocks:
        raise BlockNotFoundError(block, template)
    try:
        return fill_slots(env.concat(render_context.blocks[block][0](render_context)))
    except Exception:
        return env.handle_exception()


@cache
def _parent_name(env: JinjaEnvironment, name: str) -> str | None:
    source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    for extends in env.parse(source).find_all(nodes.Extends):
        if isinstance(extends.template, nodes.Const):
            return cast(str, extends.template.value)  # a template's name
    return None


def _ancestors(env: JinjaEnvironment, name: str) -> list[Template]:
    found = []
    parent = _parent_name(env, name)
    while parent is not None:
        found.append(env.get_template(parent))
        parent = _parent_name(env, parent)
    return found
