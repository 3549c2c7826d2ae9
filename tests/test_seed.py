"""``hyperpics seed``: the counts asked for, the site's rules kept, the same seed giving the same
site, --reset, files without metadata, and every page rendering on the result.

One small site is seeded once for the module (through the real command, into a database of
the engine under test and a media folder); tests that change data work on copies or seed
their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from PIL import Image
from quart import Quart

from hyperpics import create_app
from hyperpics.cli import main
from hyperpics.infra import media
from hyperpics.seed import pictures

from .conftest import SECRET, Tab, login
from .databases import DatabaseServer, TestDatabase

PASSWORD = "seeded demo password"
NOW = "2026-06-01T12:00:00"  # --now, UTC
SMALL = {"users": 12, "photos": 30, "tags": 10, "follows": 40, "collects": 60, "comments": 80, "reports": 10}
GPS_IFD = 0x8825


@dataclass(frozen=True)
class Site:
    folder: Path
    db: TestDatabase
    media: Path
    output: str

    @property
    def env(self) -> dict[str, str]:
        return environment(self.db, self.media)


def environment(db: TestDatabase, media_dir: Path) -> dict[str, str]:
    return {
        "HYPERPICS_DATABASE_URL": db.url,
        "HYPERPICS_MEDIA_DIR": str(media_dir),
        "HYPERPICS_SECRET_KEY": SECRET,
    }


def seed_args(counts: dict[str, int] = SMALL, seed: int = 7, *extra: str) -> list[str]:
    args = ["seed", "--seed", str(seed), "--password", PASSWORD, "--now", NOW, *extra]
    for name, value in counts.items():
        args += [f"--{name}", str(value)]
    return args


def invoke(site_env: dict[str, str], args: list[str], folder: Path, stdin: str | None = None) -> Result:
    with contextlib.chdir(folder):  # instance/ goes there
        return CliRunner().invoke(main, args, env=site_env, input=stdin)


def make_site(db: TestDatabase, folder: Path, args: list[str]) -> Site:
    """Seed ``db`` (already migrated: the command's upgrade has nothing to do) through the command."""
    folder.mkdir(parents=True, exist_ok=True)
    media_dir = folder / "media"
    result = invoke(environment(db, media_dir), args, folder)
    assert result.exit_code == 0, result.output
    return Site(folder, db, media_dir, result.output)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, database_server: DatabaseServer) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("seeded")
    db = database_server.fresh(folder / "db")
    try:
        yield make_site(db, folder, seed_args())
    finally:
        database_server.drop(db)


@pytest.fixture
def new_site(database_server: DatabaseServer, tmp_path: Path) -> Iterator[Callable[[str, list[str]], Site]]:
    """Seeds a site of this test's own into ``tmp_path / name`` (the database dropped after)."""
    made: list[TestDatabase] = []

    def new(name: str, args: list[str]) -> Site:
        made.append(database_server.fresh(tmp_path / name / "db"))
        return make_site(made[-1], tmp_path / name, args)

    try:
        yield new
    finally:
        for db in made:
            database_server.drop(db)


@pytest.fixture
def site_copy(site: Site, database_server: DatabaseServer, tmp_path: Path) -> Iterator[TestDatabase]:
    """The module's site, for a test that writes (logging in writes session rows)."""
    copy = database_server.clone(site.db, tmp_path / "copy")
    try:
        yield copy
    finally:
        database_server.drop(copy)


def count(db: TestDatabase, table: str) -> int:
    return db.value(f"SELECT count(*) FROM {table}")


# --- what was asked for is there, and it keeps the site's rules -----------------------------------


def test_counts_match_the_options(site: Site) -> None:
    for table, wanted in SMALL.items():
        assert count(site.db, table) == wanted, table
    assert site.db.value("SELECT count(DISTINCT tag_id) FROM photo_tags") == SMALL["tags"]  # every tag is used
    assert "30 source images:" in site.output


