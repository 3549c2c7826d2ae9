"""The framework's floor for bench/pages.py: one constant-string Quart endpoint.

Served by hyperpics's own server code (hypercorn with the same configuration, access log
included, and the same worker processes on one port), so that the gap between this and a
page is what hyperpics itself costs.

    .venv/bin/python bench/floor.py --port 5001 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from quart import Quart

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hyperpics import server

BODY = "<!doctype html><title>floor</title><p>The same string every time.</p>"


def create_app() -> Quart:
    app = Quart("floor")

    @app.get("/")
    async def index() -> str:
        return BODY

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers == 1:
        asyncio.run(server.serve(create_app(), args.host, args.port))
        return 0
    return server.run_workers(args.host, args.port, args.workers, factory="floor:create_app")


if __name__ == "__main__":
    sys.exit(main())
