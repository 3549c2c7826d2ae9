"""Benchmark of the photo pipeline (hyperpics/media.py) and of what it does to the event loop.

Run from the project root:

    .venv/bin/python bench/pipeline.py            # about a minute on 2 cores
    .venv/bin/python bench/pipeline.py --runs 5   # quicker

1. Makes a 24-megapixel JPEG (6000x4000, gradients + noise + shapes, EXIF Orientation 6,
   camera make and GPS) and times ``media.process_photo`` on it: median and p90 in ms.
2. Processes 8 such uploads concurrently through ``services.uploads.save_uploads`` (the
   real code: ``asyncio.to_thread`` behind a semaphore of ``PARALLEL_IMAGES``) while a
   ticker task sleeps 10 ms in a loop and records how late it wakes up. Then the same 8
   images are processed inline on the event loop, to show what the threads buy.

Prints a table and writes the figures to bench/RESULTS.md (date, nproc, CPU, versions).
Not a test: pytest only collects tests/ (and this file is not named test_*).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from results import write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import PIL
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from hyperpics.infra import image_checks, media
from hyperpics.services import uploads

WIDTH, HEIGHT = 6000, 4000
TICK = 0.010  # the ticker sleeps 10 ms
CONCURRENT = 8


# --- the test picture ---------------------------------------------------------------------


def make_photo(width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> bytes:
    """A photo-like 24 MP JPEG: smooth gradients, sensor-like noise, some hard edges.

    Built with Pillow's C routines only (no numpy), in a couple of seconds.
    """
    # Gradients: a horizontal ramp, a vertical one, and a radial vignette.
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    # Noise: coarse blotches (texture) per channel, plus one fine per-pixel grain shifted
    # differently for each channel (full-size Gaussian noise is the slow part to make).
    grain = Image.effect_noise((width, height), 24)
    channels = []
    for index, base in enumerate((horizontal, vertical, radial)):
        coarse = Image.effect_noise((width // 16, height // 16), 60 + 10 * (index + seed)).resize(
            (width, height), Image.Resampling.BICUBIC
        )
        shifted = ImageChops.offset(grain, 7919 * index % width, 104729 * index % height)
        mixed = ImageChops.add(ImageChops.multiply(base, coarse), shifted, scale=1.0, offset=-100)
        channels.append(Image.blend(base, mixed, 0.55))
    image = Image.merge("RGB", channels)
    # Some objects with sharp edges, as a scene has.
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x = (i * 977 + seed * 131) % width
        y = (i * 613 + seed * 71) % height
        size = 80 + (i * 37) % 400
        color = ((i * 53) % 256, (i * 97) % 256, (i * 151) % 256)
        if i % 2:
            draw.ellipse((x, y, x + size, y + size), fill=color)
        else:
            draw.rectangle((x, y, x + size, y + size // 2), outline=color, width=12)
    image = image.filter(ImageFilter.SMOOTH)

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turned; the pipeline must rotate it upright
    exif[0x010F] = "BenchCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 22.0, 12.5), "E", (4.0, 53.0, 42.6)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


# --- helpers ------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p90 of 10 values is the 9th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def clear(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()


@dataclass
class Lag:
    label: str
    wall_ms: float
    ticks: int
    max_ms: float
    p99_ms: float
    median_ms: float


class Ticker:
    """Sleeps TICK in a loop and records how late each wake-up is."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            start = loop.time()
            await asyncio.sleep(TICK)
            self.lateness.append(max(0.0, loop.time() - start - TICK))

    def stop(self) -> None:
        self._stop.set()


class FakeSession:
    """Just enough of an AsyncSession for save_uploads (it only adds rows and flushes)."""

    def __init__(self) -> None:
        self.added: list[object] = []

    def add(self, row: object) -> None:
        self.added.append(row)

    async def flush(self) -> None:
        return None


async def _measure(label: str, work) -> Lag:  # type: ignore[no-untyped-def]
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.1)  # a few idle ticks first
    ticker.lateness.clear()
    start = time.perf_counter()
    await work()
    wall = time.perf_counter() - start
    ticker.stop()
    await task
    lateness = [value * 1000 for value in ticker.lateness] or [0.0]
    return Lag(
        label,
        wall * 1000,
        len(ticker.lateness),
        max(lateness),
        percentile(lateness, 0.99),
        statistics.median(lateness),
    )