def test_notifications_are_what_the_services_would_have_written(site: Site) -> None:
    db = site.db
    expected = {
        "follow": "SELECT count(*) FROM follows f JOIN users u ON u.id = f.followed_id "
        "WHERE u.receive_follow_notification",
        "collect": "SELECT count(*) FROM collects c JOIN photos p ON p.id = c.photo_id "
        "JOIN users u ON u.id = p.author_id "
        "WHERE u.receive_collect_notification AND p.author_id != c.user_id",
        "reply": "SELECT count(*) FROM comments c JOIN comments r ON r.id = c.reply_to_id "
        "JOIN users u ON u.id = r.author_id "
        "WHERE u.receive_comment_notification AND r.author_id != c.author_id",
        "comment": "SELECT count(*) FROM comments c JOIN photos p ON p.id = c.photo_id "
        "JOIN users u ON u.id = p.author_id "
        "LEFT JOIN comments r ON r.id = c.reply_to_id "
        "WHERE u.receive_comment_notification AND p.author_id != c.author_id "
        "AND (r.id IS NULL OR r.author_id != p.author_id)",
    }
    for kind, sql in expected.items():
        assert db.value("SELECT count(*) FROM notifications WHERE kind = ?", kind) == db.value(sql), kind
    # Each points at its source row, at the same moment.
    assert not db.rows(
        "SELECT n.id FROM notifications n LEFT JOIN follows f ON f.follower_id = n.actor_id "
        "AND f.followed_id = n.receiver_id AND f.created_at = n.created_at "
        "WHERE n.kind = 'follow' AND f.created_at IS NULL"
    )
    assert not db.rows(
        "SELECT n.id FROM notifications n JOIN comments c ON c.id = n.comment_id "
        "WHERE n.kind IN ('comment', 'reply') AND (c.author_id != n.actor_id OR c.photo_id != n.photo_id "
        "OR c.created_at != n.created_at)"
    )
    read, unread = (
        db.value(f"SELECT count(*) FROM notifications WHERE read_at IS {state} NULL") for state in ("NOT", "")
    )
    assert read and unread
    assert not db.rows("SELECT id FROM notifications WHERE read_at < created_at")


def test_people_have_roles_states_and_unique_names(site: Site) -> None:
    roles = dict(site.db.rows("SELECT name, id FROM roles"))
    people = site.db.rows(
        "SELECT username, email, role_id, confirmed, locked, active, role_before_lock_id, avatar_large, bio FROM users"
    )
    by_role = {name: [p for p in people if p[2] == role_id] for name, role_id in roles.items()}
    assert [p[0] for p in by_role["Administrator"]] == ["admin"]
    assert [p[0] for p in by_role["Moderator"]] == ["moderator"]
    locked = [p for p in people if p[4]]
    assert locked and all(p[2] == roles["Locked"] and p[6] == roles["User"] for p in locked)
    assert all(p[6] is None for p in people if not p[4])
    assert any(not p[5] for p in people), "no blocked user"
    assert any(not p[3] for p in people), "no unconfirmed user"
    assert len({p[0].lower() for p in people}) == len(people)
    assert all(re.fullmatch(r"[A-Za-z0-9_]{3,20}", p[0]) for p in people)
    assert all(p[1] == f"{p[0].lower()}@example.com" for p in people)
    assert all(p[7] for p in people), "someone has no identicon"
    assert sum(1 for p in people if p[8]) > len(people) // 2, "few bios"


def test_times_follow_each_other_and_stay_in_the_past(site: Site) -> None:
    db = site.db
    now = db.moment(datetime.fromisoformat(NOW).replace(tzinfo=UTC))
    assert not db.rows(
        "SELECT p.id FROM photos p JOIN users u ON u.id = p.author_id WHERE p.created_at <= u.member_since"
    )
    assert not db.rows(
        "SELECT c.id FROM comments c JOIN photos p ON p.id = c.photo_id WHERE c.created_at <= p.created_at"
    )
    replies = db.rows(
        "SELECT c.id, c.photo_id = r.photo_id, c.created_at >= r.created_at FROM comments c "
        "JOIN comments r ON r.id = c.reply_to_id"
    )
    assert replies and all(same_photo and later for _, same_photo, later in replies)
    for table, column in (
        ("users", "member_since"),
        ("photos", "created_at"),
        ("comments", "created_at"),
        ("notifications", "read_at"),
    ):
        assert not db.rows(f"SELECT 1 FROM {table} WHERE {column} > ?", now), table
    # SQLite's text and PostgreSQL's datetime both start with "YYYY-MM".
    months = {str(created)[:7] for (created,) in db.rows("SELECT created_at FROM photos")}
    assert len(months) >= 4, "photos are not spread over the past months"


