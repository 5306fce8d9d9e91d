"""The ceiling: a bare Starlette app with one plain `def` route returning a small JSON,
served by uvicorn with the settings `aloft serve` uses (same workers, each on a socket of
its own, loop, HTTP parser, no server header, no access log below debug, no proxy
headers). Every Aloft figure is shown with its ratio to this one, measured in the same
run: the most the framework and server can do on this machine at that moment, with no
database and no application code.

Run as `python -m aloft.bench.ceiling --port P --workers N`.
"""

from __future__ import annotations

from typing import Any

import click
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def hello(request: Request) -> JSONResponse:
    # A plain def, like Aloft's handlers' work: Starlette runs it in its thread pool.
    return JSONResponse({"id": "1", "content": "<p>hello</p>", "visibility": "public"})


app = Starlette(routes=[Route("/", hello)])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, required=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--log-level", default="info", show_default=True)
def main(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the bare route as `aloft serve` serves Aloft."""
    from aloft import supervisor

    options: dict[str, Any] = dict(
        app="aloft.bench.ceiling:app",
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        server_header=False,
        proxy_headers=False,
    )
    # As `aloft serve` runs its workers: each on a socket of its own.
    raise SystemExit(supervisor.serve(options, workers))


if __name__ == "__main__":
    main()
