"""Webhook subscriptions: who may have which, what they receive, and their delivery log.

Services take a session and a principal and never commit. System administrators (and the global
key) subscribe to any tenant's events or all of them; a tenant administrator to its own
tenant's only. Anything outside a principal's view is the same 404 as missing.
"""

from __future__ import annotations

from typing import Any, NewType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from switchboard.access.policy import Kind, first_visible, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.db.base import utcnow
from switchboard.directory.models import Tenant
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, NotFound
from switchboard.events import outbound
from switchboard.events.log import EVENT_TYPES
from switchboard.events.models import Event, Webhook, WebhookAttempt, WebhookDelivery
from switchboard.events.signing import SecretBox, new_secret
from switchboard.kit.schemas import ListPage
from switchboard.settings import Settings

FAMILIES = frozenset(kind.split(".")[0] for kind in EVENT_TYPES)


def check_event_types(types: list[str]) -> list[str]:
    """Each an event type, a "family.*" pattern, or "*"; in order, without duplicates."""
    if not types:
        raise BadRequest.field("eventTypes", 'name at least one event type (or "*")')
    checked: list[str] = []
    for index, value in enumerate(types):
        kind = value.strip()
        family = kind[:-2] if kind.endswith(".*") else None
        if kind != "*" and kind not in EVENT_TYPES and family not in FAMILIES:
            raise BadRequest.field(
                f"eventTypes.{index}", f"{kind[:60]!r} is not an event type or a family such as call.*"
            )
        if kind not in checked:
            checked.append(kind)
    return checked


def matches(types: list[str], kind: str) -> bool:
    return "*" in types or kind in types or f"{kind.split('.')[0]}.*" in types


# A URL that passed `vetted_url`: the only kind a subscription stores.
VettedUrl = NewType("VettedUrl", str)
LOOKUP_SECONDS = 5.0  # a subscription's host name lookup


async def vetted_url(url: str, settings: Settings) -> VettedUrl:
    """The URL normalised, or 400 (field url) naming why it may not be called: its syntax, or an
    address its host is or resolves to (private, loopback, link-local, metadata... outside the
    operator's webhookAllowedNetworks), or a name that does not resolve. Call it before opening a
    transaction: a name lookup is network I/O. Every send checks again (events/outbound.py)."""
    try:
        normalised = await outbound.vet(
            url,
            allow_http=settings.insecure_http,
            allowed_networks=settings.webhook_networks,
            timeout=LOOKUP_SECONDS,
        )
    except outbound.TargetRefused as exc:
        raise BadRequest.field("url", str(exc)) from exc
    return VettedUrl(normalised)


def find_webhook(session: Session, principal: Principal, webhook_id: int) -> Webhook:
    webhook = first_visible(session, principal, Kind.WEBHOOK, select(Webhook).where(Webhook.pk == webhook_id))
    if webhook is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return webhook


def _tenant_for(session: Session, principal: Principal, tenant_id: str | None) -> int | None:
    """A tenant administrator's subscriptions are its tenant's, whatever it asks."""
    if tenant_id is not None:
        return find_tenant(session, principal, tenant_id).pk
    return principal.tenant_pk


def create_webhook(
    session: Session,
    principal: Principal,
    box: SecretBox,
    *,
    url: VettedUrl,
    event_types: list[str],
    tenant_id: str | None,
    description: str,
) -> tuple[Webhook, str]:
    """The subscription and its signing secret (returned this once, stored sealed)."""
    secret = new_secret()
    webhook = Webhook(
        tenant_pk=_tenant_for(session, principal, tenant_id),
        url=url,
        event_types=check_event_types(event_types),
        description=description,
        secret_encrypted=box.seal(secret),
        created_by=principal.audit_name,
    )
    session.add(webhook)
    session.flush()
    return webhook, secret


def update_webhook(
    session: Session, webhook: Webhook, changes: dict[str, Any], url: VettedUrl | None
) -> Webhook:
    if url is not None:
        webhook.url = url
    if changes.get("event_types") is not None:
        webhook.event_types = check_event_types(changes["event_types"])
    if changes.get("description") is not None:
        webhook.description = changes["description"]
    if changes.get("active") is not None:
        webhook.active = bool(changes["active"])
        if webhook.active:
            webhook.disabled_reason = ""
    webhook.updated_at = utcnow()
    session.flush()
    return webhook


def rotate_secret(webhook: Webhook, box: SecretBox) -> str:
    secret = new_secret()
    webhook.secret_encrypted = box.seal(secret)
    webhook.updated_at = utcnow()
    return secret


def tenant_ids(session: Session, pks: set[int | None]) -> dict[int | None, str | None]:
    wanted = {pk for pk in pks if pk is not None}
    found: dict[int | None, str | None] = {None: None}
    if wanted:
        rows = session.execute(select(Tenant.pk, Tenant.tenant_id).where(Tenant.pk.in_(wanted)))
        found.update((pk, tenant_id) for pk, tenant_id in rows)
    return found