def test_relations_respect_the_constraints_and_visibility(site: Site) -> None:
    db = site.db
    assert not db.rows("SELECT 1 FROM follows WHERE follower_id = followed_id")
    assert not db.rows("SELECT 1 FROM collects c JOIN photos p ON p.id = c.photo_id WHERE p.visibility = 'private'")
    # Followers-only photos are collected and commented on by followers (or the author) only.
    for table, person in (("collects", "user_id"), ("comments", "author_id")):
        assert not db.rows(
            f"SELECT 1 FROM {table} x JOIN photos p ON p.id = x.photo_id WHERE p.visibility = 'followers' "
            f"AND x.{person} != p.author_id AND NOT EXISTS (SELECT 1 FROM follows f "
            f"WHERE f.follower_id = x.{person} AND f.followed_id = p.author_id)"
        ), table
    assert not db.rows("SELECT 1 FROM comments c JOIN photos p ON p.id = c.photo_id WHERE NOT p.can_comment")
    visibility = dict(db.rows("SELECT visibility, count(*) FROM photos GROUP BY visibility"))
    assert set(visibility) <= {"public", "followers", "private"}
    assert visibility["public"] > SMALL["photos"] // 2
    descriptions = db.rows("SELECT description, alt_text FROM photos")
    assert sum(1 for d, _ in descriptions if d) > len(descriptions) // 2
    assert sum(1 for _, a in descriptions if a) > len(descriptions) // 2


def test_reports_fill_the_moderation_queue(site: Site) -> None:
    reports = site.db.rows("SELECT reporter_id, target_type, target_id, reason, status, resolved_by_id FROM reports")
    assert any(status == "open" for *_, status, _ in reports)
    assert {reason for _, _, _, reason, _, _ in reports} <= {"spam", "nudity", "harassment", "copyright", "other"}
    tables = {"photo": "photos", "comment": "comments", "user": "users"}
    for _reporter, target_type, target_id, _, status, resolved_by in reports:
        assert site.db.rows(f"SELECT 1 FROM {tables[target_type]} WHERE id = ?", target_id), (target_type, target_id)
        assert (resolved_by is None) == (status == "open")
    assert len({(r, t, i) for r, t, i, *_ in reports}) == len(reports)


def test_moderation_history_matches_the_people_and_the_reports(site: Site) -> None:
    """Resolving a report on a member blocks them (services.moderation); the log says who did what."""
    db = site.db
    assert not db.rows(
        "SELECT r.id FROM reports r LEFT JOIN users u ON u.id = r.target_id AND r.target_type = 'user' "
        "WHERE r.status = 'resolved' AND (u.id IS NULL OR u.active)"
    )
    log = db.rows("SELECT action, target_type, target_id, actor_id FROM audit_log")
    staff = {
        row[0]
        for row in db.rows(
            "SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name IN ('Moderator', 'Administrator')"
        )
    }
    assert log and all(actor in staff for *_, actor in log)
    locked = {row[0] for row in db.rows("SELECT id FROM users WHERE locked")}
    blocked = {row[0] for row in db.rows("SELECT id FROM users WHERE NOT active")}
    assert {target for action, _, target, _ in log if action == "user.lock"} == locked
    assert {target for action, _, target, _ in log if action == "user.block"} == blocked
    settled = {(kind, target) for action, kind, target, _ in log if action.startswith("report.")}
    assert settled == set(db.rows("SELECT DISTINCT target_type, target_id FROM reports WHERE status != 'open'"))


# --- the same seed, the same site ---------------------------------------------------------------------

# What differs between two runs of the same seed: the password hash and the random file names.
RANDOM_COLUMNS = {
    "password_hash",
    "avatar_small",
    "avatar_medium",
    "avatar_large",
    "filename_original",
    "filename_medium",
    "filename_small",
}


def dump(site: Site) -> dict[str, Any]:
    """Every row (but the random columns), plus the stored pixels."""
    out: dict[str, Any] = dict(site.db.snapshot(without=RANDOM_COLUMNS))
    files = site.db.rows("SELECT filename_original, filename_small FROM photos ORDER BY id")
    avatars = site.db.rows("SELECT avatar_large FROM users ORDER BY id")

    def digest(name: str) -> str:
        return hashlib.sha256((site.media / name).read_bytes()).hexdigest()

    out["photo files"] = [(digest(f"photos/{a}"), digest(f"photos/{b}")) for a, b in files]
    out["avatar files"] = [digest(f"avatars/{a}") for (a,) in avatars]
    return out


