"""/api/v1/webhooks/: subscriptions, their secret, a test event and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.events import webhooks
from switchboard.events.delivery import queue_test_event
from switchboard.events.signing import SecretBox
from switchboard.kit.pagination import DEFAULT_LIMIT, Limit, row_id
from switchboard.kit.schemas import RowId, Schema, page_of
from switchboard.web.responses import errors, json_response, no_content
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
WebhooksCaller = Annotated[Principal, Depends(authorize(Area.WEBHOOKS))]
READ = errors(400, 401, 403, 404, 429)
WRITE = errors(400, 401, 403, 404, 429)


WebhookUrl = Annotated[str, Field(max_length=2000)]
EventTypes = Annotated[list[Annotated[str, Field(max_length=60)]], Field(max_length=50)]
WebhookDescription = Annotated[str, Field(max_length=200)]


class WebhookCreate(Schema):
    url: WebhookUrl = Field(description="https:// (http:// only in development mode)")
    event_types: EventTypes = Field(description='Event types, "family.*" patterns (call.*), or "*"')
    tenant_id: str | None = Field(
        default=None, max_length=64, description="System only: one tenant's events (default: all)"
    )
    description: WebhookDescription = ""


class WebhookChange(Schema):
    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: WebhookDescription | None = None
    active: bool | None = Field(default=None, description="true re-enables a disabled subscription")


class WebhookOut(Schema):
    id: int
    tenant_id: str | None
    url: str
    event_types: list[str]
    description: str
    active: bool
    disabled_reason: str | None
    created_by: str
    created_at: str
    updated_at: str


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret: shown this once, stored encrypted")


class SecretOut(Schema):
    secret: str


class TestQueued(Schema):
    delivery_id: int


class AttemptOut(Schema):
    id: int
    delivery_id: int
    event_type: str
    event_seq: int | None
    attempt: int
    at: str
    status_code: int | None
    latency_ms: float
    error: str | None
    delivery_status: str


WebhookPage = page_of(WebhookOut, "webhooks")
AttemptPage = page_of(AttemptOut, "deliveryAttempts")


def _box(request: Request) -> SecretBox:
    box = services_of(request).secret_box
    return box


@router.post("/", status_code=201, response_model=WebhookCreated, responses=WRITE)
async def create_webhook(request: Request, principal: WebhooksCaller, body: WebhookCreate) -> Response:
    """Subscribes a URL to event types. The response holds the signing secret, once: verify
    each delivery's Switchboard-Signature with it (docs/api.md, webhooks). 400 for a URL whose host is, or
    resolves to, an address that may not be called (private, loopback, link-local, metadata...)."""
    url = await webhooks.vetted_url(body.url, services_of(request).settings)  # before any transaction

    def create() -> tuple[dict[str, Any], int | None]:
        with database_of(request).transaction() as session:
            hook, secret = webhooks.create_webhook(
                session,
                principal,
                _box(request),
                url=url,
                event_types=body.event_types,
                tenant_id=body.tenant_id,
                description=body.description,
            )
            return {**webhooks.describe(session, hook), "secret": secret}, hook.tenant_pk

    view, tenant_pk = await run_in_threadpool(create)
    audit_write(request, 201, f"webhook:{view['id']}", tenant_pk)
    return json_response(view, 201)


@router.get("/", response_model=WebhookPage, responses=errors(400, 401, 403, 429))
def list_webhooks(
    request: Request,
    principal: WebhooksCaller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The subscriptions the caller may see, oldest first; follow nextCursor."""
    after = row_id(cursor)
    with database_of(request).transaction() as session:
        body = webhooks.webhooks_page(session, principal, WebhookPage, after, limit)
    return json_response(body)


@router.get("/{webhook_id}/", response_model=WebhookOut, responses=READ)
def get_webhook(request: Request, principal: WebhooksCaller, webhook_id: RowId) -> Response:
    with database_of(request).transaction() as session:
        return json_response(
            webhooks.describe(session, webhooks.find_webhook(session, principal, webhook_id))
        )


@router.patch("/{webhook_id}/", response_model=WebhookOut, responses=WRITE)
async def update_webhook(
    request: Request, principal: WebhooksCaller, webhook_id: RowId, body: WebhookChange
) -> Response:
    """Changes the URL (checked as at creation), event types, description; `active: true`
    re-enables it after a 410."""
    settings = services_of(request).settings

    def visible() -> None:
        with database_of(request).transaction() as session:
            webhooks.find_webhook(session, principal, webhook_id)

    url = None
    if body.url is not None:
        await run_in_threadpool(visible)  # 404 before a name is resolved on the caller's behalf
        url = await webhooks.vetted_url(body.url, settings)

    def update() -> tuple[dict[str, Any], int | None]:
        with database_of(request).transaction() as session:
            hook = webhooks.find_webhook(session, principal, webhook_id)
            webhooks.update_webhook(session, hook, body.model_dump(exclude_unset=True), url)
            return webhooks.describe(session, hook), hook.tenant_pk

    view, tenant_pk = await run_in_threadpool(update)
    audit_write(request, 200, f"webhook:{webhook_id}", tenant_pk)
    return json_response(view)


@router.delete("/{webhook_id}/", status_code=204, responses=READ)
def delete_webhook(request: Request, principal: WebhooksCaller, webhook_id: RowId) -> Response:
    """Deletes the subscription, its pending deliveries and its delivery log."""
    with database_of(request).transaction() as session:
        tenant_pk = webhooks.delete_webhook(session, principal, webhook_id)
    audit_write(request, 204, f"webhook:{webhook_id}", tenant_pk)
    return no_content()


@router.post("/{webhook_id}/rotate-secret/", response_model=SecretOut, responses=WRITE)
def rotate_secret(request: Request, principal: WebhooksCaller, webhook_id: RowId) -> Response:
    """A new signing secret, shown this once; deliveries from now on are signed with it."""
    with database_of(request).transaction() as session:
        hook = webhooks.find_webhook(session, principal, webhook_id)
        secret = webhooks.rotate_secret(hook, _box(request))
    audit_write(request, 200, f"webhook:{webhook_id} secret rotated", hook.tenant_pk)
    return json_response({"secret": secret})


@router.post("/{webhook_id}/test/", status_code=202, response_model=TestQueued, responses=WRITE)
def send_test_event(request: Request, principal: WebhooksCaller, webhook_id: RowId) -> Response:
    """Queues a `webhook.test` event for this subscription only; its attempts appear in the
    delivery log like any other."""
    with database_of(request).transaction() as session:
        hook, delivery = queue_test_event(session, principal, webhook_id)
        delivery_id = delivery.pk
    worker = services_of(request).event_worker
    if worker is not None:
        worker.deliveries_queued()
    audit_write(request, 202, f"webhook:{webhook_id} test", hook.tenant_pk)
    return json_response({"deliveryId": delivery_id}, 202)


@router.get("/{webhook_id}/deliveries/", response_model=AttemptPage, responses=READ)
def delivery_log(
    request: Request,
    principal: WebhooksCaller,
    webhook_id: RowId,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Every attempt, newest first: attempt number, status received, latency, error."""
    before = row_id(cursor)
    with database_of(request).transaction() as session:
        body = webhooks.delivery_log_page(session, principal, AttemptPage, webhook_id, before, limit)
    return json_response(body)
