"""Browser (end-to-end) tests: the real server in a subprocess, driven by Chromium.

Run on their own (the unit suite skips this folder):

    .venv/bin/python -m pytest -q tests/e2e -p no:asyncio --confcutdir=tests/e2e
"""
