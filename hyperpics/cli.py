"""The ``hyperpics`` command: serve, db, create-admin."""

from __future__ import annotations

import asyncio
import sys

import click

from . import config as config_module


def _load_app():  # type: ignore[no-untyped-def]
    from . import create_app

    try:
        return create_app()
    except config_module.ConfigError as error:
        raise click.ClickException(str(error)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """hyperpics: a self-hosted photo-sharing site."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Apply migrations, then serve the site with hypercorn."""
    from . import migrations
    from .server import serve as run_server

    app = _load_app()
    migrations.upgrade(app.config["DATABASE_URL"])
    click.echo(f"hyperpics is running at http://{host}:{port}/  (Ctrl+C to stop)")
    asyncio.run(run_server(app, host, port))


@main.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Bring the database schema up to date."""
    from . import migrations

    app = _load_app()
    migrations.upgrade(app.config["DATABASE_URL"], revision)
    click.echo(f"Database is at revision {revision}.")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration does.")
def revision(message: str) -> None:
    """Generate a migration from the models (for developers)."""
    from . import migrations

    migrations.make_revision(_load_app().config["DATABASE_URL"], message)


@main.command()
def reindex() -> None:
    """Rebuild the search indexes from the tables."""
    from . import migrations

    app = _load_app()
    migrations.upgrade(app.config["DATABASE_URL"])
    counts = asyncio.run(_reindex(app.config["DATABASE_URL"]))
    click.echo("Reindexed: " + ", ".join(f"{count} {table.removesuffix('_fts')}" for table, count in counts.items()))


async def _reindex(url: str) -> dict[str, int]:
    from .db import Database
    from .search import search_index

    database = Database(url)
    try:
        async with database.session(write=True) as session:
            counts = await search_index("sqlite" if url.startswith("sqlite") else "postgresql").rebuild(session)
            await session.commit()
            return counts
    finally:
        await database.dispose()


@main.command("create-admin")
@click.option("--email", prompt=True, help="The administrator's email address.")
@click.option("--username", prompt=True, help="3-20 letters, digits or underscores.")
@click.option("--name", prompt=True, help="Display name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted if omitted.")
def create_admin(email: str, username: str, name: str, password: str) -> None:
    """Create a confirmed administrator (or promote the account with this email)."""
    from . import migrations

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
    from .db import Database
    from .forms.auth import RegisterForm
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
                    admin_email=email,
                    media_dir=media_dir,
                )
            except accounts.AccountError as error:
                raise ValueError(error.message) from None
            user.confirmed = True
            await session.commit()
            return f"Administrator {user.username} <{user.email}> created."
    finally:
        await database.dispose()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
