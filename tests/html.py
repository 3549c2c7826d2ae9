"""Read a page the way a person or a screen reader does: by ids, roles, attributes and the
text shown, not by the exact spelling of its markup (attribute order, quotes, spaces).

Only the standard library's html.parser: enough for the pages the app renders. Selectors
are the small, common part of CSS: ``tag``, ``#id``, ``.class``, ``[attr]``, ``[attr=value]``
(also ``~=``, ``^=``, ``*=``), combined (``a.btn.active[href="/x"]``) and nested with a space
(``nav.tabs a[aria-current=page]``).

    assert by_id(page.text, "bell-count").text == "3"
    assert [a["href"] for a in elements(page.text, "nav.tabs a")] == [...]
    tree = parse(page.text)  # once, when a test asks many questions of one page
    assert tree.select_one("a[aria-current=page]").text == "Photos"

(Module functions are named elements/element, not select, which the tests already import
from SQLAlchemy.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements that never have content or an end tag.
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
# An open element of the key's kind ends where one of these starts (HTML's optional end tags).
ENDED_BY = {
    "li": {"li"},
    "option": {"option", "optgroup"},
    "tr": {"tr"},
    "td": {"td", "th", "tr"},
    "th": {"td", "th", "tr"},
    "p": {"p", "div", "ul", "ol", "table", "form", "section", "article", "nav", "h1", "h2", "h3", "h4", "h5", "h6"},
}


@dataclass(eq=False)
class Element:
    """One element of the page: its tag, its attributes (values unescaped; a bare attribute
    is ""), and what it holds, in order (elements and strings of text)."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list, repr=False)
    parent: Element | None = field(default=None, repr=False)
    # Where it stands in the source: [start, end) of its markup, end tag included.
    span: tuple[int, int] = field(default=(0, 0), repr=False)
    source: str = field(default="", repr=False)

    # --- what it says ---------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text shown inside, its whitespace collapsed (as a reader sees it)."""
        return collapse("".join(self._strings()))

    def _strings(self) -> Iterator[str]:
        for child in self.children:
            if isinstance(child, str):
                yield child
            else:
                yield from child._strings()

    @property
    def markup(self) -> str:
        """Its markup as the server sent it (for the few checks that are about the bytes,
        such as escaping: nothing unescaped may appear anywhere inside)."""
        return self.source[self.span[0] : self.span[1]]

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def __getitem__(self, name: str) -> str:
        """An attribute that must be there (a KeyError names it otherwise)."""
        return self.attrs[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def has(self, name: str) -> bool:
        """Whether the attribute is set (``hidden``, ``disabled``, ``checked``...)."""
        return name in self.attrs

    # --- what it holds --------------------------------------------------------------------

    @property
    def elements(self) -> list[Element]:
        """The elements directly inside, in order (text between them left out)."""
        return [child for child in self.children if isinstance(child, Element)]

    def is_last(self) -> bool:
        """Whether nothing but whitespace follows this element inside its parent."""
        assert self.parent is not None
        after = self.parent.children[self.parent.children.index(self) + 1 :]
        return all(isinstance(child, str) and not child.strip() for child in after)

    def descendants(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.descendants()

    def select(self, selector: str) -> list[Element]:
        """Every element inside that matches ``selector``, in document order."""
        steps = _parse_selector(selector)
        return [element for element in self.descendants() if _matches_path(element, steps, self)]

    def select_one(self, selector: str) -> Element:
        """The one element inside that matches ``selector``; an AssertionError if there are
        none or several (a test that means "the" element should not pass on "an")."""
        found = self.select(selector)
        assert len(found) == 1, f"{len(found)} elements match {selector!r}: {[repr(e) for e in found][:5]}"
        return found[0]

    def first(self, selector: str) -> Element | None:
        found = self.select(selector)
        return found[0] if found else None

    def count(self, selector: str) -> int:
        return len(self.select(selector))

    def by_id(self, id_: str) -> Element:
        """The element with this id; an AssertionError if it is missing or not unique."""
        return self.select_one(f"#{_escape_id(id_)}")

    def find_id(self, id_: str) -> Element | None:
        """The element with this id, or None (for "it is not there" checks)."""
        return self.first(f"#{_escape_id(id_)}")

    def matches(self, selector: str) -> bool:
        """Whether this element itself matches a compound selector (no spaces)."""
        [step] = _parse_selector(selector)
        return step.matches(self)

    def closest(self, selector: str) -> Element | None:
        """This element or the nearest one around it that matches a compound selector."""
        node: Element | None = self
        while node is not None:
            if node.tag != "#document" and node.matches(selector):
                return node
            node = node.parent
        return None


def collapse(text: str) -> str:
    """Whitespace runs made one space, the ends trimmed."""
    return re.sub(r"\s+", " ", text).strip()


# --- parsing --------------------------------------------------------------------------------


class _TreeBuilder(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.root = Element("#document", span=(0, len(source)), source=source)
        self.open: list[Element] = [self.root]
        # Offsets of line starts, to turn the parser's (line, column) into an index.
        self.lines = [0] + [index + 1 for index, char in enumerate(source) if char == "\n"]

    def _here(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def _close(self, depth: int, end: int) -> None:
        for element in self.open[depth:]:
            element.span = (element.span[0], end)
        del self.open[depth:]

    def _add(self, tag: str, attrs: list[tuple[str, str | None]]) -> Element:
        start = self._here()
        if tag in ENDED_BY.get(self.open[-1].tag, ()):
            self._close(len(self.open) - 1, start)
        end = start + len(self.get_starttag_text() or "")
        element = Element(
            tag,
            {name: value or "" for name, value in attrs},
            parent=self.open[-1],
            span=(start, end),
            source=self.source,
        )
        self.open[-1].children.append(element)
        return element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = self._add(tag, attrs)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open element; an end tag nothing opened is ignored.
        start = self._here()
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                self._close(depth + 1, start)  # elements left open inside end where this one does
                self._close(depth, self.source.index(">", start) + 1)
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse(html: str) -> Element:
    """The page (or fragment) as a tree; the root stands for the whole document."""
    builder = _TreeBuilder(html)
    builder.feed(html)
    builder.close()
    builder._close(1, len(html))  # what was never closed ends with the source
    return builder.root


# The helpers below take markup or an already parsed tree, whichever the test has.


def _tree(html: str | Element) -> Element:
    return html if isinstance(html, Element) else parse(html)


def by_id(html: str | Element, id_: str) -> Element:
    """The element with this id (it must be there, once)."""
    return _tree(html).by_id(id_)


def find_id(html: str | Element, id_: str) -> Element | None:
    return _tree(html).find_id(id_)


def elements(html: str | Element, selector: str) -> list[Element]:
    """Every element ``selector`` matches, in document order."""
    return _tree(html).select(selector)


def element(html: str | Element, selector: str) -> Element:
    """The one element ``selector`` matches (it must be there, once)."""
    return _tree(html).select_one(selector)


def first(html: str | Element, selector: str) -> Element | None:
    return _tree(html).first(selector)


def sole(html: str) -> Element:
    """The one element a fragment is (nothing but whitespace around it): what htmx swaps in."""
    tree = parse(html)
    assert len(tree.elements) == 1 and not "".join(c for c in tree.children if isinstance(c, str)).strip(), html[:300]
    return tree.elements[0]


def count(html: str | Element, selector: str) -> int:
    return _tree(html).count(selector)


def text(html: str | Element, selector: str | None = None) -> str:
    """The text shown by the page, or by the one element ``selector`` names."""
    tree = _tree(html)
    return (tree.select_one(selector) if selector else tree).text


def texts(html: str | Element, selector: str) -> list[str]:
    """The text of every element ``selector`` matches, in order."""
    return [element.text for element in _tree(html).select(selector)]


# --- selectors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    name: str
    operator: str | None  # None: the attribute is present
    value: str = ""

    def holds(self, element: Element) -> bool:
        if self.name not in element.attrs:
            return False
        actual = element.attrs[self.name]
        match self.operator:
            case None:
                return True
            case "=":
                return actual == self.value
            case "~=":
                return self.value in actual.split()
            case "^=":
                return actual.startswith(self.value)
            case "*=":
                return self.value in actual
        raise ValueError(self.operator)


@dataclass(frozen=True)
class _Step:
    tag: str | None
    conditions: tuple[_Condition, ...]

    def matches(self, element: Element) -> bool:
        return (self.tag is None or element.tag == self.tag) and all(c.holds(element) for c in self.conditions)


_COMPOUND = re.compile(
    r"""(?P<tag>^[a-zA-Z][a-zA-Z0-9-]*|^\*)
      | \#(?P<id>(?:\\.|[\w-])+)
      | \.(?P<class>[\w-]+)
      | \[\s*(?P<attr>[\w:-]+)\s*(?:(?P<op>[~^*]?=)\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\]\s]+)))?\s*\]""",
    re.VERBOSE,
)


def _parse_compound(compound: str) -> _Step:
    tag: str | None = None
    conditions: list[_Condition] = []
    position = 0
    while position < len(compound):
        match = _COMPOUND.match(compound, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read selector {compound!r} at {compound[position:]!r}")
        if match["tag"]:
            tag = None if match["tag"] == "*" else match["tag"].lower()
        elif match["id"]:
            conditions.append(_Condition("id", "=", re.sub(r"\\(.)", r"\1", match["id"])))
        elif match["class"]:
            conditions.append(_Condition("class", "~=", match["class"]))
        else:
            value = (
                match["dq"] if match["dq"] is not None else match["sq"] if match["sq"] is not None else match["bare"]
            )
            conditions.append(_Condition(match["attr"].lower(), match["op"], value or ""))
        position = match.end()
    return _Step(tag, tuple(conditions))


def _parse_selector(selector: str) -> list[_Step]:
    # Split on spaces outside brackets and quotes: "a[title='x y'] b" is two steps.
    parts = re.findall(r"""(?:\[[^\]]*\]|"[^"]*"|'[^']*'|[^\s\[])+""", selector.strip())
    if not parts:
        raise ValueError("empty selector")
    return [_parse_compound(part) for part in parts]


def _matches_path(element: Element, steps: list[_Step], scope: Element) -> bool:
    """The last step matches the element, the earlier ones its ancestors (inside ``scope``)."""
    if not steps[-1].matches(element):
        return False
    node = element.parent
    for step in reversed(steps[:-1]):
        while node is not None and node is not scope and not step.matches(node):
            node = node.parent
        if node is None or node is scope:
            return False
        node = node.parent
    return True


def _escape_id(id_: str) -> str:
    return re.sub(r"([^\w-])", r"\\\1", id_)
