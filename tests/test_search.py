"""Full-text search, on SQLite (FTS5) and PostgreSQL (tsvector + GIN) alike: ranking,
prefixes, diacritics, people, tags, snippets, pagination, visibility, hostile input, the index
following edits, reindex, SQL counts; and each engine's own schema and query plan."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text, update

from hyperpics.cli import main
from hyperpics.infra.db import database
from hyperpics.models import Tag, User, Visibility
from hyperpics.services.search import (
    CATEGORIES,
    SEARCH_WINDOW,
    TAG_COUNT_SHOWN,
    match_expression,
    search_index,
    tsquery_expression,
)

from .conftest import SECRET, Tab, fetch_user, make_user, set_user
from .databases import TestDatabase, engine_under_test, only_on
from .factories import add_follows, add_photo
from .helpers import text_of, user_ids
from .html import by_id, elements, find_id, texts
from .test_queries import counting

# --- helpers ------------------------------------------------------------------------------


async def hits(app, query: str, category: str = "photo", viewer: str | None = None, page: int = 1, per_page: int = 20):  # type: ignore[no-untyped-def]
    """The engine's SearchIndex directly, as ``viewer`` (a username, or None for anonymous)."""
    async with database(app).session(write=False) as session:
        user = None
        if viewer is not None:
            user = (await session.execute(select(User).where(User.username == viewer))).scalar_one()
        return await search_index(engine_under_test()).search(session, user, query, category, page, per_page)


# The index tables of each engine, and the column naming their row.
INDEXES = {
    "sqlite": {"photos": ("photos_fts", "rowid"), "users": ("users_fts", "rowid"), "tags": ("tags_fts", "rowid")},
    "postgresql": {
        "photos": ("search_photos", "photo_id"),
        "users": ("search_users", "user_id"),
        "tags": ("search_tags", "tag_id"),
    },
}[engine_under_test()]


async def indexed_photos(app, photo: int | None = None) -> int:  # type: ignore[no-untyped-def]
    """How many photos (or whether this one) the search index holds."""
    table, key = INDEXES["photos"]
    where = "" if photo is None else f" WHERE {key} = :id"
    async with database(app).session(write=False) as session:
        return (await session.execute(text(f"SELECT count(*) FROM {table}{where}"), {"id": photo})).scalar_one()


async def empty_the_indexes(app) -> None:  # type: ignore[no-untyped-def]
    """Forget every indexed row, leaving the tables: what ``hyperpics reindex`` repairs."""
    if engine_under_test() == "sqlite":  # users_fts and tags_fts read their tables: they are told to forget
        statements = [
            "DELETE FROM photos_fts",
            "INSERT INTO users_fts(users_fts) VALUES('delete-all')",
            "INSERT INTO tags_fts(tags_fts) VALUES('delete-all')",
        ]
    else:
        statements = [f"DELETE FROM {table}" for table, _ in INDEXES.values()]
    async with database(app).session(write=True) as session:
        for statement in statements:
            await session.execute(text(statement))
        await session.commit()


def ids_of(results) -> list[int]:  # type: ignore[no-untyped-def]
    if results.category == "tag":
        return [hit.item[0].id for hit in results.hits]
    return [hit.item.id for hit in results.hits]


async def search(tab: Tab, q: str, category: str = "photo", page: int | None = None):  # type: ignore[no-untyped-def]
    params: dict[str, object] = {"q": q, "category": category}
    if page is not None:
        params["page"] = page
    return await tab.get("/search?" + urlencode(params))


def cards(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'id="photo-card-(\d+)"', html)]


def people(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'id="person-(\d+)"', html)]


def tags_on(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'id="tag-(\d+)"', html)]


def results_block(html: str) -> str:
    """The markup of the results (the escaping checks read the bytes sent)."""
    section = by_id(html, "search-results")
    assert section.tag == "section" and section.attrs == {"id": "search-results"}
    return section.markup


def count_shown(html: str) -> int:
    shown = by_id(html, "result-count").text
    assert re.fullmatch(r"\d+ results?", shown), shown
    return int(shown.split()[0])


def tag_line(html: str, tag_id: int) -> tuple[str, list[str], list[str]]:
    """A tag's line in the results: (its text, the words marked, its count)."""
    line = by_id(html, f"tag-{tag_id}")
    return line.text, texts(line, "mark"), texts(line, "small")


@pytest.fixture
async def ana(app, tab: Tab) -> Tab:  # type: ignore[no-untyped-def]
    """ana, logged in on ``tab``."""
    return await make_user(app, tab, "ana")


# --- ranking, prefix, diacritics ----------------------------------------------------------


async def test_a_photo_repeating_the_word_ranks_above_one_mentioning_it_once(app, ana: Tab) -> None:
    once = await add_photo(app, "ana", description="lighthouse near the old harbour wall today")
    thrice = await add_photo(app, "ana", description="lighthouse lighthouse lighthouse at the harbour")
    unrelated = await add_photo(app, "ana", description="a cat sleeping on the sofa")
    assert ids_of(await hits(app, "lighthouse")) == [thrice, once]
    page = await search(Tab(app), "lighthouse")
    assert page.status == 200
    assert cards(page.text) == [thrice, once]
    assert unrelated not in cards(page.text)


