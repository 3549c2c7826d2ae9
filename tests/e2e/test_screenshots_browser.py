"""The main pages of a small demo site, at desktop and phone sizes, light and dark, kept as
screenshots in tests/e2e/artifacts/ (``look-<page>-<width>-<scheme>.png``; the README shows
three of them). Each page answers 200 without a script error, and every image on its first
screen has loaded: a broken image shows in a screenshot as an empty box nobody checks."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from .conftest import _free_port, server_env, serving
from .helpers import log_in

PASSWORD = "demo pictures only"
SIZES = ((1366, 900, 1), (390, 844, 2))
SCHEMES = ("light", "dark")
SEED_TIMEOUT = 180  # seconds: a hang, not a speed limit


@dataclass
class DemoSite:
    url: str
    member: str  # the member's email
    member_username: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[DemoSite]:
    """A seeded site of its own (the shared server starts empty): a dozen people, four dozen photos."""
    root = tmp_path_factory.mktemp("hyperpics-look")
    url = f"http://127.0.0.1:{_free_port()}"
    env = server_env(root, url)
    hyperpics = [sys.executable, "-m", "hyperpics.cli"]
    subprocess.run(
        [*hyperpics, "db", "upgrade"], cwd=root, env=env, check=True, capture_output=True, timeout=SEED_TIMEOUT
    )
    seeded = subprocess.run(
        [*hyperpics, "seed", "--users", "14", "--photos", "48", "--tags", "12", "--follows", "60", "--collects", "150",
         "--comments", "120", "--reports", "4", "--seed", "2026", "--password", PASSWORD, "--now", "2026-11-30"],
        cwd=root, env=env, capture_output=True, text=True, timeout=SEED_TIMEOUT,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    member = re.search(r"member\s+(\S+@\S+)\s+\((\w+)\)", seeded.stdout)
    assert member, seeded.stdout
    with serving(root, artifacts, url=url, env=env, log_name="look-server.log"):
        yield DemoSite(url, member.group(1), member.group(2))


def _first_screen_images_loaded(page: Page) -> list[str]:
    """The sources of the images on the first screen that did not load."""
    return page.evaluate(
        """() => [...document.images].filter((image) => {
             const box = image.getBoundingClientRect();
             const shown = box.width > 0 && box.bottom > 0 && box.top < innerHeight;
             return shown && !(image.complete && image.naturalWidth > 0);
           }).map((image) => image.currentSrc || image.src)"""
    )


def test_main_pages_look_whole_at_both_sizes_in_both_schemes(browser: Browser, demo: DemoSite, artifacts: Path) -> None:
    taken = []
    for width, height, scale in SIZES:
        for scheme in SCHEMES:
            for who in ("anonymous", "member", "admin"):
                context = browser.new_context(
                    base_url=demo.url, viewport={"width": width, "height": height}, device_scale_factor=scale,
                    color_scheme=scheme,
                )  # fmt: skip
                try:
                    page = context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                    if who != "anonymous":
                        log_in(page, demo.member if who == "member" else "admin@example.com", PASSWORD)
                        page.wait_for_url(re.compile(r"/$"))
                    page.goto("/explore")
                    photo = page.locator(".photo-card a").first.get_attribute("href")
                    page.goto("/search?q=a&category=tag")
                    tag = page.locator("main a[href^='/tag/']").first.get_attribute("href")
                    pages = {
                        "anonymous": {"landing": "/", "explore": "/explore", "photo": photo, "viewer": f"{photo}/view",
                                      "profile": f"/user/{demo.member_username}", "tag": tag,
                                      "search": "/search?q=light"},
                        "member": {"feed": "/", "notifications": "/notifications", "upload": "/upload",
                                   "settings": "/settings/profile"},
                        "admin": {"admin": "/admin/", "admin-users": "/admin/users"},
                    }[who]  # fmt: skip
                    for name, path in pages.items():
                        answer = page.goto(str(path))
                        assert answer is not None and answer.status == 200, (name, path)
                        page.wait_for_load_state("networkidle")
                        assert _first_screen_images_loaded(page) == [], (name, width, scheme)
                        shot = artifacts / f"look-{name}-{width}-{scheme}.png"
                        page.screenshot(path=shot)
                        taken.append(shot)
                    assert errors == [], errors
                finally:
                    context.close()
    assert len(taken) == 2 * 2 * 13 and all(shot.stat().st_size > 10_000 for shot in taken)
