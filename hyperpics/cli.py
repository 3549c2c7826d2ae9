"""The ``hyperpics`` command: serve, db, seed, create-admin, reindex, sweep-media, media."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from . import config as config_module
from .infra.sweep import GRACE
from .seed import command as seed_command
from .seed.rows import SeedOptions
from .services.refusals import Invalid

if TYPE_CHECKING:
    from quart import Quart


def _load_app() -> Quart:
    from . import create_app

    try:
        return create_app()
    except config_module.ConfigError as error:
        raise click.ClickException(str(error)) from None


def _load_settings() -> dict[str, Any]:
    """The HYPERPICS_* settings, checked, for commands that need no app."""
    from pathlib import Path

    settings = config_module.from_environment(Path.cwd() / "instance")
    try:
        config_module.validate(settings)
    except config_module.ConfigError as error:
        raise click.ClickException(str(error)) from None
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """hyperpics: a self-hosted photo-sharing site."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes on the one port (more than 1 needs HYPERPICS_BROADCAST_URL=redis://...).",
)
@click.option("--demo", is_flag=True, help="On an empty database, seed a demo site first and print its logins.")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Apply migrations, then serve the site with hypercorn."""
    from .infra import migrations
    from .server import listening_sockets, run_workers
    from .server import serve as run_server

    app = _load_app()
    if workers > 1 and not str(app.config["BROADCAST_URL"]).startswith(("redis://", "rediss://")):
        raise click.UsageError(
            f"--workers {workers} needs HYPERPICS_BROADCAST_URL=redis://host:port: with "
            f"{app.config['BROADCAST_URL']} a notification made in one worker never reaches the "
            "pages held open by another. Set it, or use --workers 1."
        )
    # The port first: a port in use stops here, before migrating, seeding or sweeping the media
    # of a site another server may be running. Connections made meanwhile wait in the backlog.
    try:
        sockets = listening_sockets(host, port, workers)
    except OSError as error:
        raise click.ClickException(f"Cannot serve on {host}:{port}: {error.strerror or error}") from None
    url = app.config["DATABASE_URL"]
    migrations.upgrade(url)
    if demo:
        _seed_demo(url, app.config["MEDIA_DIR"])
    _sweep_media_at_start(url, app.config["MEDIA_DIR"])
    click.echo(f"hyperpics is running at http://{host}:{port}/  (Ctrl+C to stop)")
    if workers == 1:
        asyncio.run(run_server(app, host, port, sock=sockets[0]))
    else:
        sys.exit(run_workers(host, port, workers, sockets=sockets))


def _seed_demo(url: str, media_dir: str) -> None:
    """The demo site, only when nobody has an account yet (never over real data)."""
    from . import seed as seeding

    found = asyncio.run(seeding.existing(url))
    if found.users:
        click.echo(
            f"Demo: the database already has {found.users} users, so nothing was seeded. Its logins were "
            "printed when it was seeded; `hyperpics seed --reset` makes a new demo site with new ones."
        )
        return
    click.echo("Demo: the database is empty; seeding a demo site...")
    options = seeding.SeedOptions(seed=secrets.randbelow(1_000_000))
    summary = seed_command.run_seed(
        url, media_dir, options, seeding.new_password(), reset=False, workers=os.cpu_count() or 1
    )
    click.echo("\n".join(summary.lines()))


def _sweep_media_at_start(url: str, media_dir: str) -> None:
    """Once per start, here in the parent before any worker exists: what a crash left behind."""
    from .infra import sweep

    log = logging.getLogger("hyperpics.sweep")
    try:
        log.info("%s", asyncio.run(sweep.sweep(url, media_dir)).summary())
    except Exception:  # housekeeping: the site serves without it
        log.exception("the media sweep failed; serving anyway")


@main.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Bring the database schema up to date."""
    from alembic.util import CommandError

    from .infra import migrations

    app = _load_app()
    try:
        migrations.upgrade(app.config["DATABASE_URL"], revision)
    except CommandError as error:
        raise click.BadParameter(str(error), param_hint="'--revision'") from None
    click.echo(f"Database is at revision {revision}.")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration does.")
