"""APIO's list filters and user / group searches (issue 23), driven as APIO's gateway pages and
Netaxis's UIs send them: criteria ANDed, each at most once, values often unencoded, a JSON body
on GET; answered in the keyed list envelope, inside what the caller may see."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from switchboard.web.parameters import query_items
from tests.support.access_world import build_world
from tests.support.factories import make_group, make_tenant, make_user
from tests.support.pages import items_of
from tests.support.server import running_server

T1 = "/api/v1/tenants/t1"
SEARCH_USERS = f"{T1}/search/users/"
SEARCH_GROUPS = f"{T1}/search/groups/"
USER_KEYS = {"tenantId", "groupId", "userId", "firstName", "lastName", "phoneNumber", "extension"}


def _ids(response: Any, key: str = "userId") -> list[str]:
    assert response.status_code == 200, response.text
    return [item[key] for item in items_of(response.json(), str(response.url.path))]


def _problem(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _people(api: TestClient, global_key: str) -> dict[str, dict[str, str]]:
    """The access world, and t1/g1: Anna Van Damme, anna van damme; t1/g2: Bob 100%_sure, Bob 1000
    sure; t2/g1: Anna elsewhere. The principals' credentials, by kind."""
    world = build_world(api, global_key)
    make_user(
        api,
        "t1",
        "g1",
        "Anna.VD@t1.example",
        firstName="Anna",
        lastName="Van Damme",
        phoneNumber="+3225551234",
        emailAddress="anna@t1.example",
        extension="201",
    )
    make_user(api, "t1", "g1", "anna.low@t1.example", firstName="anna", lastName="van damme")
    make_user(api, "t1", "g2", "bob@t1.example", firstName="Bob", lastName="100%_sure", extension="301")
    make_user(api, "t1", "g2", "bob2@t1.example", firstName="Bob", lastName="1000 sure")
    make_user(api, "t2", "g1", "anna@t2.example", firstName="Anna", lastName="Van Damme")
    return world.headers


# -- the searches -------------------------------------------------------------------------------


def test_search_users_as_the_ui_sends_it(api: TestClient, global_key: str) -> None:
    _people(api, global_key)
    # apio_pv_ui joins key=value pairs unencoded; "+" is a space as in every form decoder.
    response = api.get(f"{SEARCH_USERS}?insensitiveUserLastNameContains=VAN+dam&responseSizeLimit=10")
    assert _ids(response) == ["anna.low@t1.example", "Anna.VD@t1.example"]  # t1 only, by id
    body = response.json()
    assert set(body) == {"users", "total", "nextCursor"}
    assert (body["total"], body["nextCursor"]) == (2, None)
    assert set(body["users"][1]) >= USER_KEYS
    assert body["users"][1]["phoneNumber"] == "+3225551234"
    # The system-wide UI's other criteria: group, e-mail, phone number.
    in_g2 = ["bob2@t1.example", "bob@t1.example", "u3@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveGroupIdContains=G2")) == in_g2
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveEmailAddressContains=ANNA@")) == ["Anna.VD@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?insensitivePhoneNumberContains=555")) == ["Anna.VD@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveExtensionEquals=301")) == ["bob@t1.example"]


def test_search_users_with_the_documented_json_body(api: TestClient, global_key: str) -> None:
    _people(api, global_key)
    # The gateway page's own example: GET with a JSON body.
    response = api.request("GET", SEARCH_USERS, json={"sensitiveUserLastNameStarts": "Van"})
    assert _ids(response) == ["Anna.VD@t1.example"]
    both = api.request("GET", f"{SEARCH_USERS}?responseSizeLimit=1", json={"insensitiveUserIdContains": "a"})
    assert "not both" in _problem(both)["detail"]


