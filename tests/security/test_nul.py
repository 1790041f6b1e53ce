"""NUL: a NUL character (U+0000) anywhere in a request's input is a 400 naming where it was, on every
surface and both engines, before any route reads it: JSON bodies (the \\u0000 escape), form bodies and
query strings (%00)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.access_world import build_world
from tests.support.contact_centre import lead_campaigns
from tests.support.factories import make_tenant

CM = "/servicemanager/rest/CallManagementAPI"
N = "/servicemanager/rest/CampaignAPI"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
NUL_REASON = "may not contain NUL (U+0000) characters"


def _refused(response: object, field: str) -> None:
    assert response.status_code == 400, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert response.json()["errors"] == [{"field": field, "reason": NUL_REASON}]  # type: ignore[attr-defined]


def _refused_in_envelope(response: object, field: str) -> None:
    assert response.status_code == 400, response.text  # type: ignore[attr-defined]
    assert response.json() == {"Code": -400, "Message": f"{field}: {NUL_REASON}"}  # type: ignore[attr-defined]


def test_a_call_tag_with_a_nul_is_400_on_both_surfaces(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    user = world.headers["user"]
    dial = {"extension": "101", "number": "0390001234", "tag": "crm\x00-1"}
    _refused(api.post("/api/v1/calls/", json=dial, headers=user), "tag")
    form = "extenOrUniqueId=101&number=0390001234&tag=crm%00-1"
    _refused_in_envelope(api.post(f"{CM}/dial", content=form, headers={**FORM, **user}), "tag")
    assert api.get("/api/v1/calls/").json()["calls"] == []


def test_a_dialling_pattern_with_a_nul_is_400(api: TestClient) -> None:
    make_tenant(api)
    policy = {"allowed": ["\\d{2,6}", "0\\d+\x00"], "maxConcurrentCalls": 1}
    _refused(api.put("/api/v1/tenants/t1/dialling-policy/", json=policy), "allowed.1")
    assert "0\\d+\x00" not in api.get("/api/v1/tenants/t1/dialling-policy/").json()["allowed"]


def test_lead_values_with_a_nul_are_400_on_both_surfaces(
    anonymous: TestClient, api: TestClient, global_key: str
) -> None:
    s = lead_campaigns(api, global_key)
    lead = {"fields": {"firstName": "A\x00nn", "phone": "+61390000001"}}
    _refused(api.post(s["path"], json={"leads": [lead]}), "leads.0.fields.firstName")
    # A NUL in a name is no better than in a value.
    _refused(api.post(s["path"], json={"leads": [{"fields": {"x\x00": "1"}}]}), "leads.0.fields")
    query = f"apiKey={s['apikey']}&fTemplateId={s['templates']['TA']}&fCampaignId={s['campaign']}"
    row = {"firstName": "Bob", "phone": "03 9000 0002", "njDisposition": "Sale\x00"}
    _refused_in_envelope(anonymous.post(f"{N}/insertLeadFast?{query}", json=[row]), "0.njDisposition")
    assert api.get(s["path"]).json()["leads"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"tenantId": "t\x001", "type": "Enterprise"}', "body"),  # a raw NUL byte
        (b'{"tenantId": "t\\u00001", "type": "Enterprise"}', "tenantId"),
        (b'{"tenantId": "t1", "name": "a\\\\\\u0000", "type": "Enterprise"}', "name"),  # \\ then \u0000
    ],
)
def test_every_json_body_is_checked(api: TestClient, body: bytes, field: str) -> None:
    _refused(api.post("/api/v1/tenants/", content=body, headers=JSON), field)
    assert api.get("/api/v1/tenants/").json()["total"] == 0


def test_an_escaped_backslash_before_u0000_is_text(api: TestClient) -> None:
    body = b'{"tenantId": "t1", "name": "a\\\\u0000", "type": "Enterprise"}'  # the text a\u0000
    answer = api.post("/api/v1/tenants/", content=body, headers=JSON)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "a\\u0000"
