"""create_app(settings): routers, middleware, error handlers and the lifespan that opens storage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Scope

from switchboard import __version__
from switchboard.access import passwords
from switchboard.access.allowlist import SystemAllowlist
from switchboard.access.api_keys import purge_expired_tokens, record_last_used
from switchboard.access.credentials import CredentialResolver
from switchboard.access.login import LoginService
from switchboard.access.ratelimit import RateLimiter
from switchboard.access.routes import auth_router, session_router
from switchboard.access.routes import router as accounts_router
from switchboard.audit.log import AuditLog
from switchboard.audit.recording import audit_refusal
from switchboard.audit.routes import router as audit_router
from switchboard.bulk.routes import router as import_router
from switchboard.calls.control import CallControl
from switchboard.calls.drivers import make_driver
from switchboard.calls.recordings_access import warn_unless_asterisk_can_write
from switchboard.calls.routes import router as calls_router
from switchboard.console.accounts import router as console_accounts_router
from switchboard.console.audit import router as console_audit_router
from switchboard.console.calls import router as console_calls_router
from switchboard.console.campaigns import router as console_campaigns_router
from switchboard.console.contact_centre import router as console_contact_centre_router
from switchboard.console.directory import router as console_directory_router
from switchboard.console.routes import front_router
from switchboard.console.routes import router as console_router
from switchboard.console.settings import router as console_settings_router
from switchboard.contact_centre.lead_routes import router as leads_router
from switchboard.contact_centre.lead_writer import LeadWriter
from switchboard.contact_centre.leads import LeadWriteGate
from switchboard.contact_centre.roster_routes import router as roster_router
from switchboard.contact_centre.routes import router as contact_centre_router
from switchboard.db.engine import Database
from switchboard.directory.routes import router as directory_router
from switchboard.directory.search_routes import router as search_router
from switchboard.errors import SwitchboardError
from switchboard.events.delivery import EventWorker
from switchboard.events.log import EVENTS_CHANNEL, EVENTS_PENDING
from switchboard.events.routes import router as webhooks_router
from switchboard.events.sequencer import Sequencer
from switchboard.events.signing import SecretBox
from switchboard.events.subscribe import EventHub, Subscriptions
from switchboard.kit.surfaces import NOOJEE_PREFIX, NOOJEE_PREFIXES
from switchboard.noojee.call_routes import recording_router as noojee_recording_router
from switchboard.noojee.call_routes import router as noojee_call_router
from switchboard.noojee.campaign_list import CampaignLists
from switchboard.noojee.campaign_records import router as noojee_records_router
from switchboard.noojee.envelope import documented_errors, error_envelope
from switchboard.noojee.get_method import AcceptGet, add_get_twins
from switchboard.noojee.health_routes import router as noojee_health_router
from switchboard.noojee.roster_routes import router as noojee_roster_router
from switchboard.noojee.routes import router as noojee_router
from switchboard.ops.index_routes import index_router
from switchboard.ops.routes import Floor, floor
from switchboard.ops.routes import router as ops_router
from switchboard.settings import Settings
from switchboard.signals.feed import ChangeFeed
from switchboard.system.routes import router as settings_router
from switchboard.system.store import SETTINGS_CHANNEL, SettingsCache
from switchboard.web import idempotency
from switchboard.web.canonical_path import SlashTwin
from switchboard.web.exception_handlers import ErrorRenderer, install_error_handlers
from switchboard.web.gateway import Gateway
from switchboard.web.observability import Metrics
from switchboard.web.perimeter import Perimeter
from switchboard.web.responses import errors
from switchboard.web.state import AppServices

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    db = Database(settings.effective_database_url)
    passwords.configure(settings.argon2_time_cost, settings.argon2_memory_kib)
    feed = ChangeFeed(db.reader, settings.change_poll_seconds if db.is_sqlite else 1.0)
    db.on_commit = feed.changed
    cache = SettingsCache(db.reader, settings.settings_cache_seconds)
    feed.subscribe(SETTINGS_CHANNEL, cache.invalidate)
    noojee_get = AcceptGet(db.reader, cache, settings.settings_cache_seconds)
    feed.subscribe(SETTINGS_CHANNEL, noojee_get.invalidate)
    limiter = RateLimiter(db)
    credentials = CredentialResolver(
        db.reader, cache, feed, limiter, settings.auth_failures_per_minute, settings.requests_per_minute
    )
    audit = AuditLog(db, settings.audit_retention_days, settings.audit_max_rows)
    allowlist = SystemAllowlist(cache)
    calls = CallControl(db, make_driver(settings), settings.recordings_dir)
    sequencer = Sequencer(db)
    hub = EventHub(db.reader)
    feed.subscribe(EVENTS_PENDING, sequencer.poke)
    feed.subscribe(EVENTS_CHANNEL, hub.changed)
    secret_box = SecretBox.from_settings(settings)
    event_worker = EventWorker(db, settings, secret_box) if settings.webhook_worker else None
    if event_worker is not None:
        feed.subscribe(EVENTS_CHANNEL, event_worker.events_numbered)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.open()
        await feed.start()
        await sequencer.start()
        await hub.start()
        if event_worker is not None:
            await event_worker.start()
        if settings.pbx == "asterisk":
            warn_unless_asterisk_can_write(settings.recordings_dir, settings.ami_recordings_user)
        await calls.driver.start()
        calls.start_consuming()
        stop = asyncio.Event()
        task = asyncio.create_task(_maintenance(db, limiter, audit, credentials, stop), name="maintenance")
        try:
            yield
        finally:
            # Ask the loop to end and wake it; cancel only if it does not end in time (on
            # Python 3.11, asyncio.wait_for can swallow a cancellation that races its timeout).
            stop.set()
            limiter.urgent.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await calls.driver.close()  # the simulated PBX's calls end with the process...
            await calls.settle()  # ...and are recorded so (a crash is caught up at the next start)
            await calls.stop_consuming()
            await hub.stop()
            await sequencer.stop()
            if event_worker is not None:
                await event_worker.stop()
            await feed.stop()
            try:
                await _flush_all(db, limiter, audit, credentials)
            except Exception:  # the database is away: what was buffered is lost, and said so
                log.error("could not write buffered audit entries and counters at shutdown", exc_info=True)
            await db.close()

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        description="Secure, multi-tenant API for hosted telephony and contact centres.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        redirect_slashes=False,  # its Location came from the Host header; SlashTwin serves instead
        lifespan=lifespan,
    )
    services = AppServices(
        settings=settings,
        db=db,
        metrics=Metrics(),
        settings_cache=cache,
        credentials=credentials,
        login=LoginService(
            db,
            limiter,
            settings.auth_failures_per_minute,
            settings.login_concurrency,
            settings.login_token_minutes,
        ),
        audit=audit,
        calls=calls,
        subscriptions=Subscriptions(db, hub, settings.subscribe_max_wait_seconds),
        secret_box=secret_box,
        event_worker=event_worker,
        campaign_list=CampaignLists(db.reader),
        noojee_get=noojee_get,
        lead_writer=LeadWriter(
            db,
            LeadWriteGate(settings.lead_writers, settings.lead_writer_wait_seconds),
            settings.lead_request_max_rows,
            settings.lead_batch_size,
        ),
    )
    app.state.services = services
    app.router.default = SlashTwin(app.router)

    render = ErrorRenderer(dict.fromkeys(NOOJEE_PREFIXES, error_envelope))
    install_error_handlers(app, render, on_refusal=audit_refusal)
    documentation = list(app.router.routes)  # FastAPI's own routes (OpenAPI, docs), added first
    if settings.bench_floor_route:
        # First: the floor is the framework's own minimum, routing included, reached as a bare
        # FastAPI app reaches its route (one match in the app's router, no included router's two).
        app.add_api_route("/bench/floor", floor, response_model=Floor, include_in_schema=False)
    # Routes are matched in order, one by one: the hot paths' router comes first.
    # RecordingAPI answers under each of Noojee's prefixes (documented once, under the first);
    # before noojee_router, whose last route catches unknown methods.
    add_get_twins(noojee_recording_router.routes)
    for prefix in NOOJEE_PREFIXES:
        app.include_router(
            noojee_recording_router, prefix=prefix.rstrip("/"), include_in_schema=prefix == NOOJEE_PREFIX
        )
    routers = (
        noojee_call_router,  # before noojee_router, whose last route catches unknown methods
        noojee_records_router,
        noojee_health_router,  # systemHealth/test and rosterApi: also before noojee_router
        noojee_roster_router,
        noojee_router,  # its prefix is distinct and its campaign list is the hottest read
        search_router,
        directory_router,
        import_router,
        contact_centre_router,
        roster_router,
        leads_router,
        calls_router,
        ops_router,
        auth_router,
        session_router,
        accounts_router,
        settings_router,
        audit_router,
        webhooks_router,
        console_router,
        console_accounts_router,
        console_contact_centre_router,
        console_campaigns_router,
        console_directory_router,
        console_calls_router,
        console_audit_router,
        console_settings_router,
        # Last: the front door (/ and /favicon.ico) and the API's index, asked for by people, not
        # clients; matched after every other route, they cost the API's requests nothing.
        front_router,
        index_router,
    )
    for router in routers:
        add_get_twins(router.routes)  # every Noojee method, whichever router holds it
        app.include_router(router)
    # Every request was tried against the documentation's routes before its own: they go last (no
    # other route takes their paths; a test says so).
    ours = [route for route in app.router.routes if all(route is not own for own in documentation)]
    app.router.routes[:] = ours + documentation

    def perimeter_refusal(scope: Scope, error: SwitchboardError) -> None:
        client = scope.get("client")
        audit.record(
            principal=None,
            client=client[0] if client else "-",
            operation=f"{scope['method']} {scope['path']}",
            decision="deny",
            status=error.status,
            reason_code="perimeter",
            reason=error.detail,
        )

    _document_real_error_statuses(app)

    app.add_middleware(
        Gateway,
        perimeter=Perimeter(
            trusted_proxies=settings.trusted_proxy_networks,
            allow_http=settings.insecure_http,
            client_allowed=allowlist.allows,
        ),
        on_refusal=perimeter_refusal,
        max_body_bytes=settings.max_body_bytes,
        own_limit=_streams_its_upload,
        render=render,
        metrics=services.metrics,
    )
    return app


def _streams_its_upload(path: str) -> bool:
    """The routes that stream an upload to disk under a limit of their own."""
    return path.startswith(import_router.prefix + "/") or (
        path.startswith("/console/campaigns/") and path.endswith("/import")
    )


def _document_real_error_statuses(app: FastAPI) -> None:
    """FastAPI documents 422 for input errors; Switchboard answers those 400 (as APIO does). Every
    operation can also be answered 414 by the request limits, before its route runs."""
    generate = app.openapi

    def problem(status: int) -> dict[str, Any]:
        return {
            "description": errors(status)[status]["description"],
            "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
        }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            too_long = errors(414)[414]["description"]
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    if _is_fastapi_validation(responses.get("422")):
                        del responses["422"]
                        responses.setdefault("400", problem(400))
                    noojee = path.startswith(NOOJEE_PREFIXES)  # errors there come in Noojee's envelope
                    responses.setdefault(
                        "414", documented_errors((414, too_long))[414] if noojee else problem(414)
                    )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


PROBLEM_REF = "#/components/schemas/Problem"


def _is_fastapi_validation(response: dict[str, Any] | None) -> bool:
    """FastAPI's own 422 entry; a route's documented 422 (Idempotency-Key) stays."""
    schema = ((response or {}).get("content") or {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == "#/components/schemas/HTTPValidationError")


_flush_lock = threading.Lock()


async def _flush_all(
    db: Database, limiter: RateLimiter, audit: AuditLog, credentials: CredentialResolver
) -> None:
    """Write what this worker holds in memory: rate counts, audit entries, key last-use times."""
    used, credentials.last_used = credentials.last_used, {}

    def write() -> None:
        # One flush at a time: a cancelled maintenance round may still be writing in its thread,
        # and the final flush at shutdown must wait for it before the engine is disposed.
        with _flush_lock:
            limiter.flush()
            audit.flush()
            if used:
                with db.transaction() as session:
                    record_last_used(session, used)

    await asyncio.to_thread(write)
    await limiter.refresh()


async def _maintenance(
    db: Database, limiter: RateLimiter, audit: AuditLog, credentials: CredentialResolver, stop: asyncio.Event
) -> None:
    last_housekeeping = 0.0
    while True:
        # Every 0.25 s, or at once when a small limit (failed authentications) counted one.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(limiter.urgent.wait(), 0.25)
        limiter.urgent.clear()
        if stop.is_set():
            return  # the lifespan's final flush writes what is left
        try:
            await _flush_all(db, limiter, audit, credentials)
            if time.monotonic() - last_housekeeping > 600:
                last_housekeeping = time.monotonic()

                def housekeeping() -> None:
                    with _flush_lock:  # shutdown waits for this too (see _flush_all)
                        audit.enforce_retention()
                        limiter.purge()
                        with db.transaction() as session:
                            purge_expired_tokens(session)
                            idempotency.trim(session)

                await asyncio.to_thread(housekeeping)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be away; the next round tries again
            log.warning("maintenance round failed", exc_info=True)
