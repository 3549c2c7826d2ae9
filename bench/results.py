"""bench/RESULTS.md: each benchmark rewrites only its own section, between its markers."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def markers(script: str) -> tuple[str, str]:
    return f"<!-- bench/{script}: start -->", f"<!-- bench/{script}: end -->"


def write_section(script: str, text: str) -> None:
    """Replace ``script``'s section (``text`` carries its markers) or append it."""
    start, end = markers(script)
    existing = RESULTS.read_text() if RESULTS.exists() else ""
    if start in existing and end in existing:
        before, rest = existing.split(start, 1)
        updated = before + text.rstrip("\n") + rest.split(end, 1)[1]
    else:
        updated = existing.rstrip("\n") + ("\n\n" if existing else "") + text
    RESULTS.write_text(updated)
    print(f"wrote {RESULTS.relative_to(RESULTS.parent.parent)}")
