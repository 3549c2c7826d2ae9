"""New media files go live only after their rows commit, and the sweep finishes or removes
what a crash leaves behind: real files on disk, real rows, ages set with os.utime."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from quart import Quart

from hyperpics.cli import main
from hyperpics.infra import db, media, storage, sweep

from . import images
from .conftest import Tab, fetch_user, make_user
from .databases import TestDatabase
from .factories import add_user
from .test_upload import all_photos, media_files

OLD = timedelta(hours=2)  # older than the default grace period of an hour
YOUNG = timedelta(minutes=5)


def media_dir(app: Quart) -> Path:
    return Path(app.config["MEDIA_DIR"])


def put(root: Path, name: str, age: timedelta) -> Path:
    """A file at ``root/name`` last written ``age`` ago."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind")
    moment = time.time() - age.total_seconds()
    os.utime(path, (moment, moment))
    return path


def every_file(root: Path) -> dict[str, float]:
    """Every file under ``root`` (pending and temporary ones included) with its mtime."""
    return {
        os.path.relpath(os.path.join(folder, name), root): os.stat(os.path.join(folder, name)).st_mtime
        for folder, _, names in os.walk(root)
        for name in names
    }


async def run_sweep(app: Quart, **options: object) -> sweep.SweepReport:
    return await sweep.sweep(app.config["DATABASE_URL"], app.config["MEDIA_DIR"], **options)  # type: ignore[arg-type]


def stray(folder: str = media.PHOTOS_DIR, suffix: str = ".jpg") -> str:
    """A name as the pipeline makes them, which no row names."""
    return f"{folder}/{secrets.token_hex(16)}{suffix}"


# --- uploads: rows first, then files -----------------------------------------------------