def test_criteria_are_anded_and_case_is_what_they_say(api: TestClient, global_key: str) -> None:
    _people(api, global_key)
    anded = api.get(f"{SEARCH_USERS}?insensitiveUserFirstNameEquals=ANNA&insensitiveUserIdStarts=anna.l")
    assert _ids(anded) == ["anna.low@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveUserFirstNameEquals=ANNA")) == [
        "anna.low@t1.example",
        "Anna.VD@t1.example",
    ]
    # Case-sensitive never folds, not even on SQLite (whose LIKE folds ASCII).
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveUserFirstNameEquals=anna")) == ["anna.low@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveUserLastNameStarts=van")) == ["anna.low@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveUserLastNameContains=Dam")) == ["Anna.VD@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveUserIdContains=VD")) == ["Anna.VD@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveUserIdContains=vd")) == ["Anna.VD@t1.example"]
    # The aliases APIO's UIs use: FirstName / LastName.
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveFirstNameEquals=Bob&insensitiveLastNameStarts=1000")) == [
        "bob2@t1.example"
    ]


def test_like_wildcards_in_values_match_literally(api: TestClient, global_key: str) -> None:
    _people(api, global_key)
    # "%" and "_" sent unencoded: a "%" that starts no escape is kept as sent.
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveUserLastNameContains=0%_")) == ["bob@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveUserLastNameContains=0%25_s")) == ["bob@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveUserLastNameStarts=100%25")) == ["bob@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveUserLastNameStarts=10_")) == []
    assert _ids(api.get(f"{SEARCH_USERS}?sensitiveUserLastNameContains=%25")) == ["bob@t1.example"]
    assert _ids(api.get(f"{SEARCH_USERS}?insensitiveUserLastNameContains=\\")) == []


def test_response_size_limit_pages_with_the_cursor(api: TestClient, global_key: str) -> None:
    _people(api, global_key)
    first = api.get(f"{SEARCH_USERS}?insensitiveUserIdContains=@&responseSizeLimit=2").json()
    assert (len(first["users"]), first["total"]) == (2, 7)
    second = api.get(SEARCH_USERS, params={"insensitiveUserIdContains": "@", "cursor": first["nextCursor"]})
    assert len(_ids(second)) == 5
    assert second.json()["nextCursor"] is None


def test_search_groups(api: TestClient, global_key: str) -> None:
    _people(api, global_key)
    make_group(api, "t1", "sales-east", groupName="Sales East")
    response = api.get(
        f"{SEARCH_GROUPS}?insensitiveGroupNameContains=sales e&insensitiveGroupIdContains=EAST"
    )
    assert _ids(response, "groupId") == ["sales-east"]
    assert set(response.json()) == {"groups", "total", "nextCursor"}
    assert _ids(api.get(f"{T1}/search/groups?responseSizeLimit=5"), "groupId") == ["g1", "g2", "sales-east"]


def test_the_paths_answer_without_their_trailing_slash(api: TestClient, global_key: str) -> None:
    _people(api, global_key)
    bare = api.get(f"{T1}/search/users?insensitiveUserIdStarts=bob", follow_redirects=False)
    assert _ids(bare) == ["bob2@t1.example", "bob@t1.example"]


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("insensitiveUserInTrunkGroupEquals=true", "insensitiveUserInTrunkGroupEquals", "unknown criterion"),
        ("insensitiveUserIdContains=a&insensitiveUserIdContains=b", "insensitiveUserIdContains", "once"),
        ("sensitiveFirstNameEquals=a&sensitiveUserFirstNameEquals=b", "sensitiveUserFirstNameEquals", "once"),
        ("userId=a", "userId", "is not a criterion"),
        ("responseSizeLimit=0", "responseSizeLimit", "1 to 500"),
        ("responseSizeLimit=501", "responseSizeLimit", "1 to 500"),
        ("responseSizeLimit=ten", "responseSizeLimit", "1 to 500"),
        ("responseSizeLimit=2&limit=2", "responseSizeLimit", "not both"),
        (f"insensitiveUserIdContains={'x' * 256}", "insensitiveUserIdContains", "at most 255"),
    ],
)
def test_invalid_searches_are_400_naming_the_parameter(
    api: TestClient, query: str, field: str, reason: str
) -> None:
    make_tenant(api, "t1")
    problem = _problem(api.get(f"{SEARCH_USERS}?{query}"))
    assert problem["errors"][0]["field"] == field
    assert reason in problem["errors"][0]["reason"]


