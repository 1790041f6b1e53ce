"""Service users of every kind: profile, kind-specific settings, and kind-scoped paths."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.factories import make_tree
from tests.support.pages import items_of

BASE = "/api/v1/tenants/t1/groups/g1/services"

KINDS = [
    ("ivrs", {"type": "Standard"}, {"type": "Standard"}),
    (
        "call_centers",
        {"type": "Premium", "policy": "Weighted"},
        {"type": "Premium", "policy": "Weighted", "queueLength": 10},
    ),
    (
        "hunt_groups",
        {"policy": "Simultaneous"},
        {"policy": "Simultaneous", "huntAfterNoAnswer": False, "noAnswerNumberOfRings": 5},
    ),
    ("route_points", {"queueLength": 3}, {"queueLength": 3}),
]


@pytest.mark.parametrize(("segment", "kind_fields", "expected"), KINDS)
def test_service_user_crud(
    api: TestClient, segment: str, kind_fields: dict[str, object], expected: dict[str, object]
) -> None:
    make_tree(api)
    api.post("/api/v1/tenants/t1/departments/", json={"name": "Ops"})
    profile = {
        "name": "Main",
        "callingLineIdLastName": "Main",
        "callingLineIdFirstName": "Line",
        "phoneNumber": "+3225126700",
        "extension": "700",
        "language": "English",
        "timeZone": "Europe/Brussels",
        "aliases": ["main"],
        "department": {"departmentName": "Ops"},
    }
    response = api.post(
        f"{BASE}/{segment}/",
        json={"serviceUserId": "Svc@t1.example", "serviceInstanceProfile": profile, **kind_fields},
    )
    assert response.status_code == 201, response.text
    svc = response.json()
    assert svc["serviceUserId"] == "Svc@t1.example"
    assert svc["serviceInstanceProfile"]["department"] == {
        "tenantId": "t1",
        "groupId": None,
        "departmentName": "Ops",
        "fullPathName": "Ops",
    }
    assert {k: svc["serviceInstanceProfile"][k] for k in profile if k != "department"} == {
        k: v for k, v in profile.items() if k != "department"
    }
    for key, value in expected.items():
        assert svc[key] == value
    assert api.get(f"{BASE}/{segment}/svc@t1.example/").json() == svc
    listing = api.get(f"{BASE}/{segment}/").json()
    assert listing["total"] == 1
    assert items_of(listing, f"{BASE}/{segment}/")[0] == svc
    renamed = api.patch(
        f"{BASE}/{segment}/svc@t1.example/", json={"serviceInstanceProfile": {"name": "Renamed"}}
    )
    assert renamed.status_code == 200
    assert renamed.json()["serviceInstanceProfile"]["name"] == "Renamed"
    assert api.delete(f"{BASE}/{segment}/svc@t1.example/").status_code == 204
    assert api.get(f"{BASE}/{segment}/svc@t1.example/").status_code == 404


def test_a_service_is_only_found_under_its_own_kind(api: TestClient) -> None:
    make_tree(api)
    api.post(
        f"{BASE}/hunt_groups/",
        json={"serviceUserId": "hg@t1.example", "serviceInstanceProfile": {"name": "HG"}},
    )
    as_ivr = api.get(f"{BASE}/ivrs/hg@t1.example/")
    missing = api.get(f"{BASE}/ivrs/none@t1.example/")
    assert as_ivr.status_code == missing.status_code == 404
    assert as_ivr.content == missing.content
    assert api.get(f"{BASE}/ivrs/").json()["total"] == 0


def test_kind_specific_validation(api: TestClient) -> None:
    make_tree(api)
    profile = {"name": "X"}
    for segment, extra, field in [
        ("call_centers", {"type": "Gold"}, "type"),
        ("hunt_groups", {"policy": "Random"}, "policy"),
        ("ivrs", {"policy": "Circular"}, "policy"),  # not an IVR field
        ("route_points", {"queueLength": -1}, "queueLength"),
    ]:
        response = api.post(
            f"{BASE}/{segment}/",
            json={"serviceUserId": "s@t1.example", "serviceInstanceProfile": profile, **extra},
        )
        assert response.status_code == 400, (segment, response.text)
        assert field in response.json()["detail"]
    no_profile = api.post(f"{BASE}/ivrs/", json={"serviceUserId": "s@t1.example"})
    assert no_profile.status_code == 400
    assert api.get("/api/v1/tenants/t1/groups/g1/services/voicemails/").status_code == 404