def test_the_same_seed_gives_the_same_site_and_another_seed_another(site: Site, new_site: Callable[..., Site]) -> None:
    again = new_site("again", seed_args())
    first = dump(site)
    assert dump(again) == first
    other = new_site("other", seed_args(seed=8))
    second = dump(other)
    for part in ("users", "photos", "comments", "follows", "photo files"):
        assert second[part] != first[part], part
    # Only the random file names differ between the twins.
    assert again.db.rows("SELECT filename_original FROM photos") != site.db.rows("SELECT filename_original FROM photos")


# --- --reset ------------------------------------------------------------------------------------


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def photo_files(db) -> int:  # type: ignore[no-untyped-def]
    """How many files the photo rows name: 5 or 7 each (original; 400, 800 and, when wider,
    large copies in JPEG and WebP)."""
    from hyperpics.infra.storage import photo_files as files_of

    rows = db.rows("SELECT filename_original, width, height, derivatives FROM photos")
    counts = [len(files_of(*row)) for row in rows]
    assert set(counts) <= {5, 7}, counts
    return sum(counts)


def test_reset_asks_first_and_yes_replaces_rows_and_files(new_site: Callable[..., Site]) -> None:
    tiny = {"users": 8, "photos": 5, "tags": 3, "follows": 10, "collects": 6, "comments": 6, "reports": 2}
    first = new_site("first", seed_args(tiny))
    before, old_files = dump(first), files_under(first.media)
    assert len(old_files) == photo_files(first.db) + 3 * 8

    refused = invoke(first.env, seed_args(tiny), first.folder)
    assert (
        refused.exit_code != 0
        and "already holds 8 users and 5 photos" in refused.output
        and "--reset" in refused.output
    )

    declined = invoke(first.env, seed_args(tiny, 9, "--reset"), first.folder, stdin="n\n")
    assert declined.exit_code != 0 and "Continue?" in declined.output and "Aborted" in declined.output
    assert dump(first) == before and files_under(first.media) == old_files

    bigger = dict(tiny, users=10, photos=7)
    replaced = invoke(first.env, seed_args(bigger, 9, "--reset", "--yes"), first.folder)
    assert replaced.exit_code == 0, replaced.output
    assert count(first.db, "users") == 10 and count(first.db, "photos") == 7
    new_files = files_under(first.media)
    assert not new_files & old_files, "old media files were left behind"
    assert len(new_files) == photo_files(first.db) + 3 * 10
    # Ids are never reused, even by a reset: an old link names an old row, never a new one.
    assert first.db.value("SELECT min(id) FROM users") == 8 + 1
    # New rows made the ordinary way (PostgreSQL: by the id sequences) come after the seeded ones.
    now = first.db.moment(datetime.now(UTC))
    first.db.execute("INSERT INTO tags (name, created_at) VALUES ('after-the-seed', ?)", now)
    seeded = first.db.value("SELECT max(id) FROM tags WHERE name <> 'after-the-seed'")
    assert first.db.value("SELECT id FROM tags WHERE name = 'after-the-seed'") == seeded + 1


# --- files on disk ----------------------------------------------------------------------------------


def test_every_photo_has_its_three_files_and_none_carries_metadata(site: Site) -> None:
    photos = site.db.rows("SELECT filename_original, filename_medium, filename_small, width, height FROM photos")
    for *names, width, height in photos:
        for index, name in enumerate(names):
            path = site.media / media.PHOTOS_DIR / name
            assert path.is_file(), name
            with Image.open(path) as image:
                exif = image.getexif()
                assert len(exif) == 0 and not exif.get_ifd(GPS_IFD), f"{name} keeps EXIF"
                assert "exif" not in image.info
                if index == 0:
                    assert image.size == (width, height)
    summary = re.search(r"30 source images: (\d+) carried GPS and (\d+) an EXIF orientation", site.output)
    assert summary and int(summary.group(1)) > 0 and int(summary.group(2)) > 0, site.output


