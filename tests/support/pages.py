"""The native API's lists as clients read them: `{<key>: [...], "total": n, "nextCursor": ...}`,
each list's key as README's table documents it."""

from __future__ import annotations

import re
from typing import Any

# Every GET list of /api/v1 (route template) and the key its items answer under (README "Lists").
LIST_KEYS: dict[str, str] = {
    "/api/v1/tenants/": "tenants",
    "/api/v1/tenants/{tenant_id}/domains/": "domains",
    "/api/v1/tenants/{tenant_id}/groups/": "groups",
    "/api/v1/tenants/{tenant_id}/groups/{group_id}/users/": "users",
    "/api/v1/tenants/{tenant_id}/search/users/": "users",
    "/api/v1/tenants/{tenant_id}/search/groups/": "groups",
    "/api/v1/search/users/": "users",
    "/api/v1/search/groups/": "groups",
    "/api/v1/tenants/{tenant_id}/departments/": "departments",
    "/api/v1/tenants/{tenant_id}/groups/{group_id}/departments/": "departments",
    "/api/v1/tenants/{tenant_id}/groups/{group_id}/services/ivrs/": "ivrs",
    "/api/v1/tenants/{tenant_id}/groups/{group_id}/services/call_centers/": "callCenters",
    "/api/v1/tenants/{tenant_id}/groups/{group_id}/services/hunt_groups/": "huntGroups",
    "/api/v1/tenants/{tenant_id}/groups/{group_id}/services/route_points/": "routePoints",
    "/api/v1/import/": "importJobs",
    "/api/v1/tenants/{tenant_id}/teams/": "teams",
    "/api/v1/tenants/{tenant_id}/teams/{name}/roster/overrides/": "overrides",
    "/api/v1/tenants/{tenant_id}/campaign-templates/": "campaignTemplates",
    "/api/v1/tenants/{tenant_id}/campaigns/": "campaigns",
    "/api/v1/tenants/{tenant_id}/campaigns/{campaign_id}/leads/": "leads",
    "/api/v1/tenants/{tenant_id}/campaigns/{campaign_id}/allocations/": "allocations",
    "/api/v1/tenants/{tenant_id}/dnc/": "dncEntries",
    "/api/v1/calls/": "calls",
    "/api/v1/recordings/": "recordings",
    "/api/v1/accounts/": "accounts",
    "/api/v1/accounts/{username}/api-keys/": "apiKeys",
    "/api/v1/local/resellers/": "resellers",
    "/api/v1/local/resellers/{name}/admins/": "admins",
    "/api/v1/tenants/{tenant_id}/tenant-keys/": "tenantKeys",
    "/api/v1/audit/": "auditEntries",
    "/api/v1/webhooks/": "webhooks",
    "/api/v1/webhooks/{webhook_id}/deliveries/": "deliveryAttempts",
}

_TEMPLATES = [
    (re.compile(re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(template)) + "?$"), key)
    for template, key in LIST_KEYS.items()
]


def list_key(path: str) -> str:
    """The key of the list a concrete path (query string and all) reads."""
    path = path.split("?", 1)[0]
    path = path if path.startswith("/api/v1/") else "/api/v1/" + path.lstrip("/")
    found = [key for pattern, key in _TEMPLATES if pattern.match(path)]
    assert len(found) == 1, f"{path} is not one list of the API: {found}"
    return found[0]


def items_of(body: Any, path: str) -> list[Any]:
    """A list's page checked for its envelope: its items, under the key its path documents."""
    key = list_key(path)
    assert isinstance(body, dict), f"{path} answered {type(body).__name__}, not the list envelope"
    assert set(body) == {key, "total", "nextCursor"}, (path, sorted(body))
    items: list[Any] = body[key]
    assert isinstance(items, list)
    return items