async def test_matching_in_more_columns_ranks_higher(app, ana: Tab) -> None:
    description_only = await add_photo(app, "ana", description="glacier walk", alt_text="people in coats")
    everywhere = await add_photo(app, "ana", description="glacier walk", alt_text="a blue glacier", tags=("glacier",))
    assert ids_of(await hits(app, "glacier")) == [everywhere, description_only]
    assert cards((await search(Tab(app), "glacier")).text) == [everywhere, description_only]


async def test_the_last_word_is_a_prefix(app, ana: Tab) -> None:
    sunset = await add_photo(app, "ana", description="a golden sunset over the bay")
    sunday = await add_photo(app, "ana", description="lazy sunday")
    moon = await add_photo(app, "ana", description="the moon")
    assert set(cards((await search(Tab(app), "sun")).text)) == {sunset, sunday}
    assert cards((await search(Tab(app), "golden sun")).text) == [sunset]
    # only the last word is a prefix
    assert cards((await search(Tab(app), "gold sunset")).text) == []
    assert moon not in cards((await search(Tab(app), "sun")).text)


async def test_diacritics_are_folded_both_ways(app, ana: Tab) -> None:
    accented = await add_photo(app, "ana", description="Breakfast at the café Über")
    plain = await add_photo(app, "ana", description="another cafe, uber busy")
    anonymous = Tab(app)
    assert set(cards((await search(anonymous, "cafe")).text)) == {accented, plain}
    assert set(cards((await search(anonymous, "café")).text)) == {accented, plain}
    assert set(cards((await search(anonymous, "CAFÉ")).text)) == {accented, plain}
    assert set(cards((await search(anonymous, "über")).text)) == {accented, plain}


async def test_the_last_word_is_a_prefix_with_its_accents_folded(app, ana: Tab) -> None:
    cafe = await add_photo(app, "ana", description="Café au lait")
    caftan = await add_photo(app, "ana", description="a caftan")
    for query in ("café au", "cafe au lait", "CAFE AU L", "au caf", "lait CAFÉ", "lait cafe", "Café a"):
        assert ids_of(await hits(app, query)) == [cafe], query
    assert set(ids_of(await hits(app, "caf"))) == {cafe, caftan}
    assert "<mark>Café</mark>" in str((await hits(app, "lait cafe")).hits[0].snippet)
    # only the last word is a prefix, and nothing is stemmed (as FTS5's unicode61)
    for query in ("caf au", "cafés", "cafe aux"):
        assert (await hits(app, query)).total == 0, query


async def test_words_are_not_stemmed(app, ana: Tab) -> None:
    running = await add_photo(app, "ana", description="dogs running fast")
    assert ids_of(await hits(app, "dogs running")) == [running]
    assert ids_of(await hits(app, "run")) == [running]  # the last word: a prefix
    for query in ("run fast", "dog running", "runs", "ran"):
        assert (await hits(app, query)).total == 0, query


# --- people and tags ----------------------------------------------------------------------


async def test_people_are_found_by_username_name_and_bio(app, tab: Tab, new_tab) -> None:
    await make_user(app, new_tab(), "zelda", name="Zelda Fitzgerald", bio="Writes about jazz and rivers")
    await make_user(app, new_tab(), "marcos", name="Marcos Pereira", bio="Photographer of bridges")
    ids = await user_ids(app)
    anonymous = Tab(app)
    assert people((await search(anonymous, "zelda", "user")).text) == [ids["zelda"]]  # username (and name)
    assert people((await search(anonymous, "pereira", "user")).text) == [ids["marcos"]]  # name
    page = await search(anonymous, "bridges", "user")  # bio
    assert people(page.text) == [ids["marcos"]]
    assert "bridges" in texts(page.text, "mark")
    assert people((await search(anonymous, "marc", "user")).text) == [ids["marcos"]]  # prefix
    assert people((await search(anonymous, "jazz rivers", "user")).text) == [ids["zelda"]]
    assert people((await search(anonymous, "violin", "user")).text) == []
    assert find_id((await search(anonymous, "violin", "user")).text, "no-results")


async def test_tags_are_found_with_their_photo_counts(app, ana: Tab) -> None:
    for _ in range(3):
        await add_photo(app, "ana", description="x", tags=("mountains",))
    await add_photo(app, "ana", description="y", tags=("mountainbike", "sea"))
    await add_photo(app, "ana", description="hidden", tags=("mountains",), visibility=Visibility.PRIVATE)
    async with database(app).session(write=False) as session:
        tag_ids = {t.name: t.id for t in (await session.execute(select(Tag))).scalars()}

    results = await hits(app, "mountain", "tag")
    counts = {hit.item[0].name: hit.item[1] for hit in results.hits}
    assert counts == {"mountains": 3, "mountainbike": 1}  # the private photo is not counted for anonymous
    assert {hit.item[0].name: hit.item[1] for hit in (await hits(app, "mountain", "tag", viewer="ana")).hits} == {
        "mountains": 4,
        "mountainbike": 1,
    }

    page = await search(Tab(app), "mountains", "tag")
    assert tags_on(page.text) == [tag_ids["mountains"]]
    assert tag_line(page.text, tag_ids["mountains"]) == ("#mountains 3", ["mountains"], ["3"])
    assert tag_ids["sea"] not in tags_on((await search(Tab(app), "mountain", "tag")).text)


