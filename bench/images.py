"""Image bytes of the first screen: JPEG-only markup against <picture> with WebP and srcset.

Run from the project root (it needs Chromium at /usr/bin/chromium and Playwright):

    .venv/bin/python bench/images.py              # writes its section of bench/RESULTS.md
    .venv/bin/python bench/images.py --no-write

What it does:

1. Seeds a small site with the real ``hyperpics seed`` (the demo's drawn pictures: flat colours
   and gradients, 440-1600 px), and stores one photo-like 12 MP picture (gradients, shapes, grain)
   through ``media.process_photo`` as the newest photo of the member with the most photos, so
   that a photo page shows a real-sized photo (its copies: 400, 800, 2048 px).
2. Serves it with ``hyperpics serve`` and fetches each page's HTML once: explore, that member's
   profile and the 12 MP photo's page. The same HTML is given to the browser for both runs
   (explore is random), as it is ("new": <picture>, WebP <source> with srcset and sizes, JPEG
   srcset), and rewritten to the markup before this change ("old": the <source>, srcset and
   sizes removed, leaving ``<img src>`` of the small copy in grids and of the medium one on the
   photo page, with the same width, height and loading attributes).
3. Loads each page in Chromium at 1366x900 @1x, 390x844 @2x (a phone) and, for the photo page,
   1366x900 @2x, waits for the network to settle and sums the bytes of the photo files whose
   image lies on the first screen (intersects the viewport). Chromium also fetches lazy images
   a little below it; their bytes are reported apart ("all fetched").

Not a test: pytest only collects tests/.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from contention import HOST, free_port, stop_group  # noqa: E402
from results import markers, write_section  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "images-Bench-pw-4471"
SCREENS = {"desktop 1366x900 @1x": (1366, 900, 1, False), "phone 390x844 @2x": (390, 844, 2, True)}
PHOTO_SCREENS = {**SCREENS, "desktop 1366x900 @2x": (1366, 900, 2, False)}


def photo_like(width: int = 4000, height: int = 3000, seed: int = 1) -> bytes:
    """A 12 MP JPEG that compresses like a photo: soft gradients and shapes, with grain."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rng = random.Random(seed)
    ramp = Image.linear_gradient("L").resize((width, height))
    base = Image.merge(
        "RGB",
        [ramp.point(lambda v: 60 + v // 2), ramp.point(lambda v: 100 + v // 3), Image.new("L", (width, height), 170)],
    )
    draw = ImageDraw.Draw(base)
    for _ in range(60):
        x, y, r = rng.randint(0, width), rng.randint(0, height), rng.randint(40, 500)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randint(0, 255) for _ in range(3)))
    base = base.filter(ImageFilter.GaussianBlur(6))
    grain = Image.effect_noise((width, height), 18).convert("RGB")
    picture = ImageChops.add(base, grain, scale=1.0, offset=-128).filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@dataclass
class Site:
    folder: Path
    env: dict[str, str]
    photo_id: int = 0
    username: str = ""


def seed(folder: Path, photos: int) -> Site:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HYPERPICS_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'site.db'}",
        "HYPERPICS_MEDIA_DIR": str(folder / "media"),
        "HYPERPICS_SECRET_KEY": secrets.token_hex(32),
    }
    command = [sys.executable, "-m", "hyperpics.cli", "seed", "--users", "20", "--photos", str(photos),
               "--seed", "7", "--password", PASSWORD]  # fmt: skip
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    site = Site(folder, env)
    add_real_photo(site)
    return site


def add_real_photo(site: Site) -> None:
    from hyperpics.infra import media

    stored = media.process_photo(photo_like(), site.folder / "media")
    for name in stored.files():
        pending = site.folder / "media" / media.PHOTOS_DIR / media.pending_name(name)
        pending.rename(pending.with_name(name))
    with sqlite3.connect(site.folder / "site.db") as connection:
        author, site.username = connection.execute(
            "SELECT users.id, username FROM users JOIN photos ON photos.author_id = users.id "
            "GROUP BY users.id ORDER BY count(*) DESC, users.id LIMIT 1"
        ).fetchone()
        cursor = connection.execute(
            "INSERT INTO photos (author_id, description, alt_text, visibility, filename_original, filename_medium,"
            " filename_small, width, height, derivatives, colour, can_comment, created_at)"
            " VALUES (?, 'A 12 MP picture', 'Soft shapes over a gradient', 'public', ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            (author, stored.original, stored.medium, stored.small, stored.width, stored.height, stored.derivatives,
             stored.colour, datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")),
        )  # fmt: skip
        site.photo_id = int(cursor.lastrowid or 0)


def serve(site: Site, port: int, stack: list[subprocess.Popen[bytes]]) -> str:
    log = open(site.folder / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "hyperpics.cli", "serve", "--host", HOST, "--port", str(port)],
        cwd=site.folder, env=site.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    stack.append(process)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as answer:
                if answer.status == 200:
                    return url
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer; see {site.folder / 'serve.log'}")


def jpeg_srcset(html: str) -> str:
    """The new markup without WebP: the same sizes, JPEG copies only."""
    return re.sub(r'<source type="image/webp"[^>]*>', "", html)


def old_markup(html: str) -> str:
    """The markup before this change: a plain <img src> (the small copy in grids, the medium
    one on the photo page), the same size and loading attributes."""
    return re.sub(r' (?:srcset|sizes)="[^"]*"', "", jpeg_srcset(html))