async def test_an_upload_leaves_only_final_files_and_they_are_the_rows_files(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/upload")
    page = await tab.upload("/upload", [("a.jpg", images.jpeg(900, 600)), ("b.png", images.png(500, 500))])
    assert page.status == 200, page.text

    photos = await all_photos(app)
    assert len(photos) == 2
    # Every file under MEDIA_DIR/photos, pending and temporary ones included: exactly the rows'.
    assert media_files(app) == sorted(name for photo in photos for name in photo.files())
    ana = await fetch_user(app, "ana")
    assert media_files(app, media.AVATARS_DIR) == sorted(ana.avatar_files())


async def test_a_failed_commit_takes_the_pending_files_back(
    app: Quart, tab: Tab, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/upload")
    real_commit = db.commit
    on_disk_at_commit: list[list[str]] = []

    async def commit_that_fails_once() -> None:
        on_disk_at_commit.append(media_files(app))
        if len(on_disk_at_commit) == 1:
            raise ConnectionError("the database went away")
        await real_commit()

    monkeypatch.setattr(db, "commit", commit_that_fails_once)
    page = await tab.upload("/upload", [("a.jpg", images.jpeg())])

    assert page.status == 500
    # The commit that failed was the upload's, its files written and pending.
    [first, *_] = on_disk_at_commit
    assert len(first) == 5 and all(name.endswith(media.PENDING_SUFFIX) for name in first)
    assert await all_photos(app) == []
    assert media_files(app) == []


async def test_a_crash_between_commit_and_rename_is_rolled_forward(
    app: Quart, tab: Tab, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/upload")

    async def killed_before_renaming(media_dir: object, names: object) -> None:
        return None

    monkeypatch.setattr(storage, "publish_media_files", killed_before_renaming)
    page = await tab.upload("/upload", [("a.jpg", images.jpeg(900, 600))])
    assert page.status == 200, page.text
    [photo] = await all_photos(app)
    assert media_files(app) == sorted(media.pending_name(name) for name in photo.files())
    # Committed rows, files still pending: nothing is served, under either name.
    for name in photo.files():
        assert (await tab.client.get(f"/media/photos/{name}")).status_code == 404
        assert (await tab.client.get(f"/media/photos/{media.pending_name(name)}")).status_code == 404
    monkeypatch.undo()

    # Young as they are, their rows are committed: the sweep renames them at once.
    report = await run_sweep(app)

    assert sorted(report.published) == sorted(f"photos/{media.pending_name(name)}" for name in photo.files())
    assert report.removed == [] and report.named == 3  # ana's identicon
    assert media_files(app) == sorted(photo.files())
    for name in photo.files():
        assert (await tab.client.get(f"/media/photos/{name}")).status_code == 200


async def test_a_pending_avatar_is_never_served(app: Quart, tab: Tab, monkeypatch: pytest.MonkeyPatch) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/settings/avatar")

    async def killed_before_renaming(media_dir: object, names: object) -> None:
        return None

    monkeypatch.setattr(storage, "publish_media_files", killed_before_renaming)
    page = await tab.upload("/settings/avatar", [("me.png", images.png(300, 300))], field="image")
    assert page.status == 303
    ana = await fetch_user(app, "ana")
    for name in ana.avatar_files():
        assert (media_dir(app) / media.AVATARS_DIR / media.pending_name(name)).is_file()
        assert (await tab.client.get(f"/media/avatars/{media.pending_name(name)}")).status_code == 404
        assert (await tab.client.get(f"/media/avatars/{name}")).status_code == 404
    temporary = put(media_dir(app), f"{media.AVATARS_DIR}/.{ana.avatar_large}.0123abcd.tmp", YOUNG)
    assert (await tab.client.get(f"/media/avatars/{temporary.name}")).status_code == 404


# --- the sweep ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_name",
    [
        pytest.param(lambda: media.pending_name(stray()), id="pending-photo"),
        pytest.param(lambda: media.pending_name(stray(media.AVATARS_DIR, "_200.png")), id="pending-avatar"),
        pytest.param(stray, id="final-photo"),
        pytest.param(lambda: stray(media.AVATARS_DIR, "_30.png"), id="final-avatar"),
        pytest.param(lambda: f"photos/.{secrets.token_hex(16)}.jpg.pending.0123abcd.tmp", id="temporary"),
    ],
)
async def test_a_file_no_row_names_goes_once_older_than_the_grace(app: Quart, make_name: Callable[[], str]) -> None:
    await add_user(app, "ana")  # the database names some files: this is the site's
    old_name, young_name = make_name(), make_name()
    old, young = put(media_dir(app), old_name, OLD), put(media_dir(app), young_name, YOUNG)

    report = await run_sweep(app)

    assert report.removed == [old_name] and report.young == 1 and report.published == []
    assert not old.exists() and young.exists()


async def test_the_grace_period_is_a_setting(app: Quart) -> None:
    await add_user(app, "ana")
    name = stray()
    put(media_dir(app), name, YOUNG)

    assert (await run_sweep(app, grace=timedelta(minutes=10))).young == 1
    assert (await run_sweep(app, grace=timedelta(minutes=1))).removed == [name]


async def test_files_the_rows_name_are_never_touched(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/upload")
    assert (await tab.upload("/upload", [("a.jpg", images.jpeg())])).status == 200
    [photo] = await all_photos(app)
    ana = await fetch_user(app, "ana")
    named = [f"photos/{name}" for name in photo.files()] + [f"avatars/{name}" for name in ana.avatar_files()]
    for name in named:
        moment = time.time() - timedelta(days=400).total_seconds()
        os.utime(media_dir(app) / name, (moment, moment))
    before = every_file(media_dir(app))

    report = await run_sweep(app, grace=timedelta(0))

    # 640 px wide: the original, its 400 and 800 px copies in JPEG and WebP; 3 avatar files.
    assert report.named == 5 + 3 and report.removed == [] and report.published == []
    assert every_file(media_dir(app)) == before


async def test_a_dry_run_changes_nothing_and_says_what_it_would_do(app: Quart) -> None:
    ana = await add_user(app, "ana")
    # A crash after the commit: ana's avatar files are still pending.
    for name in ana.avatar_files():
        path = media_dir(app) / media.AVATARS_DIR / name
        path.rename(path.with_name(media.pending_name(name)))
    leftover = stray()
    put(media_dir(app), leftover, OLD)
    before = every_file(media_dir(app))

    report = await run_sweep(app, dry_run=True)

    assert every_file(media_dir(app)) == before
    assert sorted(report.published) == sorted(f"avatars/{media.pending_name(name)}" for name in ana.avatar_files())
    assert report.removed == [leftover]
    assert f"would remove {leftover}" in report.changes()
    assert report.summary().startswith("Media sweep (dry run, nothing changed): 3 to publish")


async def test_a_database_that_names_no_file_spares_final_files(app: Quart) -> None:
    """The wrong database (say HYPERPICS_DATABASE_URL forgotten) must not empty a real media folder."""
    final, pending = stray(), media.pending_name(stray())
    put(media_dir(app), final, OLD)
    put(media_dir(app), pending, OLD)

    report = await run_sweep(app)

    assert report.spared == 1 and report.removed == [pending]
    assert (media_dir(app) / final).exists() and not (media_dir(app) / pending).exists()
    assert "because the database names no file at all" in report.summary()


# --- the command ---------------------------------------------------------------------------


def test_sweep_media_command(database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYPERPICS_DATABASE_URL", database.url)
    monkeypatch.setenv("HYPERPICS_SECRET_KEY", "sweep-test-secret-0123456789-0123456789")
    root = tmp_path / "media"
    monkeypatch.setenv("HYPERPICS_MEDIA_DIR", str(root))
    runner = CliRunner()
    made = runner.invoke(
        main,
        ["create-admin", "--email", "boss@example.com", "--username", "boss", "--name", "Boss"]
        + ["--password", "a long admin password"],
    )
    assert made.exit_code == 0, made.output
    avatars = sorted(every_file(root))  # create-admin publishes the identicon it drew
    assert len(avatars) == 3 and not any(name.endswith(media.PENDING_SUFFIX) for name in avatars)
    [small, medium, large] = database.rows("SELECT avatar_small, avatar_medium, avatar_large FROM users")[0]
    assert avatars == sorted(f"avatars/{name}" for name in (small, medium, large))
    # A crash after the commit, before the rename of one file; an old leftover; an upload in flight.
    (root / "avatars" / large).rename(root / "avatars" / media.pending_name(large))
    leftover, in_flight = stray(), media.pending_name(stray())
    put(root, leftover, OLD)
    put(root, in_flight, YOUNG)
    before = every_file(root)

    dry = runner.invoke(main, ["sweep-media", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        f"would rename avatars/{large}.pending to avatars/{large}",
        f"would remove {leftover}",
        (
            "Media sweep (dry run, nothing changed): 1 to publish (pending, named by a row), 1 to remove "
            "(named by no row, older than the grace period), 1 younger kept, 2 named by rows"
        ),
    ]
    assert every_file(root) == before

    done = runner.invoke(main, ["sweep-media"])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        f"renamed avatars/{large}.pending to avatars/{large}",
        f"removed {leftover}",
        (
            "Media sweep: 1 published (pending, named by a row), 1 removed (named by no row, older than the "
            "grace period), 1 younger kept, 2 named by rows"
        ),
    ]
    assert sorted(every_file(root)) == sorted([*avatars, in_flight])

    # --grace is in minutes: with 0, the upload in flight counts as abandoned.
    zero = runner.invoke(main, ["sweep-media", "--grace", "0"])
    assert zero.exit_code == 0 and f"removed {in_flight}" in zero.output
    assert sorted(every_file(root)) == avatars