async def test_a_common_word_and_a_big_tag_are_counted_to_a_bound(app, ana: Tab, sql: TestDatabase) -> None:
    """Past SEARCH_WINDOW matches the page says "1,000+" (newest first), and a found tag's
    photos are counted up to TAG_COUNT_SHOWN, in the list and in the dropdown."""
    await add_photo(app, "ana", description="harbour", tags=("harbour",))
    ids = await user_ids(app)
    tag = sql.value("SELECT id FROM tags WHERE name = 'harbour'")
    sql.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO photos (author_id, description, alt_text, visibility, filename_original, filename_medium, "
        "filename_small, width, height, can_comment, created_at) "
        "SELECT ?, 'harbour ' || i, '', 'public', 'o' || i, 'm' || i, 's' || i, 1200, 800, true, CURRENT_TIMESTAMP "
        "FROM n",
        SEARCH_WINDOW + 50,
        ids["ana"],
    )
    sql.execute("INSERT INTO photo_tags (photo_id, tag_id) SELECT id, ? FROM photos WHERE id NOT IN "
                "(SELECT photo_id FROM photo_tags WHERE tag_id = ?)", tag, tag)  # fmt: skip

    photos_page = await search(Tab(app), "harbour", "photo")
    assert re.search(r'id="result-count">1,000\+ results', photos_page.text), photos_page.text
    tags_page = await search(Tab(app), "harbour", "tag")
    assert tag_line(tags_page.text, tag) == (f"#harbour {TAG_COUNT_SHOWN}+", ["harbour"], [f"{TAG_COUNT_SHOWN}+"])
    dropdown = await Tab(app).get("/search/suggest?q=harbour")
    assert f"{TAG_COUNT_SHOWN}+" in [
        shown.text for shown in elements(dropdown.text, "span.muted") if shown.attrs == {"class": "muted"}
    ]
    small = await search(Tab(app), "harbour 7", "photo")  # a narrower search is counted exactly
    assert re.search(r'id="result-count">\d+ results?<', small.text), small.text


# --- snippets -----------------------------------------------------------------------------


async def test_snippets_mark_the_words_and_escape_everything_else(app, ana: Tab) -> None:
    await add_photo(app, "ana", description='Sunset & friends <script>alert(1)</script> "quoted" <b>bold</b>')
    await add_photo(app, "ana", description="<img src=x onerror=alert(2)> sunset again")
    page = await search(Tab(app), "sunset")
    block = results_block(page.text)
    assert len(cards(block)) == 2
    assert "Sunset" in texts(block, "mark") and "sunset" in texts(block, "mark")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block
    assert "<script" not in block.lower()
    assert "<b>" not in block and "&lt;b&gt;bold&lt;/b&gt;" in block
    assert "<img src=x" not in block and "&lt;img src=x onerror=alert(2)&gt;" in block
    assert "&amp; friends" in block
    # the only raw tags in the snippets are the marks
    snippets = re.findall(r'<(?:span|p) class="snippet">(.*?)</(?:span|p)>', block, re.S)
    assert len(snippets) == 2
    for snippet in snippets:
        assert re.sub(r"</?mark>", "", snippet).count("<") == 0, snippet

    results = await hits(app, "alert")
    assert all("<script>" not in str(hit.snippet) for hit in results.hits)
    assert any("<mark>alert</mark>" in str(hit.snippet) for hit in results.hits)


async def test_the_query_is_escaped_in_the_no_results_message(app) -> None:
    page = await search(Tab(app), "<script>alert(1)</script>")
    assert page.status == 200
    assert find_id(page.text, "no-results")
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


# --- counts and pages ---------------------------------------------------------------------


async def test_result_count_and_pagination(app, ana: Tab) -> None:
    ids = [await add_photo(app, "ana", description=f"harbour boat number {i}") for i in range(25)]
    await add_photo(app, "ana", description="a field of flowers")
    anonymous = Tab(app)
    first = await search(anonymous, "harbour")
    assert count_shown(first.text) == 25
    assert "25 results" in text_of(first.text)
    assert len(cards(first.text)) == 20
    assert "Page 1 of 2" in first.text
    second = await search(anonymous, "harbour", page=2)
    assert count_shown(second.text) == 25
    assert len(cards(second.text)) == 5
    assert "Page 2 of 2" in second.text
    assert set(cards(first.text)) | set(cards(second.text)) == set(ids)
    assert not set(cards(first.text)) & set(cards(second.text))
    # beyond the last page: the last page; junk: the first
    assert cards((await search(anonymous, "harbour", page=99)).text) == cards(second.text)
    assert cards((await search(anonymous, "harbour", page="x")).text) == cards(first.text)  # type: ignore[arg-type]
    one = await search(anonymous, "flowers")
    assert count_shown(one.text) == 1 and "1 result<" in one.text
    results = await hits(app, "harbour", page=2)
    assert (results.total, results.page, results.pages, len(results.hits)) == (25, 2, 2, 5)


# --- visibility and blocked people --------------------------------------------------------


