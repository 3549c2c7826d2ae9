"""The HTML query helper the other tests read pages with: if it found the wrong element or
lost text, their assertions would check nothing."""

from __future__ import annotations

import pytest

from .html import by_id, count, element, elements, find_id, parse, sole, text, texts

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Ana &amp; friends</title></head>
<body>
  <nav class="tabs main" aria-label="Profile">
    <a href="/user/ana" class="tab active" aria-current="page">Photos</a>
    <a href='/user/ana/followers' class="tab">Followers <span class="count">3</span></a>
    <a href="/user/ana/following" class=tab data-x>Following</a>
  </nav>
  <span class="badge" id="bell-count" hidden>
     3
  </span>
  <img src="/a.jpg" alt="a cat &lt;3"><br/>
  <p id="bio">Film &amp; &lt;b&gt;light&lt;/b&gt;</p>
  <ul><li id="person-1">One<li id="person-2">Two</ul>
  <p>unclosed paragraph</div>
  <input name="csrf_token" value="t0k&quot;en">
  <div id="a.b:c">odd id</div>
</body></html>"""


def test_elements_by_id_with_their_attributes_and_collapsed_text() -> None:
    bell = by_id(PAGE, "bell-count")
    assert bell.tag == "span" and bell.classes == {"badge"} and bell.text == "3"
    assert bell.has("hidden") and bell["hidden"] == "" and not bell.has("title")
    assert by_id(PAGE, "a.b:c").text == "odd id"
    assert find_id(PAGE, "nowhere") is None
    with pytest.raises(AssertionError):
        by_id(PAGE, "nowhere")


def test_text_is_unescaped_as_a_reader_sees_it() -> None:
    assert text(PAGE, "#bio") == "Film & <b>light</b>"
    assert text(PAGE, "title") == "Ana & friends"
    assert element(PAGE, "img")["alt"] == "a cat <3"
    assert element(PAGE, "input[name=csrf_token]")["value"] == 't0k"en'
    assert texts(PAGE, "nav a") == ["Photos", "Followers 3", "Following"]


def test_simple_selectors_and_their_combinations() -> None:
    assert count(PAGE, "a") == 3
    assert count(PAGE, ".tab") == 3  # quoted or not
    assert [a["href"] for a in elements(PAGE, "a.tab.active")] == ["/user/ana"]
    assert element(PAGE, 'a[aria-current="page"]').text == "Photos"
    assert element(PAGE, "a[aria-current=page]").text == "Photos"
    assert element(PAGE, "[data-x]").text == "Following"
    assert element(PAGE, "a[href^='/user/ana/f'][href*=followers]").text == "Followers 3"
    assert element(PAGE, "nav[class~=main]")["aria-label"] == "Profile"
    assert count(PAGE, "nav.tabs span.count") == 1  # descendant, any depth
    assert count(PAGE, "ul span.count") == 0
    assert count(PAGE, "*[id]") == 5
    with pytest.raises(AssertionError):
        element(PAGE, "a")  # three of them: "the" link is ambiguous
    with pytest.raises(ValueError):
        elements(PAGE, "a > b")


def test_void_and_unclosed_elements_do_not_swallow_what_follows() -> None:
    page = parse(PAGE)
    assert [li.text for li in page.select("ul li")] == ["One", "Two"]  # an <li> ends where the next starts
    assert page.by_id("bell-count").parent is page.select_one("body")
    assert page.select_one("input").parent.tag == "p"  # the stray </div> closed nothing
    assert page.by_id("bio").closest("body") is page.select_one("body")
    assert page.select_one("img").children == [] and page.select_one("img").parent is page.select_one("body")
    assert [child.tag for child in page.select_one("ul").elements] == ["li", "li"]
    assert page.by_id("a.b:c").is_last() and not page.by_id("bio").is_last()


def test_markup_is_the_source_of_each_element() -> None:
    page = parse(PAGE)
    assert page.by_id("bio").markup == '<p id="bio">Film &amp; &lt;b&gt;light&lt;/b&gt;</p>'
    assert page.select_one("img").markup == '<img src="/a.jpg" alt="a cat &lt;3">'
    assert page.select_one("br").markup == "<br/>"
    assert page.by_id("person-1").markup == '<li id="person-1">One'  # ended by the next <li>
    assert (
        page.select_one("ul").markup.endswith("Two</ul>") and page.by_id("person-2").markup == '<li id="person-2">Two'
    )
    assert parse("<div><p>one<b>two</div>").select_one("b").markup == "<b>two"
    assert page.select_one("nav").markup.startswith("<nav") and page.select_one("nav").markup.endswith("</nav>")


def test_fragments_parse_too() -> None:
    fragment = parse('<li class="person" id="person-7"><a href="/user/bo">Bo</a></li> tail')
    assert fragment.by_id("person-7").select_one("a").text == "Bo"
    assert fragment.text == "Bo tail"
    assert fragment.by_id("person-7").matches("li.person#person-7")
    assert sole('  <section id="s"><p>a</p></section>\n').id == "s"
    for not_one in ("<p>a</p><p>b</p>", "text <p>a</p>", ""):
        with pytest.raises(AssertionError):
            sole(not_one)
