"""Noojee's getCampaignList on the hot path: one indexed query per request, rendering reused.

Each request asks the database, in one statement with the policy's clause inside, which
templates the caller may see and each one's `campaigns_version`. What a template's campaigns
look like as Noojee entities is rendered once per (template, version) and kept in the process;
any change to a template's campaigns raises its version in the same transaction, so a rendering
is reused only while it is exactly what the database holds. Visibility itself is never cached:
membership and template-team changes apply on the next request, in every process.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import bindparam, literal, select

from switchboard.access.policy import Kind, scope_params, visibility, visibility_key
from switchboard.access.principal import Principal
from switchboard.contact_centre.models import Campaign, CampaignTemplate
from switchboard.db.fastread import AnySelect, FastReader
from switchboard.directory.models import Tenant

_MAX_RENDERED = 100_000  # templates; past it the cache starts again (memory stays bounded)


def _visible_templates(principal: Principal, filtered: bool) -> AnySelect:
    stmt = (
        select(CampaignTemplate.pk, CampaignTemplate.campaigns_version, Tenant.tenant_id)
        .join(Tenant, Tenant.pk == CampaignTemplate.tenant_pk)
        .where(visibility(principal, Kind.CAMPAIGN_TEMPLATE))
        .order_by(CampaignTemplate.pk)
    )
    if filtered:
        stmt = stmt.where(CampaignTemplate.pk == bindparam("template_id"))
    return stmt


def _campaigns_of_template() -> AnySelect:
    return (
        select(
            Campaign.pk.label("id"),
            Campaign.name.label("name"),
            Campaign.template_pk.label("templateId"),
            Campaign.status.label("status"),
            literal("").label("tenantId"),  # filled from the template's row
        )
        .where(Campaign.template_pk == bindparam("template_pk"))
        .order_by(Campaign.pk)
    )


class CampaignLists:
    """One per process: renders {"Code": 0, "Message": "OK", "entities": [...]} as bytes."""

    def __init__(self, reader: FastReader) -> None:
        self._reader = reader
        self._rendered: dict[int, tuple[int, bytes]] = {}  # template pk -> (version, entities)

    async def body(self, principal: Principal, template_id: int | None) -> bytes:
        """Campaigns ordered by template, then id; only templates the principal may see."""
        filtered = template_id is not None
        query = self._reader.compiled(
            ("noojee_campaign_templates", visibility_key(principal), filtered),
            lambda: _visible_templates(principal, filtered),
        )
        params: dict[str, Any] = {**scope_params(principal), "template_id": template_id}
        parts = []
        for row in await self._reader.fetch_all(query, params):
            rendered = await self._render(row["pk"], row["campaigns_version"], row["tenant_id"])
            if rendered:
                parts.append(rendered)
        return b'{"Code":0,"Message":"OK","entities":[' + b",".join(parts) + b"]}"

    async def _render(self, template_pk: int, version: int, tenant_id: str) -> bytes:
        cached = self._rendered.get(template_pk)
        if cached is not None and cached[0] == version:
            return cached[1]
        query = self._reader.compiled("noojee_campaigns_of_template", _campaigns_of_template)
        entities = await self._reader.fetch_all(query, {"template_pk": template_pk})
        for entity in entities:
            entity["tenantId"] = tenant_id
        rendered = orjson.dumps(entities)[1:-1]  # the list's items, to be joined with others'
        if len(self._rendered) >= _MAX_RENDERED:
            self._rendered.clear()
        # Read after the version: at worst newer than it, and then redone on the next request.
        self._rendered[template_pk] = (version, rendered)
        return rendered