async def test_private_and_followers_photos_follow_the_visibility_rules(app, tab: Tab, new_tab) -> None:
    await make_user(app, tab, "ana")
    bruno_tab = await make_user(app, new_tab(), "bruno")
    cleo_tab = await make_user(app, new_tab(), "cleo")
    mod_tab = await make_user(app, new_tab(), "mod", role="Moderator")
    public = await add_photo(app, "ana", description="volcano public")
    private = await add_photo(app, "ana", description="volcano private", visibility=Visibility.PRIVATE)
    followers = await add_photo(app, "ana", description="volcano followers", visibility=Visibility.FOLLOWERS)
    await add_follows(app, ("cleo", "ana"))  # cleo follows ana, bruno does not

    expected = {
        None: {public},
        bruno_tab: {public},
        cleo_tab: {public, followers},
        tab: {public, private, followers},  # the owner
        mod_tab: {public, private, followers},  # a moderator
    }
    for viewer, seen in expected.items():
        page = await search(viewer or Tab(app), "volcano")
        assert set(cards(page.text)) == seen, viewer
        assert count_shown(page.text) == len(seen)
    assert set(ids_of(await hits(app, "volcano", viewer="bruno"))) == {public}
    assert set(ids_of(await hits(app, "volcano", viewer="mod"))) == {public, private, followers}
    # suggestions follow the same rules
    suggest = await bruno_tab.get("/search/suggest?" + urlencode({"q": "volcano"}), htmx=True)
    assert f"/photo/{public}" in suggest.text
    assert f"/photo/{private}" not in suggest.text and f"/photo/{followers}" not in suggest.text


async def test_blocked_people_and_their_photos_are_not_found(app, tab: Tab, new_tab) -> None:
    await make_user(app, tab, "ana")
    await make_user(app, new_tab(), "bruno", bio="quokka whisperer")
    ids = await user_ids(app)
    mine = await add_photo(app, "ana", description="quokka smiling")
    his = await add_photo(app, "bruno", description="quokka on a rock")
    anonymous = Tab(app)
    assert set(cards((await search(anonymous, "quokka")).text)) == {mine, his}
    assert people((await search(anonymous, "bruno", "user")).text) == [ids["bruno"]]

    await set_user(app, "bruno", active=False)
    assert cards((await search(anonymous, "quokka")).text) == [mine]
    assert count_shown((await search(anonymous, "quokka")).text) == 1
    assert people((await search(anonymous, "bruno", "user")).text) == []
    assert people((await search(anonymous, "quokka", "user")).text) == []
    assert people((await search(tab, "bruno", "user")).text) == []
    assert ids_of(await hits(app, "quokka", viewer="ana")) == [mine]


# --- hostile input ------------------------------------------------------------------------

HOSTILE = [
    '"',
    '""',
    "'",
    '"unbalanced',
    'un"balanced',
    '"sun',
    'sun"',
    "*",
    "**",
    "sun*",
    "-",
    "-x",
    "x -y",
    "NEAR",
    "NEAR(a b)",
    "NEAR(a b, 2)",
    "AND",
    "OR",
    "NOT",
    "a AND",
    "a OR",
    "NOT a",
    "a NOT b",
    "(",
    ")",
    "((a)",
    "a)",
    "username:ana",
    "bio:x",
    "tags:sea",
    "{a b}",
    "{username}: ana",
    "^a",
    "a+b",
    "%",
    "_",
    "__",
    "a_b",
    "\\",
    "\\\\",
    "'; DROP TABLE users; --",
    '"; DELETE FROM photos_fts; --',
    "😀",
    "😀 sun 🌅",
    "中文搜索",
    "日本語",
    "مرحبا بالعالم",
    "שלום",
    "\u202etxet",
    "\x00",
    "a\x00b",
    "a" * 10_000,
    "",
    "   ",
    "\t\n",
    ":",
    ".",
    "~",
    "!",
    "?",
    "@",
    "#sea",
    "$",
    "&",
    "|",
    "<",
    ">",
    "<script>alert(1)</script>",
    "a" * 65,
    "x " * 300,
    "\u0301",
    "\ufeff",
    "ǅ",
    "²",
    "0",
    "-1",
    "NULL",
    "rowid",
    "photos_fts",
    "* OR 1=1",
    "sun\r\nset",
]


@pytest.mark.parametrize("category", CATEGORIES)
async def test_hostile_input_never_breaks_the_search_page(app, ana: Tab, category: str) -> None:
    await add_photo(app, "ana", description="sunset over the sea", tags=("sea",))
    anonymous = Tab(app)
    assert len(HOSTILE) >= 30
    for query in HOSTILE:
        for viewer in (anonymous, ana):
            page = await search(viewer, query, category)
            assert page.status == 200, (query, category, page.status, page.text[-500:])
            block = results_block(page.text)
            assert 'id="result-count"' in block or 'id="no-results"' in block or "Type a word" in block, (
                query,
                category,
            )
            assert "<script>alert" not in page.text
        suggest = await anonymous.get("/search/suggest?" + urlencode({"q": query}), htmx=True)
        assert suggest.status == 200, (query, suggest.status)
        assert suggest.root_id() == "search-suggestions"
    # sanity: the same page does find things
    found = {"photo": "sunset", "user": "ana", "tag": "sea"}[category]
    assert find_id((await search(anonymous, found, category)).text, "result-count")


async def test_empty_and_long_queries_get_a_message(app) -> None:
    anonymous = Tab(app)
    for query in ("", "   "):
        page = await search(anonymous, query)
        assert page.status == 200 and "Type a word" in page.text
    page = await search(anonymous, "a" * 10_000)
    assert page.status == 200 and "Only the first 200 characters were searched." in page.text
    page = await search(anonymous, "!!! ??? ***")
    assert page.status == 200 and find_id(page.text, "no-results")