async def lag_with_threads(data: bytes, media_dir: Path) -> Lag:
    """8 uploads through the real services.uploads.save_uploads (to_thread + semaphore)."""

    async def work() -> None:
        batch = [uploads.Upload(f"photo{i}.jpg", io.BytesIO(data)) for i in range(CONCURRENT)]
        session = FakeSession()
        result = await uploads.save_uploads(
            session,  # type: ignore[arg-type]
            SimpleNamespace(id=1),  # type: ignore[arg-type]
            batch,
            media_dir=str(media_dir),
            max_bytes=50 * 1024 * 1024,
            max_files=CONCURRENT,
        )
        assert len(result.accepted) == CONCURRENT, [f.message for f in result.rejected]
        assert len(session.added) == CONCURRENT

    return await _measure(f"{CONCURRENT} uploads, to_thread (x{uploads.PARALLEL_IMAGES})", work)


async def lag_inline(data: bytes, media_dir: Path) -> Lag:
    """The same work called directly on the event loop (what the threads avoid)."""

    async def one(index: int) -> None:
        await asyncio.sleep(0)
        media.process_photo(data, media_dir, f"photo{index}.jpg")

    async def work() -> None:
        await asyncio.gather(*(one(i) for i in range(CONCURRENT)))

    return await _measure(f"{CONCURRENT} uploads, inline on the loop", work)


@dataclass
class Stage:
    name: str
    wall_ms: float
    max_lag_ms: float