def test_a_turned_source_with_gps_comes_out_upright_and_clean(tmp_path: Path) -> None:
    picture = pictures.Picture(
        width=640,
        height=400,
        style="landscape",
        colours=("navy", "peach", "amber", "olive"),
        count=2,
        orientation=6,
        gps=(38.72, -9.14),
        image_format="JPEG",
        seed=1,
    )
    source = pictures.source_bytes(picture)
    with Image.open(io.BytesIO(source)) as image:
        assert image.size == (400, 640)  # stored sideways, as a phone does
        exif = image.getexif()
        assert exif[0x0112] == 6 and exif.get_ifd(GPS_IFD)[2] == (38.0, 43.0, 12.0)
    stored = media.process_photo(source, tmp_path)
    assert (stored.width, stored.height) == (640, 400)
    with Image.open(tmp_path / media.PHOTOS_DIR / media.pending_name(stored.original)) as image:
        assert len(image.getexif()) == 0
        # The sky (top) is the navy-to-peach gradient, the bottom is hills: upright.
        top = image.convert("RGB").getpixel((5, 2))
        assert abs(top[0] - 24) < 30 and abs(top[2] - 92) < 30, top


# --- bad options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--photos", "-1"], "-1 is not in the range x>=0"),
        (["--users", "2"], "2 is not in the range x>=3"),
        (["--users", "5", "--follows", "21"], "at most 20"),
        (["--photos", "0"], "--tags needs photos"),
        (["--photos", "2", "--tags", "41"], "at most 20 tags"),
        (["--password", "short"], "Use at least 8 characters."),
        (["--now", "yesterday"], "'yesterday' does not match the formats"),
        (["--workers", "0"], "0 is not in the range x>=1"),
    ],
)
def test_bad_options_exit_non_zero_with_a_clear_message(
    empty_database: TestDatabase, tmp_path: Path, args: list[str], message: str
) -> None:
    result = invoke(environment(empty_database, tmp_path / "media"), ["seed", *args], tmp_path)
    assert result.exit_code == 2, result.output
    assert message in result.output
    # Refused before anything was done: no migration, no file.
    assert not empty_database.tables()
    assert not (tmp_path / "media").exists()


def test_reindex_and_search_work_on_seeded_data(site: Site, site_copy: TestDatabase, tmp_path: Path) -> None:
    result = invoke(environment(site_copy, site.media), ["reindex"], tmp_path)
    assert result.exit_code == 0, result.output
    assert f"{SMALL['tags']} tags" in result.output and f"{SMALL['users']} users" in result.output


# --- every page, for every kind of visitor ------------------------------------------------------------------


@pytest.fixture
async def seeded_app(site: Site, site_copy: TestDatabase, tmp_path: Path) -> AsyncIterator[Quart]:
    config = {
        "DATABASE_URL": site_copy.url,
        "MEDIA_DIR": str(site.media),
        "SECRET_KEY": SECRET,
        "BASE_URL": "http://hyperpics.test",
        "RATE_LIMITS_ENABLED": False,
    }
    application = create_app(config, instance_path=tmp_path / "instance")
    async with application.test_app():
        yield application