def test_a_search_never_reveals_what_the_caller_cannot_read(api: TestClient, global_key: str) -> None:
    world = _people(api, global_key)
    everyone = "?insensitiveUserIdContains=@"
    readers = {name: h for name, h in world.items() if name != "user_key"}  # 403: campaigns only
    seen = {name: _ids(api.get(SEARCH_USERS + everyone, headers=h)) for name, h in readers.items()}
    t1_users = seen["system"]
    assert len(t1_users) == 7
    assert seen["tenant_admin"] == seen["tenant_key"] == t1_users
    assert seen["group_admin"] == [
        "anna.low@t1.example",
        "Anna.VD@t1.example",
        "u1@t1.example",
        "u2@t1.example",
    ]
    assert seen["user"] == ["u1@t1.example"]  # itself only
    # The total counts what the caller may see, not what the tenant holds.
    assert api.get(SEARCH_USERS + everyone, headers=world["user"]).json()["total"] == 1
    groups = {name: _ids(api.get(SEARCH_GROUPS, headers=h), "groupId") for name, h in readers.items()}
    assert groups["system"] == groups["tenant_admin"] == ["g1", "g2"]
    assert groups["group_admin"] == groups["user"] == ["g1"]
    assert api.get(SEARCH_USERS, headers=world["user_key"]).status_code == 403


def test_a_tenant_outside_the_view_is_the_missing_tenants_404(api: TestClient, global_key: str) -> None:
    world = _people(api, global_key)
    for path in ("search/users/", "search/groups/"):
        for name in ("tenant_admin", "group_admin", "user", "tenant_key"):
            hidden = api.get(f"/api/v1/tenants/t2/{path}?insensitiveUserIdContains=a", headers=world[name])
            missing = api.get(f"/api/v1/tenants/t9/{path}?insensitiveUserIdContains=a", headers=world[name])
            if path == "search/groups/":  # a user criterion is unknown there: 400 before anything
                assert hidden.status_code == missing.status_code == 400
                hidden = api.get(f"/api/v1/tenants/t2/{path}", headers=world[name])
                missing = api.get(f"/api/v1/tenants/t9/{path}", headers=world[name])
            assert hidden.status_code == missing.status_code == 404, name
            assert hidden.content == missing.content
        assert api.get(f"/api/v1/tenants/t2/{path}").status_code == 200  # the system sees it


def test_the_system_wide_searches_the_ui_calls(api: TestClient, global_key: str) -> None:
    world = _people(api, global_key)
    # apio_pv_ui's system search: /search/users?<criteria>, no final slash, values unencoded.
    anna = "/api/v1/search/users?insensitiveUserFirstNameContains=ann&insensitiveGroupIdContains=G1"
    assert _ids(api.get(anna)) == ["anna.low@t1.example", "Anna.VD@t1.example", "anna@t2.example"]
    assert _ids(api.get(anna, headers=world["tenant_admin"])) == ["anna.low@t1.example", "Anna.VD@t1.example"]
    assert _ids(api.get(f"{anna}&insensitiveTenantIdEquals=T2")) == ["anna@t2.example"]
    assert _ids(api.get(f"{anna}&insensitiveTenantIdEquals=T2", headers=world["tenant_admin"])) == []
    # Group ids repeat across tenants: the pages go by tenant, then group, and miss none.
    first = api.get("/api/v1/search/groups?responseSizeLimit=2&insensitiveGroupIdStarts=g").json()
    assert [(g["tenantId"], g["groupId"]) for g in first["groups"]] == [("t1", "g1"), ("t1", "g2")]
    rest = api.get(
        "/api/v1/search/groups/", params={"insensitiveGroupIdStarts": "g", "cursor": first["nextCursor"]}
    )
    assert [(g["tenantId"], g["groupId"]) for g in rest.json()["groups"]] == [("t2", "g1")]
    assert first["total"] == rest.json()["total"] == 3
    assert _ids(api.get("/api/v1/search/groups/", headers=world["group_admin"]), "groupId") == ["g1"]


