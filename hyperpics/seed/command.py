"""What the ``hyperpics seed`` command (cli.py) is made with: its count options, its progress
display, and the checks and errors it turns into messages for the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from . import Summary, existing, run
from .rows import SeedError, SeedOptions

if TYPE_CHECKING:
    from click.decorators import FC


class ProgressBars:
    """A click progress bar per stage on a terminal; elsewhere (a log, a pipe) one line per
    stage once it is done, with its count (click would print the bare label)."""

    @contextlib.contextmanager
    def stage(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        if total == 0:
            yield lambda _done: None
            return
        if not sys.stdout.isatty():
            done = 0

            def count(step: int) -> None:
                nonlocal done
                done += step

            yield count
            click.echo(f"{label:<9} {done:,} of {total:,} done")
            return
        with click.progressbar(length=total, label=f"{label:<9}", show_pos=True) as bar:
            yield bar.update


def run_seed(url: str, media_dir: str, options: SeedOptions, password: str, *, reset: bool, workers: int) -> Summary:
    try:
        return asyncio.run(
            run(url, media_dir, options, password, reset=reset, workers=workers, progress=ProgressBars())
        )
    except SeedError as error:
        raise click.ClickException(error.message) from None


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def count_option(name: str, default: int, what: str) -> Callable[[FC], FC]:
    return click.option(
        f"--{name}", default=default, show_default=True, type=click.IntRange(min=0), help=f"How many {what}."
    )


def make_room(url: str, *, reset: bool, ask: bool) -> None:
    """Seeding needs an empty database, or --reset and (unless --yes) a yes."""
    found = asyncio.run(existing(url))
    if found.empty:
        return
    if not reset:
        raise click.ClickException(
            f"The database already holds {found.users} users and {found.photos} photos. "
            "Run `hyperpics seed --reset` to replace them (it asks first)."
        )
    if ask:
        click.confirm(
            f"--reset deletes every user, photo, comment and notification ({found.rows:,} rows) and the media "
            "files they name, then seeds a new site. Continue?",
            abort=True,
        )