def test_match_expression_quotes_every_word() -> None:
    assert match_expression("sun") == '"sun"*'
    assert match_expression('NEAR(a b) "x') == '"NEAR" "a" "b" "x"*'
    assert match_expression("username:ana -x") == '"username" "ana" "x"*'
    assert match_expression("café") == '"café"*'
    for nothing in ("", "   ", "***", "___", '"', "-", "(", ":"):
        assert match_expression(nothing) is None


def test_tsquery_expression_quotes_every_word() -> None:
    assert tsquery_expression("sun") == "'sun':*"
    assert tsquery_expression("golden sun") == "'golden' & 'sun':*"
    assert tsquery_expression("x & y | !z") == "'x' & 'y' & 'z':*"
    assert tsquery_expression("a'b <-> c:* (d)") == "'a' & 'b' & 'c' & 'd':*"
    assert tsquery_expression("a\x00b\\c") == "'a' & 'b' & 'c':*"
    assert tsquery_expression("Café") == "'Café':*"
    many = tsquery_expression(" ".join(f"w{i}" for i in range(30)))
    assert many is not None and many.count(" & ") == 11  # MAX_TERMS
    for nothing in ("", "\x00", "&|!():*\\", "'", "''", "<->", "___", ":*"):
        assert tsquery_expression(nothing) is None


# Query syntax of either engine, NUL bytes, and text PostgreSQL rejects or parses specially.
SYNTAX = HOSTILE + [
    "a & b",
    "a | b",
    "!a",
    "a <-> b",
    "a <2> b",
    "a:*",
    "a:A",
    "a:*B",
    "'a'",
    "'a':*",
    "\\'",
    "\\",
    "(a | b) & !c",
    "&|!():*\\",
    "a\x00",
    "\x00\x00",
    "café\x00sun",
    "sun\x00",
    "\x00'",
    "a\\x00",
    "\ud7ff",
    "\U0010ffff",
    "<b>sun</b>",
    "sun@sea.org",
    "http://x.org/a?b=c",
    "1.2.3",
    "-3.5e7",
    "&amp;",
    "x" * 2100,
    "é" * 64 + "x",
]


@pytest.mark.parametrize("category", CATEGORIES)
async def test_no_syntax_or_nul_byte_makes_search_raise(app, ana: Tab, category: str) -> None:
    await add_photo(app, "ana", description="sunset over the sea", tags=("sea",))
    for query in SYNTAX:
        for viewer in (None, "ana"):
            results = await hits(app, query, category, viewer=viewer)
            assert results.total >= 0 and results.page >= 1, query
    assert ids_of(await hits(app, "sunset\x00")) == ids_of(await hits(app, "sunset"))
    assert (await hits(app, "sun\x00set")).total == 0  # two words, as FTS5 reads them


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=300))
async def test_no_input_makes_search_raise(app, query: str) -> None:
    expression = match_expression(query)
    assert expression is None or expression.endswith("*")
    for category in CATEGORIES:
        results = await hits(app, query, category)
        assert results.category == category
        assert results.total >= 0 and results.page >= 1


# --- the index follows changes ------------------------------------------------------------


async def test_the_index_follows_photo_edits_tags_and_deletes(app, ana: Tab) -> None:
    photo = await add_photo(app, "ana", description="a red bicycle")
    anonymous = Tab(app)
    assert cards((await search(anonymous, "bicycle")).text) == [photo]

    async def edit(**fields: str) -> None:
        data = {"description": "", "alt_text": "", "tags": "", "visibility": "public"} | fields
        await ana.get(f"/photo/{photo}/edit")
        page = await ana.post(f"/photo/{photo}/edit", data)
        assert page.status == 303, page.text

    await edit(description="a blue tricycle")
    assert cards((await search(anonymous, "bicycle")).text) == []
    assert cards((await search(anonymous, "tricycle")).text) == [photo]

    await edit(description="a blue tricycle", alt_text="wheels", tags="vintage, street")
    assert cards((await search(anonymous, "vintage")).text) == [photo]
    assert cards((await search(anonymous, "wheels")).text) == [photo]
    assert len(tags_on((await search(anonymous, "street", "tag")).text)) == 1

    await edit(description="a blue tricycle", tags="street")
    assert cards((await search(anonymous, "vintage")).text) == []
    assert cards((await search(anonymous, "wheels")).text) == []
    assert cards((await search(anonymous, "street")).text) == [photo]
    assert tags_on((await search(anonymous, "vintage", "tag")).text) == []  # the unused tag went

    # renaming a tag (as an admin might, through SQLAlchemy)
    async with database(app).session(write=True) as session:
        await session.execute(update(Tag).where(Tag.name == "street").values(name="avenue"))
        await session.commit()
    assert cards((await search(anonymous, "street")).text) == []
    assert cards((await search(anonymous, "avenue")).text) == [photo]
    assert tags_on((await search(anonymous, "street", "tag")).text) == []
    assert len(tags_on((await search(anonymous, "avenue", "tag")).text)) == 1

    await ana.get(f"/photo/{photo}/delete")
    assert (await ana.post(f"/photo/{photo}/delete")).status == 303
    assert cards((await search(anonymous, "tricycle")).text) == []
    assert find_id((await search(anonymous, "tricycle")).text, "no-results")
    assert (await hits(app, "tricycle", viewer="ana")).total == 0
    assert await indexed_photos(app) == 0