# -- the list filters ---------------------------------------------------------------------------


def _tenants(api: TestClient, query: str = "", **kwargs: Any) -> list[str]:
    return _ids(api.request("GET", f"/api/v1/tenants/{query}", **kwargs), "tenantId")


def test_the_tenant_list_takes_apios_filters(api: TestClient) -> None:
    make_tenant(api, "sp1", type="ServiceProvider", name="Acme Telecom", externalId1="CRM-1")
    make_tenant(api, "sp2", type="ServiceProvider", name="Other Telecom", externalId1="crm-2")
    make_tenant(api, "ent", type="Enterprise", name="Acme Shop")
    # The gateway page's example, as its JSON body and as query parameters.
    assert _tenants(api, json={"type": "ServiceProvider", "sizeLimit": 10}) == ["sp1", "sp2"]
    page = api.get("/api/v1/tenants/?type=ServiceProvider&sizeLimit=1").json()
    assert (page["tenants"][0]["tenantId"], page["total"]) == ("sp1", 2)
    assert page["nextCursor"] is not None
    assert _tenants(api, "?insensitiveNameContains=ACME") == ["ent", "sp1"]
    assert _tenants(api, "?insensitiveNameContains=acme&type=Enterprise") == ["ent"]
    assert _tenants(api, "?insensitiveExternalId1Starts=crm-") == ["sp1", "sp2"]
    assert _tenants(api, "?sensitiveExternalId1Starts=crm-") == ["sp2"]
    assert _tenants(api, "?insensitiveTenantIdEquals=SP2") == ["sp2"]
    assert _tenants(api, "?insensitiveTenantNameStarts=other") == ["sp2"]  # an alias of Name
    assert _tenants(api, "?externalId1=CRM-1&insensitiveNameContains=telecom") == ["sp1"]
    assert _tenants(api, "?cacheBuster=1&insensitiveNameContains=shop") == ["ent"]  # others: ignored


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=Reseller", "type"),
        ("sizeLimit=0", "sizeLimit"),
        ("sizeLimit=2&limit=2", "sizeLimit"),
        ("insensitiveUserIdContains=a", "insensitiveUserIdContains"),  # not a tenant field
        ("insensitiveNameContains=a&insensitiveNameContains=b", "insensitiveNameContains"),
        ("externalId1=a&sensitiveExternalId1Equals=a", "externalId1"),  # the same criterion
    ],
)
def test_invalid_tenant_filters_are_400_naming_the_parameter(api: TestClient, query: str, field: str) -> None:
    problem = _problem(api.get(f"/api/v1/tenants/?{query}"))
    assert problem["errors"][0]["field"] == field


def test_the_group_and_user_lists_take_apios_filters(api: TestClient, global_key: str) -> None:
    world = _people(api, global_key)
    make_group(api, "t1", "sales-east", groupName="Sales East", externalId2="E-2")
    groups = f"{T1}/groups/"
    assert _ids(api.get(f"{groups}?insensitiveGroupNameContains=EAST"), "groupId") == ["sales-east"]
    assert _ids(api.get(f"{groups}?insensitiveExternalId2Equals=e-2"), "groupId") == ["sales-east"]
    assert _ids(api.get(f"{groups}?sizeLimit=1"), "groupId") == ["g1"]
    users = f"{T1}/groups/g1/users/"
    assert _ids(api.get(f"{users}?insensitiveUserLastNameStarts=van d")) == [
        "anna.low@t1.example",
        "Anna.VD@t1.example",
    ]
    assert _ids(api.get(f"{users}?sensitiveUserLastNameStarts=van d")) == ["anna.low@t1.example"]
    # The same grammar inside the caller's view: the end user lists itself only.
    assert _ids(api.get(f"{users}?insensitiveUserIdContains=@", headers=world["user"])) == ["u1@t1.example"]
    assert _problem(api.get(f"{users}?insensitiveGroupNameContains=x"))["errors"][0]["field"] == (
        "insensitiveGroupNameContains"
    )