def webhook_view(webhook: Webhook, tenant_id: str | None) -> dict[str, Any]:
    return {
        "id": webhook.pk,
        "tenantId": tenant_id,
        "url": webhook.url,
        "eventTypes": webhook.event_types,
        "description": webhook.description,
        "active": webhook.active,
        "disabledReason": webhook.disabled_reason or None,
        "createdBy": webhook.created_by,
        "createdAt": webhook.created_at.isoformat(),
        "updatedAt": webhook.updated_at.isoformat(),
    }


def describe(session: Session, webhook: Webhook) -> dict[str, Any]:
    """The subscription as the API shows it, its tenant's id looked up."""
    return webhook_view(webhook, tenant_ids(session, {webhook.tenant_pk})[webhook.tenant_pk])


def delete_webhook(session: Session, principal: Principal, webhook_id: int) -> int | None:
    """Deletes the subscription (its deliveries and log go with it); returns its tenant's pk."""
    webhook = find_webhook(session, principal, webhook_id)
    tenant_pk = webhook.tenant_pk
    session.delete(webhook)
    return tenant_pk


def _id_page(
    listing: type[ListPage], items: list[dict[str, Any]], total: int, more: bool
) -> dict[str, object]:
    """A page whose cursor is the last item's id (lists ordered by id)."""
    next_cursor = str(items[-1]["id"]) if more and items else None
    return listing.body(items, total, next_cursor)


def webhooks_page(
    session: Session, principal: Principal, listing: type[ListPage], after: int | None, limit: int
) -> dict[str, object]:
    """The subscriptions the principal may see, oldest first, after the id `after`."""
    hooks, total = visible_webhooks(session, principal, after, limit + 1)
    names = tenant_ids(session, {hook.tenant_pk for hook in hooks})
    items = [webhook_view(hook, names[hook.tenant_pk]) for hook in hooks[:limit]]
    return _id_page(listing, items, total, more=len(hooks) > limit)


def delivery_log_page(
    session: Session,
    principal: Principal,
    listing: type[ListPage],
    webhook_id: int,
    before: int | None,
    limit: int,
) -> dict[str, object]:
    """A visible subscription's delivery attempts, newest first, before the id `before`."""
    rows, total = attempts_of(session, find_webhook(session, principal, webhook_id), before, limit + 1)
    items = [attempt_view(attempt, delivery) for attempt, delivery in rows[:limit]]
    return _id_page(listing, items, total, more=len(rows) > limit)


def visible_webhooks(
    session: Session, principal: Principal, after: int | None, limit: int
) -> tuple[list[Webhook], int]:
    visible = visibility(principal, Kind.WEBHOOK)
    stmt = select(Webhook).where(visible)
    params = scope_params(principal)
    total = session.scalar(select(func.count()).select_from(Webhook).where(visible), params) or 0
    if after is not None:
        stmt = stmt.where(Webhook.pk > after)
    return list(session.scalars(stmt.order_by(Webhook.pk).limit(limit), params)), total


def attempts_of(
    session: Session, webhook: Webhook, after: int | None, limit: int
) -> tuple[list[tuple[WebhookAttempt, WebhookDelivery]], int]:
    """The delivery log, newest first: one entry per POST tried."""
    stmt = (
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.pk == WebhookAttempt.delivery_pk)
        .where(WebhookAttempt.webhook_pk == webhook.pk)
    )
    total = session.scalar(
        select(func.count()).select_from(WebhookAttempt).where(WebhookAttempt.webhook_pk == webhook.pk)
    )
    if after is not None:
        stmt = stmt.where(WebhookAttempt.pk < after)
    rows = session.execute(stmt.order_by(WebhookAttempt.pk.desc()).limit(limit))
    return list(rows), total or 0


def attempt_view(attempt: WebhookAttempt, delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": attempt.pk,
        "deliveryId": delivery.pk,
        "eventType": delivery.kind,
        "eventSeq": delivery.event_seq,
        "attempt": attempt.attempt,
        "at": attempt.started_at.isoformat(),
        "statusCode": attempt.status_code,
        "latencyMs": round(attempt.latency_ms, 1),
        "error": attempt.error or None,
        "deliveryStatus": delivery.status,
    }


def event_body(event: Event, tenant_id: str | None) -> dict[str, Any]:
    """What a receiver gets: the event, its public number as id."""
    return {
        "id": event.seq,
        "type": event.kind,
        "createdAt": event.created_at.isoformat(),
        "tenantId": tenant_id,
        "extension": event.extension,
        "uniqueId": event.unique_id,
        "campaignId": event.campaign_id,
        "data": event.data,
    }