# The photo files on the first screen: every <img> of a photo whose box meets the viewport.
ON_SCREEN = """() => [...document.querySelectorAll('img')]
  .filter(img => img.currentSrc.includes('/media/photos/'))
  .map(img => { const r = img.getBoundingClientRect();
    return {src: img.currentSrc,
            visible: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth && r.width > 0,
            main: img.closest('.photo-frame') !== null}; })"""


@dataclass
class Result:
    first_screen: int  # bytes of photo files shown on the first screen
    fetched: int  # bytes of every photo file fetched (lazy ones near the fold included)
    main_width: int  # the photo page: the width of the main image's file


def measure(browser, url: str, path: str, html: str, screen: tuple[int, int, int, bool]) -> Result:  # type: ignore[no-untyped-def]
    width, height, scale, mobile = screen
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=scale, is_mobile=mobile, has_touch=mobile
    )
    page = context.new_page()
    sizes: dict[str, int] = {}
    widths: dict[str, int] = {}

    def on_response(response) -> None:  # type: ignore[no-untyped-def]
        if "/media/photos/" in response.url:
            from PIL import Image

            body = response.body()
            sizes[response.url] = len(body)
            widths[response.url] = Image.open(io.BytesIO(body)).width

    page.on("response", on_response)
    page.route(url + path, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
    page.goto(url + path, wait_until="networkidle")
    page.wait_for_timeout(300)
    shown = page.evaluate(ON_SCREEN)
    context.close()
    first = {item["src"] for item in shown if item["visible"]}
    main = next((widths.get(item["src"], 0) for item in shown if item["main"]), 0)
    return Result(sum(sizes.get(src, 0) for src in first), sum(sizes.values()), main)


def run(photos: int) -> tuple[list[str], str]:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="hyperpics-images-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        started = time.perf_counter()
        site = seed(folder, photos)
        print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
        url = serve(site, free_port(), servers)
        pages = {"explore": "/explore", "profile": f"/user/{site.username}", "photo page": f"/photo/{site.photo_id}"}
        html = {}
        for name, path in pages.items():
            with urllib.request.urlopen(url + path, timeout=30) as answer:
                html[name] = answer.read().decode()
        rows = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for name, path in pages.items():
                    for screen, spec in (PHOTO_SCREENS if name == "photo page" else SCREENS).items():
                        old = measure(browser, url, path, old_markup(html[name]), spec)
                        jpeg = measure(browser, url, path, jpeg_srcset(html[name]), spec)
                        new = measure(browser, url, path, html[name], spec)
                        rows.append((name, screen, old, jpeg, new))
                        print(name, screen, old, jpeg, new, flush=True)
            finally:
                browser.close()
        return format_rows(rows), f"{photos} seeded photos + one 12 MP photo"
    finally:
        for process in servers:
            stop_group(process)
        shutil.rmtree(folder, ignore_errors=True)


def _kb(value: int) -> str:
    return f"{value / 1024:,.1f}"


def _change(old: int, new: int) -> str:
    return f"{(new - old) / old * 100:+.0f} %" if old else "n/a"


def format_rows(rows: list) -> list[str]:  # type: ignore[type-arg]
    lines = [
        "| page | screen | first screen: before (KB) | JPEG srcset (KB) | new (KB) | new vs before | new vs JPEG srcset"
        " | all fetched: before / new (KB) | main image file width: before / new |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, screen, old, jpeg, new in rows:
        widths = f"{old.main_width} / {new.main_width} px" if name == "photo page" else ""
        lines.append(
            f"| {name} | {screen} | {_kb(old.first_screen)} | {_kb(jpeg.first_screen)} | {_kb(new.first_screen)}"
            f" | {_change(old.first_screen, new.first_screen)} | {_change(jpeg.first_screen, new.first_screen)}"
            f" | {_kb(old.fetched)} / {_kb(new.fetched)} | {widths} |"
        )
    return lines


READING = """
Reading it: "JPEG srcset" has the sharpness of "new", so the WebP alone is the difference there.
Against "before", grids and the 1x photo page fall because the copies are WebP and the sizes follow
each card's width in the justified rows; the 2x desktop photo page rises because "before" was
blurry there: it now gets the 2048 px copy for its 800 CSS px instead of the 800 px one. On a
390 px 2x phone the photo page takes the 800 px copy: the image is 358 CSS px wide (716 device px),
so a 1600+ px copy would cost bytes nobody sees unless they zoom.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=120, help="photos the seed makes")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    options = parser.parse_args()
    lines, what = run(options.photos)
    start, end = markers("images.py")
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    text = "\n".join([
        start,
        "## Images: bytes of the first screen (bench/images.py)",
        "",
        f"Code: `{git}`. Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {what}; Chromium {CHROMIUM}.",
        "The same HTML three ways: \"before\" rewritten to the markup before this change (`<img src>` of the"
        " 400 px JPEG in grids, the 800 px one on the photo page); \"JPEG srcset\" without the WebP"
        " `<source>` (the same sizes, so the same sharpness as \"new\"); \"new\" as served.",
        "",
        *lines,
        *READING.rstrip("\n").split("\n"),
        end,
    ])  # fmt: skip
    print(text)
    if not options.no_write:
        write_section("images.py", text)


if __name__ == "__main__":
    main()