# -- unencoded values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a=b c@x", [("a", "b c@x")]),  # a raw space (the request line is mended before this)
        (b"a=b+c", [("a", "b c")]),  # "+" is a space, as every form decoder (and APIO's) reads it
        (b"a=%2B32", [("a", "+32")]),
        (b"a=50%&b=%zz", [("a", "50%"), ("b", "%zz")]),  # a "%" starting no escape stays
        ("a=Bär&b=B%C3%A4r".encode(), [("a", "Bär"), ("b", "Bär")]),  # raw UTF-8 as its escapes
        (b"a=&b", [("a", ""), ("b", "")]),
    ],
)
def test_query_values_decode_tolerantly(raw: bytes, expected: list[tuple[str, str]]) -> None:
    assert query_items(raw) == expected


def test_a_query_that_is_not_utf8_is_a_400() -> None:
    with pytest.raises(Exception, match="not UTF-8"):
        query_items(b"a=\xff")


def _raw_get(port: int, target: bytes, key: str) -> tuple[int, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + key.encode()
        sock.sendall(head + b"\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ")[1]), json.loads(body)
    except ValueError:
        raise AssertionError(reply) from None


@pytest.mark.server
def test_unencoded_values_reach_the_search_as_sent(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    with running_server(tmp_path / "data", database_url, "--insecure-http") as (port, _):
        base, auth = f"http://127.0.0.1:{port}/api/v1", {"X-API-Key": global_key}
        for path, body in (
            ("/tenants/", {"tenantId": "t1", "type": "Enterprise"}),
            ("/tenants/t1/groups/", {"groupId": "g1"}),
            ("/tenants/t1/groups/g1/users/", {"userId": "anna", "firstName": "Anna", "lastName": "Van Bär"}),
        ):
            assert httpx2.post(base + path, json=body, headers=auth).status_code == 201, path
        search = b"/api/v1/tenants/t1/search/users?insensitiveUserLastNameContains="
        status, body = _raw_get(port, search + "van bär&responseSizeLimit=5".encode(), global_key)
        assert (status, [u["lastName"] for u in body["users"]]) == (200, ["Van Bär"])
        status, body = _raw_get(port, search + b"van+b", global_key)
        assert (status, body["total"]) == (200, 1)


@pytest.mark.parametrize(
    "path",
    [
        SEARCH_USERS,  # a tenant's users in every group: not the group list's count
        "/api/v1/search/users/",
        f"{T1}/groups/g1/users/?insensitiveGroupIdEquals=g1",  # a criterion on the joined group
        f"{T1}/groups/g1/users/?insensitiveGroupIdEquals=g2",
        f"{T1}/groups/g2/users/?insensitiveUserIdStarts=bob",
        f"{T1}/groups/g2/users/",
    ],
)
def test_every_total_counts_the_rows_its_pages_hold(api: TestClient, global_key: str, path: str) -> None:
    # The group's user list counts from a leaner select of one group's users; a search across
    # groups, or a criterion on a joined table, must count what its own pages list.
    _people(api, global_key)
    joiner = "&" if "?" in path else "?"
    response = api.get(f"{path}{joiner}limit=500")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["nextCursor"] is None
    assert body["total"] == len(items_of(body, path.split("?")[0]))
