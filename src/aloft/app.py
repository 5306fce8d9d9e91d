"""create_app(settings) → the ASGI application. The lifespan opens and closes storage."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import CapacityLimiter, to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from aloft import logredact
from aloft.api import health, streaming
from aloft.api import media as media_api
from aloft.api import routes as api_routes
from aloft.api.errors import internal_error, routing_error
from aloft.api.metrics import Metrics
from aloft.config import Settings
from aloft.router import IndexedRouter
from aloft.services.jobs import Jobs
from aloft.services.limits import SYNC_SECONDS, Limiter
from aloft.services.statuses import Site
from aloft.storage.database import Database
from aloft.storage.migrate import upgrade
from aloft.web import pages
from aloft.web import routes as web_routes

log = logging.getLogger("aloft")

STATIC = Path(__file__).parent / "web" / "static"

# Headers browser clients (Elk, Phanpy) need to read from our responses.
EXPOSED_HEADERS = [
    "Link",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return routing_error(exc.status_code, str(exc.detail), exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return internal_error(exc)


async def _share_limits(limiter: Limiter) -> None:
    """Share this process's rate-limit counts with the other processes every second."""
    while True:
        await asyncio.sleep(SYNC_SECONDS)
        try:
            await run_in_threadpool(limiter.sync)
        except Exception:  # never let the loop die: the next round tries again
            log.exception("sharing rate-limit counts failed")


def create_app(settings: Settings, migrate: bool = True) -> Starlette:
    """The application for `settings`. With `migrate`, start-up brings the schema up to date."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        logredact.install()  # after uvicorn has configured its loggers
        # Reading handlers run in the default pool; anyio's default of 40 threads let 40
        # requests fight over one GIL (issue 11: throughput fell as connections rose).
        # Writing handlers have a pool of their own (`aloft.api.endpoint`).
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.write_limiter = CapacityLimiter(settings.write_threads)
        db = Database.from_settings(settings)
        if migrate:
            upgrade(db.engine)
        app.state.db = db
        app.state.metrics.watch(db)
        app.state.streams = streaming.Hub(db, settings.effective_base_url)
        await app.state.streams.start()  # and, on PostgreSQL, this process's LISTEN
        # Finishes videos and removes old unattached uploads, on an engine of its own so
        # that background queries never take a connection from the requests' pool.
        app.state.jobs = Jobs(Database.from_settings(settings), app.state.site)
        app.state.jobs.start()
        app.state.limiter.attach(db)
        sharing = (
            asyncio.create_task(_share_limits(app.state.limiter)) if settings.rate_limits else None
        )
        app.state.serving = True
        try:
            yield
        finally:
            if sharing is not None:
                sharing.cancel()
            # /readyz answers 503 from here on. uvicorn has stopped listening by now, so a
            # load balancer mostly sees refused connections first; this covers servers that
            # shut down in another order.
            app.state.serving = False
            await app.state.streams.stop()
            app.state.jobs.stop()
            db.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", health.healthz, methods=["GET"]),
            Route("/readyz", health.readyz, methods=["GET"]),
            Route("/healthz/database", health.database, methods=["GET"]),
            Route("/metrics", health.metrics, methods=["GET"]),
            Route("/media/{id}/{token}/{file}", media_api.serve_file, methods=["GET"]),
            Route("/oauth/authorize", pages.authorize, methods=["GET", "POST"]),
            Route("/oauth/authorize/", pages.authorize, methods=["GET", "POST"]),
            *streaming.routes(),
            *api_routes.routes(),
            *web_routes.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["*"],
                expose_headers=EXPOSED_HEADERS,
                max_age=86400,
            )
        ],
        exception_handlers={HTTPException: _http_error, 500: _server_error},
        lifespan=lifespan,
    )
    # The same routes and lifespan, found through an index (aloft.router; issue 11).
    app.router = IndexedRouter(app.router.routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.serving = False  # until the lifespan has opened the database
    app.state.limiter = Limiter()
    app.state.metrics = Metrics()
    app.state.site = Site(settings.effective_base_url, settings.domain)
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn workers: settings from ALOFT_* (the CLI has already migrated)."""
    from aloft.config import load_settings

    return create_app(load_settings(), migrate=False)