async def stage_breakdown(data: bytes) -> list[Stage]:
    """Each step of process_photo alone in a worker thread, with the ticker running.

    A stage whose max lag is about its wall time holds the GIL the whole time (the loop
    cannot run while it works); one with a small lag releases it. Uses media.py's private
    helpers, so it is skipped if they change.
    """
    steps = [
        (
            "open + checks (_open: header, metadata and trailer scan)",
            lambda state: state.update(image=image_checks._open(data)),
        ),
        ("decode + upright (_decode)", lambda state: state.update(image=image_checks._decode(state["image"]))),
        ("to RGB (_normalise_mode)", lambda state: state.update(image=media._normalise_mode(state["image"]))),
        ("cap to 3000 px", lambda state: state.update(image=media._cap_edge(state["image"], media.ORIGINAL_MAX_EDGE))),
        ("encode original (JPEG)", lambda state: media._encode(state["image"])),
        ("resize to 800", lambda state: state.update(medium=media._fit_width(state["image"], media.MEDIUM_WIDTH))),
        ("resize to 400", lambda state: state.update(small=media._fit_width(state["image"], media.SMALL_WIDTH))),
        ("encode 800 (JPEG)", lambda state: media._encode(state["medium"])),
        ("encode 400 (JPEG)", lambda state: media._encode(state["small"])),
    ]
    state: dict = {}
    stages = []
    for name, step in steps:
        ticker = Ticker()
        task = asyncio.create_task(ticker.run())
        await asyncio.sleep(0.05)
        ticker.lateness.clear()
        start = time.perf_counter()
        await asyncio.to_thread(step, state)
        wall = time.perf_counter() - start
        ticker.stop()
        await task
        stages.append(Stage(name, wall * 1000, max(ticker.lateness or [0.0]) * 1000))
    return stages


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of process_photo (default 10)")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args()

    started = time.perf_counter()
    made = time.perf_counter()
    data = make_photo()
    made = (time.perf_counter() - made) * 1000
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.size == (WIDTH, HEIGHT)
    print(f"test photo: {WIDTH}x{HEIGHT} JPEG, {len(data) / 1_048_576:.1f} MB (made in {made:.0f} ms)")

    with tempfile.TemporaryDirectory(prefix="hyperpics-bench-") as folder:
        media_dir = Path(folder)
        stored = media.process_photo(data, media_dir, "warmup.jpg")  # warm-up, and a sanity check
        assert (stored.width, stored.height) == (2000, 3000), stored  # upright and capped
        clear(media_dir)

        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            media.process_photo(data, media_dir, "photo.jpg")
            timings.append((time.perf_counter() - start) * 1000)
            clear(media_dir)
        median, p90 = statistics.median(timings), percentile(timings, 0.90)
        print(f"process_photo: {args.runs} runs, median {median:.0f} ms, p90 {p90:.0f} ms")

        threaded = asyncio.run(lag_with_threads(data, media_dir))
        clear(media_dir)
        inline = asyncio.run(lag_inline(data, media_dir))
        clear(media_dir)

        try:
            stages = asyncio.run(stage_breakdown(data))
        except (AttributeError, KeyError, TypeError) as error:  # media.py's internals changed
            print(f"(stage breakdown skipped: {error!r})")
            stages = []

    rows = [threaded, inline]
    header = (
        f"| {'run':<36} | {'wall ms':>8} | {'ticks':>5} | {'lag max ms':>10} | {'lag p99 ms':>10} "
        f"| {'lag median ms':>13} |"
    )
    line = "|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|"
    table = [header, line]
    for row in rows:
        table.append(
            f"| {row.label:<36} | {row.wall_ms:>8.0f} | {row.ticks:>5} | {row.max_ms:>10.1f} | {row.p99_ms:>10.1f} "
            f"| {row.median_ms:>13.1f} |"
        )
    print()
    print("\n".join(table))
    stage_table = []
    if stages:
        stage_table = [
            "| stage (one 24 MP image, in a thread) | wall ms | loop lag max ms | holds the GIL? |",
            "|---------------------------------------|--------:|----------------:|----------------|",
        ]
        for stage in stages:
            holds = "yes" if stage.max_lag_ms > 0.5 * stage.wall_ms and stage.wall_ms > 20 else "no"
            stage_table.append(
                f"| {stage.name:<37} | {stage.wall_ms:>7.0f} | {stage.max_lag_ms:>15.1f} | {holds:<14} |"
            )
        print()
        print("\n".join(stage_table))
    total = time.perf_counter() - started
    print(f"\n(total {total:.0f} s)")

    if args.no_write:
        return
    now = datetime.now(UTC).astimezone()
    nproc = os.cpu_count()
    with contextlib.suppress(AttributeError):  # not Linux
        nproc = len(os.sched_getaffinity(0))
    text = f"""<!-- bench/pipeline.py: start -->
# Pipeline benchmark results

Written by `bench/pipeline.py` on {now:%Y-%m-%d %H:%M %Z}.

- Machine: {nproc} CPUs available (nproc), {cpu_model()}, {platform.system()} {platform.release()}
- Python {platform.python_version()}, Pillow {PIL.__version__}; `PARALLEL_IMAGES` = {uploads.PARALLEL_IMAGES}
- Input: {WIDTH}x{HEIGHT} JPEG (24 MP), {len(data) / 1_048_576:.1f} MB, EXIF Orientation 6 + GPS;
  stored as 2000x3000 original + 800 px + 400 px JPEGs

## media.process_photo, one image

| runs | median ms | p90 ms | min ms | max ms |
|-----:|----------:|-------:|-------:|-------:|
| {args.runs} | {median:.0f} | {p90:.0f} | {min(timings):.0f} | {max(timings):.0f} |

## Event-loop lag while {CONCURRENT} such uploads are processed

A task sleeps {TICK * 1000:.0f} ms in a loop; "lag" is how much later than that it woke.
"to_thread" is `services.uploads.save_uploads` itself; "inline" calls `process_photo` on the loop.

{chr(10).join(table)}

Inline, the loop is blocked for the whole batch: every other request on the worker waits.
With threads the typical wake-up is on time, but the worst ones are still late by the
stages below that keep the GIL while they run (the JPEG encoder, mainly).

## Where the loop still stalls: each stage of process_photo in a thread

{chr(10).join(stage_table) if stage_table else "(skipped)"}
<!-- bench/pipeline.py: end -->
"""
    write_section("pipeline.py", text)


if __name__ == "__main__":
    main()