async def test_renaming_a_tag_reindexes_every_photo_carrying_it(app, ana: Tab) -> None:
    street = [await add_photo(app, "ana", description=f"corner {i}", tags=("street", "night")) for i in range(3)]
    hidden = await add_photo(app, "ana", description="corner hidden", tags=("street",), visibility=Visibility.PRIVATE)
    other = await add_photo(app, "ana", description="corner elsewhere", tags=("night",))
    assert set(ids_of(await hits(app, "street"))) == set(street)
    async with database(app).session(write=True) as session:
        await session.execute(update(Tag).where(Tag.name == "street").values(name="boulevard"))
        await session.commit()

    assert (await hits(app, "street")).total == 0
    assert (await hits(app, "street", viewer="ana")).total == 0
    found = await hits(app, "boulevard")
    assert set(ids_of(found)) == set(street)
    assert all("<mark>boulevard</mark>" in str(hit.snippet) for hit in found.hits)
    assert set(ids_of(await hits(app, "boul", viewer="ana"))) == {*street, hidden}
    assert set(ids_of(await hits(app, "corner night"))) == {*street, other}  # the other tag kept
    assert set(ids_of(await hits(app, "corner boulevard"))) == set(street)
    tags = await hits(app, "boulevard", "tag")
    assert [(hit.item[0].name, hit.item[1], str(hit.snippet)) for hit in tags.hits] == [
        ("boulevard", 3, "<mark>boulevard</mark>")
    ]
    assert (await hits(app, "street", "tag")).total == 0
    assert await indexed_photos(app) == 5


async def test_the_index_follows_profile_changes_and_account_deletion(app, ana: Tab, new_tab) -> None:
    ids = await user_ids(app)
    anonymous = Tab(app)
    photo = await add_photo(app, "ana", description="pelican at dawn", tags=("pelican",))
    await ana.get("/settings/profile")
    page = await ana.post(
        "/settings/profile",
        {"name": "Anastasia Borealis", "username": "ana", "website": "", "location": "", "bio": "Loves ornithology"},
    )
    assert page.status == 303, page.text
    assert people((await search(anonymous, "borealis", "user")).text) == [ids["ana"]]
    assert people((await search(anonymous, "ornithology", "user")).text) == [ids["ana"]]

    await ana.get("/settings/profile")
    page = await ana.post(
        "/settings/profile",
        {"name": "Ana Silva", "username": "anasilva", "website": "", "location": "", "bio": "Paints"},
    )
    assert page.status == 303, page.text
    assert people((await search(anonymous, "borealis", "user")).text) == []
    assert people((await search(anonymous, "ornithology", "user")).text) == []
    assert people((await search(anonymous, "anasilva", "user")).text) == [ids["ana"]]
    assert people((await search(anonymous, "paints", "user")).text) == [ids["ana"]]

    await ana.get("/settings/account")
    page = await ana.post("/settings/account", {"username": "anasilva"})
    assert page.status == 303 and page.location == "/", page.text
    assert await fetch_user(app, "anasilva") is None
    assert people((await search(anonymous, "silva", "user")).text) == []
    assert people((await search(anonymous, "paints", "user")).text) == []
    assert cards((await search(anonymous, "pelican")).text) == []
    assert [hit.item[1] for hit in (await hits(app, "pelican", "tag")).hits] in ([], [0])  # no photo counted
    assert await indexed_photos(app, photo) == 0


async def test_tags_of_a_deleted_account_are_not_found(app, ana: Tab) -> None:
    await add_photo(app, "ana", description="pelican at dawn", tags=("pelican",))
    assert len(tags_on((await search(Tab(app), "pelican", "tag")).text)) == 1
    await ana.get("/settings/account")
    assert (await ana.post("/settings/account", {"username": "ana"})).status == 303
    # deleting the last photo with a tag (POST /photo/<id>/delete) removes the tag; deleting the account does not
    assert tags_on((await search(Tab(app), "pelican", "tag")).text) == []


async def test_a_tag_only_on_a_private_photo_is_not_found_by_others(app, ana: Tab) -> None:
    await add_photo(app, "ana", description="secret", tags=("surpriseparty",), visibility=Visibility.PRIVATE)
    assert len(tags_on((await search(ana, "surpriseparty", "tag")).text)) == 1  # the owner sees it
    page = await search(Tab(app), "surpriseparty", "tag")
    assert tags_on(page.text) == [] and find_id(page.text, "no-results")