ARGUMENT = re.compile(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>")


def samples(db: TestDatabase) -> dict[str, list[str]]:
    """Values for path arguments, from the seeded rows: a few of each kind of thing."""

    def ids(sql: str) -> list[str]:
        return [str(row[0]) for row in db.rows(sql) if row[0] is not None]

    people = (
        "SELECT {0} FROM users WHERE id IN ("
        "(SELECT id FROM users WHERE username = 'admin'), (SELECT min(id) FROM users WHERE id IN ({members})), "
        "(SELECT min(id) FROM users WHERE locked), (SELECT min(id) FROM users WHERE NOT active), "
        "(SELECT min(id) FROM users WHERE NOT confirmed)) ORDER BY id"
    )
    photos = " UNION ".join(
        f"SELECT * FROM (SELECT id FROM photos WHERE {condition} ORDER BY id LIMIT 1) AS pick"
        for condition in (
            "visibility = 'public' AND can_comment",
            "visibility = 'followers'",
            "visibility = 'private'",
            "NOT can_comment",
        )
    )
    return {
        "username": ids(people.format("username", members=MEMBERS)),
        "user_id": ids(people.format("id", members=MEMBERS)),
        "photo_id": ids(photos),
        "tag_id": ids("SELECT min(id) FROM tags UNION SELECT max(id) FROM tags"),
        "comment_id": ids(
            "SELECT min(id) FROM comments WHERE reply_to_id IS NULL "
            "UNION SELECT min(id) FROM comments WHERE reply_to_id IS NOT NULL"
        ),
        "notification_id": ids("SELECT min(id) FROM notifications UNION SELECT max(id) FROM notifications"),
        "report_id": ids(
            "SELECT min(id) FROM reports WHERE status = 'open' UNION SELECT min(id) FROM reports WHERE status != 'open'"
        ),
        "token": ["bogus.token.value"],
        "order": ["by_time", "by_collects"],
    }


def values_for(name: str, converter: str, known: dict[str, list[str]], db: TestDatabase) -> list[str]:
    if name in known:
        return known[name]
    if name.endswith("_id"):  # a route added later: <thing_id> most likely names a row of "things"
        table = name.removesuffix("_id") + "s"
        if table in db.tables():
            return [str(row[0]) for row in db.rows(f"SELECT id FROM {table} ORDER BY id LIMIT 2")] or ["1"]
    return ["1"] if converter in {"int", "float"} else ["x"]


def skip_reason(app: Quart, rule: Any) -> str | None:
    if rule.endpoint == "static":
        return "static files (tests/test_static_serving.py)"
    if getattr(app.view_functions[rule.endpoint], "streams", False):
        return "a never-ending SSE stream (opened by test_policy and test_notification_stream)"
    if rule.rule.startswith("/media/"):
        return "stored files (checked on disk by test_every_photo_has_its_three_files_...)"
    return None


def page_urls(app: Quart, db: TestDatabase) -> Iterator[tuple[str, str]]:
    """(endpoint, url) for every GET rule, its arguments filled from seeded rows."""
    known = samples(db)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or skip_reason(app, rule):
            continue
        arguments = ARGUMENT.findall(rule.rule)
        choices = {name: values_for(name, converter, known, db) for converter, name in arguments}
        for index in range(max([len(values) for values in choices.values()], default=1)):
            yield (
                rule.endpoint,
                fill(rule.rule, {name: values[index % len(values)] for name, values in choices.items()}),
            )


def fill(rule: str, values: dict[str, str]) -> str:
    return ARGUMENT.sub(lambda match: values[match.group(2)], rule)


VISITORS = {
    "anonymous": None,
    "member": "member",
    "moderator": "moderator@example.com",
    "administrator": "admin@example.com",
}


# Confirmed, active people with the plain User role.
MEMBERS = "SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'User' AND u.confirmed AND u.active"


def member_email(db: TestDatabase) -> str:
    return db.value(f"SELECT email FROM users WHERE id IN ({MEMBERS}) ORDER BY id LIMIT 1")


@pytest.mark.parametrize("visitor", list(VISITORS))
async def test_every_page_renders_for_every_visitor(seeded_app: Quart, site: Site, visitor: str) -> None:
    tab = Tab(seeded_app)
    email = VISITORS[visitor]
    if email is not None:
        email = member_email(site.db) if email == "member" else email
        assert (await login(tab, email, PASSWORD)).status == 303
        assert "/auth/logout" in (await tab.get("/")).text
    failures, statuses = [], {}
    for endpoint, url in page_urls(seeded_app, site.db):
        page = await tab.get(url)
        statuses[url] = page.status
        if page.status >= 500:
            failures.append(f"GET {url} ({endpoint}) answered {page.status}")
        # The same address asked by htmx renders only a block of the page: that must work too.
        fragment = await tab.get(url, htmx=True)
        if fragment.status >= 500:
            failures.append(f"htmx GET {url} ({endpoint}) answered {fragment.status}")
    assert not failures, "\n".join(failures)
    assert len(statuses) >= 40
    assert sum(1 for status in statuses.values() if status == 200) >= 25, statuses


async def test_search_finds_seeded_photos_people_and_tags(seeded_app: Quart, site: Site) -> None:
    tab = Tab(seeded_app)
    tag_id, tag = site.db.rows(
        "SELECT t.id, t.name FROM tags t JOIN photo_tags pt ON pt.tag_id = t.id JOIN photos p ON p.id = pt.photo_id "
        "WHERE p.visibility = 'public' ORDER BY t.id LIMIT 1"
    )[0]
    page = await tab.get(f"/search?q={tag}&category=tag")
    assert page.status == 200 and f"/tag/{tag_id}" in page.text
    page = await tab.get(f"/search?q={tag}&category=photo")
    assert page.status == 200 and re.search(r'href="/photo/\d+"', page.text)
    username = member_email(site.db).split("@")[0]
    page = await tab.get(f"/search?q={username}&category=user")
    assert page.status == 200 and f"/user/{username}" in page.text.lower()