def revision(message: str) -> None:
    """Generate a migration from the models (for developers)."""
    from .infra import migrations

    migrations.make_revision(_load_app().config["DATABASE_URL"], message)


# --- seed -------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--users",
    default=SeedOptions.user_count,
    show_default=True,
    type=click.IntRange(min=3),
    help="How many people (an administrator, a moderator, a few unconfirmed, locked and blocked among them).",
)
@seed_command.count_option(
    "photos", SeedOptions.photo_count, "photos (each drawn and sent through the upload pipeline)"
)
@seed_command.count_option("tags", SeedOptions.tag_count, "distinct tags")
@seed_command.count_option("follows", SeedOptions.follow_count, "follows")
@seed_command.count_option("collects", SeedOptions.collect_count, "collects")
@seed_command.count_option("comments", SeedOptions.comment_count, "comments (about a third are replies)")
@seed_command.count_option("reports", SeedOptions.report_count, "reports for the moderation queue")
@click.option(
    "--seed", "seed_value", type=click.IntRange(min=0), help="Same seed, same site. Default: a random one (printed)."
)
@click.option("--password", help="Password of every demo account. Default: a new random one (printed).")
@click.option(
    "--now",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="The moment the demo's times count back from (UTC unless given). Default: now.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="CPU count",
    help="Processes drawing and storing pictures.",
)
@click.option("--reset", is_flag=True, help="Replace what the database holds: rows and their media files (asks first).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --reset deletes.")
def seed(
    users: int,
    photos: int,
    tags: int,
    follows: int,
    collects: int,
    comments: int,
    reports: int,
    seed_value: int | None,
    password: str | None,
    now: datetime | None,
    workers: int,
    reset: bool,
    yes: bool,
) -> None:
    """Fill the database with a believable demo site."""
    from . import seed as seeding
    from .infra import migrations, passwords

    options = seeding.SeedOptions(
        user_count=users,
        photo_count=photos,
        tag_count=tags,
        follow_count=follows,
        collect_count=collects,
        comment_count=comments,
        report_count=reports,
        seed=secrets.randbelow(1_000_000) if seed_value is None else seed_value,
        now=seed_command.utc(now or datetime.now(UTC)).replace(microsecond=0),
    )
    try:
        seeding.check(options)
    except seeding.SeedError as error:
        raise click.BadParameter(error.message, param_hint=f"'--{error.option}'" if error.option else None) from None
    if password is not None and (problems := passwords.problems(password)):
        raise click.BadParameter(" ".join(problems), param_hint="'--password'")
    settings = _load_settings()  # no app: seeding serves no page, so the web framework stays unloaded
    url, media_dir = settings["DATABASE_URL"], settings["MEDIA_DIR"]
    migrations.upgrade(url)
    seed_command.make_room(url, reset=reset, ask=not yes)
    summary = seed_command.run_seed(
        url, media_dir, options, password or seeding.new_password(), reset=reset, workers=workers
    )
    click.echo("\n".join(summary.lines()))


@main.command()
def reindex() -> None:
    """Rebuild the search indexes from the tables."""
    from .infra import migrations

    app = _load_app()
    migrations.upgrade(app.config["DATABASE_URL"])
    counts = asyncio.run(_reindex(app.config["DATABASE_URL"]))
    click.echo("Reindexed: " + ", ".join(f"{count} {name}" for name, count in counts.items()))


async def _reindex(url: str) -> dict[str, int]:
    from .infra.engines import Database
    from .services.search import search_index

    database = Database(url)
    try:
        async with database.session(write=True) as session:
            counts = await search_index("sqlite" if url.startswith("sqlite") else "postgresql").rebuild(session)
            await session.commit()
            return counts
    finally:
        await database.dispose()