async def test_reindex_rebuilds_the_indexes(app, ana: Tab, tmp_path, monkeypatch) -> None:
    photo = await add_photo(app, "ana", description="narwhal in the fjord", alt_text="tusk", tags=("arctic",))
    await set_user(app, "ana", bio="Sails north")
    ids = await user_ids(app)
    await empty_the_indexes(app)
    assert (await hits(app, "narwhal")).total == 0
    assert (await hits(app, "arctic")).total == 0
    assert (await hits(app, "north", "user")).total == 0
    assert (await hits(app, "arctic", "tag")).total == 0

    monkeypatch.chdir(tmp_path)
    env = {"HYPERPICS_DATABASE_URL": app.config["DATABASE_URL"], "HYPERPICS_SECRET_KEY": SECRET}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["reindex"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Reindexed: 1 photos, 1 users, 1 tags" in result.output

    assert ids_of(await hits(app, "narwhal")) == [photo]
    assert ids_of(await hits(app, "tusk")) == [photo]
    assert ids_of(await hits(app, "arctic")) == [photo]
    assert ids_of(await hits(app, "north", "user")) == [ids["ana"]]
    assert len(ids_of(await hits(app, "arctic", "tag"))) == 1
    assert cards((await search(Tab(app), "fjord")).text) == [photo]


# --- SQL statements -----------------------------------------------------------------------


async def statements(app, tab: Tab, path: str) -> int:  # type: ignore[no-untyped-def]
    with counting(app) as found:
        page = await tab.get(path)
    assert page.status == 200
    return len(found)


@pytest.mark.parametrize("logged_in", [False, True])
async def test_sql_statements_per_search_page_are_constant(app, ana: Tab, logged_in: bool) -> None:
    viewer = ana if logged_in else Tab(app)
    for i in range(3):
        await add_photo(app, "ana", description=f"sunset number {i}", tags=("sunset", f"evening{i}"))
    await statements(app, viewer, "/search?q=sunset")  # warm up
    few = {c: await statements(app, viewer, f"/search?q=sunset&category={c}") for c in CATEGORIES}
    for i in range(22):
        await add_photo(app, "ana", description=f"sunset number {i + 3}", tags=("sunset", f"evening{i + 3}"))
    page = await search(viewer, "sunset")
    assert count_shown(page.text) == 25 and len(cards(page.text)) == 20
    many = {c: await statements(app, viewer, f"/search?q=sunset&category={c}") for c in CATEGORIES}
    many_tags = await statements(app, viewer, "/search?q=evening&category=tag")
    suggest_few = await statements(app, viewer, "/search/suggest?q=sun")
    print(
        f"\nSQL statements (logged_in={logged_in}): 3 photos {few}, 25 photos {many}, "
        f"25 tags {many_tags}, suggest {suggest_few}"
    )
    assert few == many
    assert many_tags == many["tag"]
    assert max(many.values()) <= 10


async def test_search_statements_are_built_once_per_tab_and_visibility_rule(app, tab: Tab, new_tab) -> None:
    """Built per search, the statements cost more than running them; the words, the viewer and
    the page are parameters of one statement per tab and rule (the visibility test above checks
    that each member still sees their own)."""
    await make_user(app, tab, "ana")
    await make_user(app, new_tab(), "bruno")
    await add_photo(app, "ana", description="volcano at dawn")
    await add_photo(app, "ana", description="glacier at dawn")
    index = search_index(engine_under_test())
    kept = type(index)._built  # noqa: SLF001
    assert ids_of(await hits(app, "volcano", viewer="ana")) != ids_of(await hits(app, "glacier", viewer="ana"))
    built = dict(kept)
    assert ("photo", "member") in built
    await hits(app, "dawn", viewer="bruno")
    await hits(app, "dawn", viewer="bruno", page=2, per_page=1)
    assert kept == built and all(kept[key] is built[key] for key in built)


# --- suggestions --------------------------------------------------------------------------


async def test_suggestions_show_a_few_of_each_kind_and_a_link_to_all(app, tab: Tab, new_tab) -> None:
    await make_user(app, tab, "ana", name="Ana Coral", bio="reef diver")
    for i in range(6):
        await add_photo(app, "ana", description=f"coral reef {i}", tags=("coral", f"coralsea{i}"))
    page = await tab.get("/search/suggest?" + urlencode({"q": "coral"}), htmx=True)
    assert page.status == 200 and page.is_fragment()
    assert page.root_id() == "search-suggestions"
    assert "People" in page.text and "Tags" in page.text and "Photos" in page.text
    assert "@ana" in page.text
    assert len(re.findall(r'href="/photo/\d+"', page.text)) == 4
    assert len(re.findall(r'href="/tag/\d+"', page.text)) == 4
    assert "coral" in texts(page.text, "mark")
    assert "All results for “coral”" in page.text and elements(page.text, '[href="/search?q=coral"]')

    nothing = await tab.get("/search/suggest?" + urlencode({"q": "zzzqqq"}), htmx=True)
    assert nothing.root_id() == "search-suggestions" and "No results for" in nothing.text
    assert "All results" not in nothing.text
    empty = await tab.get("/search/suggest?q=", htmx=True)
    assert empty.root_id() == "search-suggestions" and "suggestion" not in text_of(empty.text)


# --- each engine's own index: query plans, schema -----------------------------------------

on_postgresql = only_on("postgresql")[0]


async def count_statement(app, query: str) -> tuple[str, Any]:  # type: ignore[no-untyped-def]
    """The SQL (as sent to the driver, with its parameters) of the count an anonymous photo
    search for ``query`` runs."""
    found: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "count(*)" in statement:
            found.append((statement, parameters))

    engine = database(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await hits(app, query)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(found) == 1, found
    return found[0]


async def plan_of(app, query: str, explain: str) -> str:  # type: ignore[no-untyped-def]
    statement, parameters = await count_statement(app, query)
    async with database(app).session(write=False) as session:
        connection = await session.connection()
        rows = (await connection.exec_driver_sql(f"{explain} {statement}", parameters)).all()
    plan = "\n".join(" | ".join(map(str, row)) for row in rows)
    print(f"\n{explain} (photo count, q={query!r}):\n{plan}")
    return plan


# The count's first step, as each engine's plan names it: the search index, not photos.
INDEX_FIRST = {
    "sqlite": r"SCAN (matched|photos_fts) VIRTUAL TABLE INDEX \d+:M",
    "postgresql": r"Bitmap Index Scan on ix_search_photos_document",
}[engine_under_test()]


@pytest.fixture
def sql(database: TestDatabase) -> TestDatabase:
    """This test's database, for SQL outside the app's transactions (VACUUM cannot run in one)."""
    return database


async def test_the_photo_count_is_driven_from_the_search_index(app, ana: Tab, sql: TestDatabase) -> None:
    narwhals = [await add_photo(app, "ana", description=f"narwhal {i}") for i in range(2)]
    ids = await user_ids(app)
    # Enough other photos, over a vocabulary of some 600 words, that reading them all would be
    # the slow plan and the statistics know the common words (the triggers index them all).
    sql.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
        "INSERT INTO photos (author_id, description, alt_text, visibility, filename_original, filename_medium, "
        "filename_small, width, height, can_comment, created_at) "
        "SELECT ?, 'w' || (i % 197) || ' x' || (i * 7 % 211) || ' y' || (i * 13 % 223), 'boats', 'public', "
        "'o' || i, 'm' || i, 's' || i, 1200, 800, true, CURRENT_TIMESTAMP FROM n",
        ids["ana"],
    )
    # Fresh statistics; on PostgreSQL VACUUM also merges the GIN index's list of pending entries.
    sql.execute("ANALYZE" if sql.engine == "sqlite" else "VACUUM ANALYZE")
    assert set(ids_of(await hits(app, "narwhal"))) == set(narwhals)
    boats = await hits(app, "boats")
    # A word on every photo: ranked and counted among its newest SEARCH_WINDOW matches ("1,000+").
    assert (boats.total, boats.more, boats.pages) == (SEARCH_WINDOW, True, SEARCH_WINDOW // 20)
    newest = sql.value("SELECT max(id) FROM photos")
    assert len(ids_of(boats)) == 20 and all(found > newest - SEARCH_WINDOW for found in ids_of(boats))
    plan = await plan_of(app, "narwhal", "EXPLAIN QUERY PLAN" if sql.engine == "sqlite" else "EXPLAIN")
    assert re.search(INDEX_FIRST, plan, re.M), plan
    assert not re.search(r"(SCAN|Seq Scan on) photos\b", plan), plan


# What the migration 0003 makes on PostgreSQL.
SEARCH_OBJECTS = {
    "table": "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'search%'",
    "function": "SELECT proname FROM pg_proc WHERE proname LIKE 'search%'",
    "trigger": "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'search%'",
    "configuration": "SELECT cfgname FROM pg_ts_config WHERE cfgname = 'hyperpics_search'",
    "extension": "SELECT extname FROM pg_extension WHERE extname = 'unaccent'",
}


@on_postgresql
def test_postgresql_search_schema_backfills_and_goes_down(empty_database: TestDatabase) -> None:
    from alembic import command

    from hyperpics.infra import migrations

    url = empty_database.url
    migrations.upgrade(url, "0002")
    for statement in (
        "INSERT INTO users (username, email, name, password_hash, bio, website, location, member_since, confirmed, "
        "locked, active, public_collections, receive_comment_notification, receive_follow_notification, "
        "receive_collect_notification, role_id) SELECT 'ana', 'ana@example.com', 'Ana Lúcia', 'x', 'Sails north', '', "
        "'', now(), true, false, true, true, true, true, true, id FROM roles WHERE name = 'User'",
        "INSERT INTO photos (author_id, description, alt_text, visibility, filename_original, filename_medium, "
        "filename_small, width, height, can_comment, created_at) SELECT id, 'narwhal', 'tusk', 'public', 'o', 'm', "
        "'s', 1, 1, true, now() FROM users",
        "INSERT INTO tags (name, created_at) VALUES ('arctic', now())",
        "INSERT INTO photo_tags (photo_id, tag_id) SELECT photos.id, tags.id FROM photos, tags",
    ):
        empty_database.execute(statement)

    migrations.upgrade(url)
    migrations.check(url)  # the documents are no models' business
    assert {kind: len(empty_database.rows(query)) for kind, query in SEARCH_OBJECTS.items()} == {
        "table": 3,
        "function": 9,
        "trigger": 7,
        "configuration": 1,
        "extension": 1,
    }
    matches = "SELECT count(*) FROM {} WHERE document @@ to_tsquery('hyperpics_search', ?)"
    assert empty_database.value(matches.format("search_photos"), "narwhal & tusk & arctic") == 1  # backfilled
    assert empty_database.value(matches.format("search_users"), "lucia & north") == 1
    assert empty_database.value(matches.format("search_tags"), "arctic") == 1

    command.downgrade(migrations.alembic_config(url), "0002")
    left = {kind: empty_database.rows(query) for kind, query in SEARCH_OBJECTS.items()}
    assert left == dict.fromkeys(SEARCH_OBJECTS, [])
    migrations.upgrade(url)
    migrations.check(url)
    assert empty_database.value(matches.format("search_photos"), "narwhal") == 1
    command.downgrade(migrations.alembic_config(url), "base")
    assert empty_database.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == [("alembic_version",)]
