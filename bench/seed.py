"""Benchmark of ``hyperpics seed``: Albumy's demo size, and (with --large) 100,000 photos.

Run from the project root:

    .venv/bin/python bench/seed.py                  # Albumy's size, 3 runs (~30 s on 2 cores); writes bench/RESULTS.md
    .venv/bin/python bench/seed.py --large          # then 100,000 photos once (~30-60 min, ~4 GB of disk)
    .venv/bin/python bench/seed.py --runs 1 --no-write

What it does, for each run (a fresh temp dir every time):

1. Migrates a new SQLite file (untimed: ``serve`` and ``seed`` do it on an empty file anyway).
2. Runs the real command as a subprocess, as a developer would:
   ``python -m hyperpics.cli seed --seed 1 --password ... --now ...`` with the sizes below,
   ``HYPERPICS_DATABASE_URL`` and ``HYPERPICS_MEDIA_DIR`` pointing into the temp dir. The
   command's wall time (interpreter start, imports and all) and the per-stage seconds it
   prints are recorded.
3. Checks the result: row counts, three files per photo on disk, a full-text search hit; and
   reports the database and media sizes.

The Albumy size: 50 users, 500 photos, 300 follows, 1,000 collects, 2,000 comments (plus 30
tags and 20 reports). The large size: 5,000 users, 100,000 photos, 500 tags, 50,000 follows,
300,000 collects, 200,000 comments, 1,000 reports.

Writes its section of bench/RESULTS.md between ``<!-- bench/seed.py: start/end -->``; a run
without --large keeps the 100,000-photo table already there. Not a test: pytest only
collects tests/.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from results import RESULTS, markers, write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hyperpics.infra import migrations

SECTION_START, SECTION_END = markers("seed.py")
LARGE_START = "<!-- bench/seed.py large: start -->"
LARGE_END = "<!-- bench/seed.py large: end -->"

ALBUMY = {"users": 50, "photos": 500, "tags": 30, "follows": 300, "collects": 1000, "comments": 2000, "reports": 20}
LARGE = {
    "users": 5000,
    "photos": 100_000,
    "tags": 500,
    "follows": 50_000,
    "collects": 300_000,
    "comments": 200_000,
    "reports": 1000,
}
STAGE_LINE = re.compile(r"^  (\S.*?)\s{2,}([\d,]*)\s+([\d.]+) s$")


@dataclass
class Run:
    wall: float
    seconds: float  # as the command reports it (after start-up and migrations)
    stages: list[tuple[str, str, float]]
    db_bytes: int
    media_bytes: int
    files: int
    load: str


def folder_size(folder: Path) -> tuple[int, int]:
    sizes = [path.stat().st_size for path in folder.rglob("*") if path.is_file()]
    return sum(sizes), len(sizes)


def check(db: Path, media: Path, sizes: dict[str, int]) -> None:
    with sqlite3.connect(db) as connection:
        for table, wanted in sizes.items():
            found = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert found == wanted, f"{table}: {found} rows, not {wanted}"
        names = connection.execute("SELECT filename_original, filename_medium, filename_small FROM photos").fetchall()
        tag = connection.execute("SELECT name FROM tags ORDER BY id LIMIT 1").fetchone()[0]
        hits = connection.execute("SELECT count(*) FROM photos_fts WHERE photos_fts MATCH ?", (f'"{tag}"',)).fetchone()[
            0
        ]
    missing = [name for row in names for name in row if not (media / "photos" / name).is_file()]
    assert not missing, f"{len(missing)} photo files missing"
    assert hits > 0, f"no photo found by its tag {tag!r}"


def run_once(sizes: dict[str, int], workers: int | None, keep: bool) -> Run:
    folder = Path(tempfile.mkdtemp(prefix="hyperpics-seed-bench-"))
    db, media = folder / "bench.db", folder / "media"
    url = f"sqlite+aiosqlite:///{db}"
    try:
        migrations.upgrade(url)
        env = dict(
            os.environ,
            HYPERPICS_DATABASE_URL=url,
            HYPERPICS_MEDIA_DIR=str(media),
            HYPERPICS_SECRET_KEY=secrets.token_urlsafe(48),
        )
        command = [
            sys.executable,
            "-m",
            "hyperpics.cli",
            "seed",
            "--seed",
            "1",
            "--password",
            secrets.token_urlsafe(12),
            "--now",
            "2026-06-01T12:00:00",
        ]
        command += [item for name, value in sizes.items() for item in (f"--{name}", str(value))]
        if workers:
            command += ["--workers", str(workers)]
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if finished.returncode != 0:
            raise SystemExit(f"seed failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
        output = finished.stdout
        total = float(re.search(r"Seeded in ([\d.]+) s", output).group(1))  # type: ignore[union-attr]
        stages = [
            (match.group(1).strip(), match.group(2), float(match.group(3)))
            for line in output.splitlines()
            if (match := STAGE_LINE.match(line))
        ]
        check(db, media, sizes)
        media_bytes, files = folder_size(media)
        return Run(wall, total, stages, db.stat().st_size, media_bytes, files, load)
    finally:
        if keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    import PIL

    return [
        f"- Machine: {len(os.sched_getaffinity(0))} CPUs available (nproc), {cpu}, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, Pillow {PIL.__version__}, SQLite {sqlite3.sqlite_version}",
    ]


def describe(sizes: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {name}" for name, value in sizes.items())


def stage_table(run: Run) -> list[str]:
    lines = ["| stage | rows | seconds |", "|-------|-----:|--------:|"]
    lines += [f"| {name} | {rows} | {seconds:.2f} |" for name, rows, seconds in run.stages]
    lines.append(f"| **seed total (as printed)** | | **{run.seconds:.2f}** |")
    lines.append(f"| **command wall time** (start-up, migration check, seed) | | **{run.wall:.2f}** |")
    return lines


def albumy_section(runs: list[Run], workers: int | None) -> list[str]:
    walls = [run.wall for run in runs]
    median = sorted(runs, key=lambda run: run.wall)[len(runs) // 2]
    lines = [
        f"## Albumy's demo size ({describe(ALBUMY)})",
        "",
        f"{len(runs)} runs of the command, {workers or os.cpu_count()} picture workers. Load average at each start: "
        + "; ".join(run.load for run in runs)
        + ".",
        "",
        "| run | command wall s | seed s (printed) | photo images s |",
        "|----:|---------------:|-----------------:|---------------:|",
    ]
    for number, run in enumerate(runs, start=1):
        images = next((seconds for name, _, seconds in run.stages if name == "photo images"), 0.0)
        lines.append(f"| {number} | {run.wall:.2f} | {run.seconds:.2f} | {images:.2f} |")
    lines += [
        "",
        (
            f"Median command wall time **{statistics.median(walls):.2f} s** "
            f"(min {min(walls):.2f}, max {max(walls):.2f}). "
            f"Database {median.db_bytes / 2**20:.1f} MiB, "
            f"media {median.media_bytes / 2**20:.1f} MiB in {median.files:,} files."
        ),
        "",
        "Stages of the median run:",
        "",
        *stage_table(median),
    ]
    return lines


def throughput(run: Run, photos: int) -> str:
    images = next(seconds for name, _, seconds in run.stages if name == "photo images")
    database = sum(seconds for name, _, seconds in run.stages if name.startswith("insert ") or name == "commit")
    return (
        f"{photos / images:.0f} photos a second through the pipeline ({images / run.seconds:.0%} of the seed); "
        f"every insert and the commit together took {database:.0f} s."
    )


def large_section(run: Run, workers: int | None) -> list[str]:
    return [
        LARGE_START,
        f"## 100,000 photos ({describe(LARGE)})",
        "",
        (
            f"One run, {workers or os.cpu_count()} picture workers, written {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; "
            f"load average at the start: {run.load}."
        ),
        "",
        *stage_table(run),
        "",
        throughput(run, LARGE["photos"]),
        "",
        (
            f"Database {run.db_bytes / 2**20:,.0f} MiB; media {run.media_bytes / 2**30:.2f} GiB in {run.files:,} files "
            f"({run.media_bytes / max(1, LARGE['photos']) / 1024:.0f} KiB per photo "
            "with its two copies, avatars included)."
        ),
        LARGE_END,
    ]


def section(albumy: list[str], large: list[str]) -> str:
    lines = [
        SECTION_START,
        "# Seed benchmark (`hyperpics seed`)",
        "",
        f"Written by `bench/seed.py` on {datetime.now(UTC):%Y-%m-%d %H:%M UTC}.",
        "",
        *machine(),
        "- Every picture is drawn and sent through `media.process_photo` in a process pool (one",
        "  worker per CPU); rows go in with Core `insert()` executemany, FTS5 triggers on.",
        "",
        *albumy,
        "",
        *(large or [LARGE_START, "## 100,000 photos", "", "Not run yet: `bench/seed.py --large`.", LARGE_END]),
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def previous_large() -> list[str]:
    existing = RESULTS.read_text() if RESULTS.exists() else ""
    if LARGE_START in existing and LARGE_END in existing:
        inner = existing.split(LARGE_START, 1)[1].split(LARGE_END, 1)[0]
        return [LARGE_START, *inner.strip("\n").splitlines(), LARGE_END]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs at Albumy's size (default 3)")
    parser.add_argument("--large", action="store_true", help="also seed 100,000 photos once (long; ~4 GB of disk)")
    parser.add_argument("--workers", type=int, help="picture processes (default: the seed's, one per CPU)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args()

    runs = []
    for number in range(1, args.runs + 1):
        runs.append(run_once(ALBUMY, args.workers, args.keep))
        print(f"Albumy size, run {number}: {runs[-1].wall:.2f} s (seed {runs[-1].seconds:.2f} s)", flush=True)
    large: list[str] = previous_large()
    if args.large:
        print(f"seeding {describe(LARGE)}: this takes a while", flush=True)
        run = run_once(LARGE, args.workers, args.keep)
        print(f"100,000 photos: {run.wall:.0f} s", flush=True)
        large = large_section(run, args.workers)
    text = section(albumy_section(runs, args.workers), large)
    print()
    print(text)
    if not args.no_write:
        write_section("seed.py", text)


if __name__ == "__main__":
    main()
