"""create_app(settings): routers, middleware, error handlers and the lifespan that opens storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from switchboard import __version__
from switchboard.access.credentials import CredentialResolver
from switchboard.db.engine import Database
from switchboard.directory.routes import router as directory_router
from switchboard.errors import install_error_handlers
from switchboard.observability import AccessLogAndMetrics, Metrics
from switchboard.ops.routes import Floor, floor
from switchboard.ops.routes import router as ops_router
from switchboard.perimeter import Perimeter
from switchboard.settings import Settings
from switchboard.system.routes import router as settings_router
from switchboard.system.store import SettingsCache


def create_app(settings: Settings) -> FastAPI:
    db = Database(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.open()
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        description="Secure, multi-tenant API for hosted telephony and contact centres.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    metrics = Metrics()
    cache = SettingsCache(db.reader, settings.settings_cache_seconds)
    app.state.settings = settings
    app.state.db = db
    app.state.metrics = metrics
    app.state.settings_cache = cache
    app.state.credentials = CredentialResolver(cache)

    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(directory_router)
    app.include_router(settings_router)
    if settings.bench_floor_route:
        app.add_api_route(
            "/bench/floor", floor, methods=["GET"], response_model=Floor, include_in_schema=False
        )

    # The last added is outermost: every request is logged and counted, refused ones included.
    app.add_middleware(
        Perimeter,
        trusted_proxies=settings.trusted_proxy_networks,
        allow_http=settings.insecure_http,
    )
    app.add_middleware(AccessLogAndMetrics, metrics=metrics)
    return app