@main.command("sweep-media")
@click.option(
    "--grace",
    default=GRACE // timedelta(minutes=1),
    show_default=True,
    type=click.IntRange(min=0),
    help="Minutes: a file no row names is removed only once older than this (uploads in flight are younger).",
)
@click.option("--dry-run", is_flag=True, help="List what would be published or removed; change nothing.")
def sweep_media(grace: int, dry_run: bool) -> None:
    """Remove media files no row names (left by a crash), publish pending ones a row names."""
    from .infra import migrations, sweep

    settings = _load_settings()
    migrations.upgrade(settings["DATABASE_URL"])
    report = asyncio.run(
        sweep.sweep(settings["DATABASE_URL"], settings["MEDIA_DIR"], grace=timedelta(minutes=grace), dry_run=dry_run)
    )
    click.echo("\n".join([*report.changes(), report.summary()]))


@main.group()
def media() -> None:
    """Photo files: bring older photos up to the current set of copies."""


@media.command()
@click.option(
    "--batch", default=32, show_default=True, type=click.IntRange(1, 1000), help="Photos per write transaction."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="CPU count",
    help="Threads making images.",
)
def backfill(batch: int, workers: int) -> None:
    """Make the copies (large, WebP) and the placeholder colour that older photos lack.

    Safe to stop and run again: it starts with the photos still behind, and does nothing
    once every photo is up to date. The site keeps serving meanwhile."""
    from .infra import backfill as backfilling
    from .infra import migrations
    from .infra.engines import Database

    settings = _load_settings()
    url, media_dir = settings["DATABASE_URL"], settings["MEDIA_DIR"]
    migrations.upgrade(url)

    async def run() -> backfilling.BackfillReport:
        database = Database(url)
        try:
            behind = await backfilling.count_behind(database)
        finally:
            await database.dispose()
        with seed_command.ProgressBars().stage("Photos", behind) as advance:
            return await backfilling.backfill(
                url, media_dir, batch=batch, workers=workers, advance=advance, behind=behind
            )

    report = asyncio.run(run())
    for photo_id, why in report.failed:
        click.echo(f"photo {photo_id}: {why}", err=True)
    click.echo(report.summary())
    if report.failed:
        sys.exit(1)


@main.command("create-admin")
@click.option("--email", prompt=True, help="The administrator's email address.")
@click.option("--username", prompt=True, help="3-20 letters, digits or underscores.")
@click.option("--name", prompt=True, help="Display name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted if omitted.")
def create_admin(email: str, username: str, name: str, password: str) -> None:
    """Create a confirmed administrator (or promote the account with this email)."""
    from .infra import migrations

    app = _load_app()
    migrations.upgrade(app.config["DATABASE_URL"])
    try:
        message = asyncio.run(
            _create_admin(app.config["DATABASE_URL"], app.config["MEDIA_DIR"], email, username, name, password)
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(message)


async def _create_admin(url: str, media_dir: str, email: str, username: str, name: str, password: str) -> str:
    from .forms.auth import RegisterForm
    from .infra.engines import Database
    from .infra.storage import commit_with_files
    from .models import RoleName
    from .services import accounts

    form = RegisterForm(
        data={"name": name, "email": email, "username": username, "password": password, "password2": password}
    )
    database = Database(url)
    try:
        async with database.session(write=True) as session:
            existing = await accounts.user_by_email(session, email)
            if existing is not None:
                existing.role = await accounts.role_named(session, RoleName.ADMINISTRATOR)
                existing.confirmed = True
                await session.commit()
                return f"{existing.username} <{existing.email}> is now an administrator."
            if not form.validate():
                raise ValueError("; ".join(f"{key}: {' '.join(errors)}" for key, errors in form.errors.items()))
            try:
                user = await accounts.register(
                    session,
                    accounts.Registration(name=name, email=email, username=username, password=password),
                    media_dir=media_dir,
                )
            except Invalid as error:
                raise ValueError(error.message) from None
            # Whoever runs this command on the server is trusted with the address.
            user.role = await accounts.role_named(session, RoleName.ADMINISTRATOR)
            user.confirmed = True
            await commit_with_files(session.commit, media_dir, accounts.avatar_paths(user.avatar_files()))
            return f"Administrator {user.username} <{user.email}> created."
    finally:
        await database.dispose()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
