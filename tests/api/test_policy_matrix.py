"""Role x operation x tenant: every endpoint, every kind of principal, every cell asserted.

Codes per principal, in the order system, tenant admin (t1), group admin (t1/g1), end user
(u1 in t1/g1), user API key (of the t1 tenant admin), tenant key (of t1): O = 2xx, 3 = 403, 4 = 404
identical to the 404 for an object that does not exist, 9 = 409 (past the policy, refused for the
object's state). A tenant key acts as its tenant's admin: a
row of five codes gives it the tenant admin's; a sixth code says where it differs or is worth saying.
The seventh principal is ra1, the admin of reseller R1, which owns t1 (R2 owns t2): inside t1 it
may do what t1's admin may, so a row of five or six codes gives it the tenant admin's; a seventh
code says where it differs (making tenants, the reseller endpoints, and the areas it does not
reach: campaigns, calls, webhooks, audit, import answer it 403).
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import PASSWORD, add_resellers, build_world, make_account
from tests.support.calls import dial
from tests.support.factories import created, make_group, make_tenant, make_user
from tests.support.pages import items_of
from tests.support.webhook_receiver import CLOSED_HOOK

PRINCIPALS = ["system", "tenant_admin", "group_admin", "user", "user_key", "tenant_key", "reseller_admin"]
SHORT = {
    "system": "s",
    "tenant_admin": "ta",
    "group_admin": "ga",
    "user": "eu",
    "user_key": "uk",
    "tenant_key": "tk",
    "reseller_admin": "ra",
}
TK = "/api/v1/tenants/t1/tenant-keys"
G1 = "/api/v1/tenants/t1/groups/g1"
NOOJEE = "/servicemanager/rest/CampaignAPI"

MATRIX: list[tuple[str, str, Any, str]] = [
    # reads
    ("GET", "/api/v1/tenants/", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t1/", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t2/", None, "O4443"),
    ("GET", "/api/v1/tenants/t1/groups/", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t2/groups/", None, "O4443"),
    ("GET", f"{G1}/", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t1/groups/g2/", None, "OO443"),
    ("GET", "/api/v1/tenants/t2/groups/g1/", None, "O4443"),
    ("GET", f"{G1}/users/", None, "OOOO3"),
    ("GET", f"{G1}/users/?externalId2=x&externalId1=y", None, "OOOO3"),
    ("GET", "/api/v1/tenants/?externalId1=x", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t1/groups/?externalId4=x", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t2/groups/?externalId4=x", None, "O4443"),
    ("GET", "/api/v1/tenants/t2/groups/g1/users/?externalId3=x", None, "O4443"),
    # APIO's criteria on the lists, and its searches in a tenant (issue 23)
    ("GET", "/api/v1/tenants/?insensitiveNameContains=t&type=Enterprise", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t1/groups/?insensitiveGroupIdStarts=g", None, "OOOO3"),
    ("GET", f"{G1}/users/?insensitiveUserIdContains=@&sizeLimit=5", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t2/groups/g1/users/?sensitiveUserIdStarts=u", None, "O4443"),
    (
        "GET",
        "/api/v1/tenants/t1/search/users/?insensitiveUserIdContains=u&responseSizeLimit=5",
        None,
        "OOOO3",
    ),
    ("GET", "/api/v1/tenants/t1/search/users", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t2/search/users/?insensitiveUserIdContains=u", None, "O4443"),
    ("GET", "/api/v1/tenants/t9/search/users/", None, "44443"),
    ("GET", "/api/v1/tenants/t1/search/groups/?insensitiveGroupNameContains=g", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t2/search/groups/", None, "O4443"),
    ("GET", "/api/v1/search/users?insensitiveGroupIdContains=g&responseSizeLimit=5", None, "OOOO3"),
    ("GET", "/api/v1/search/groups/?insensitiveTenantIdEquals=T2", None, "OOOO3"),  # t2's: none
    # APIO's login: the body's credentials sign in, whatever the request's header holds.
    ("POST", "/api/v1/login/", {"username": "eu1", "password": PASSWORD}, "OOOOOO"),
    ("GET", f"{G1}/users/u1@t1.example/", None, "OOOO3"),
    ("GET", f"{G1}/users/u2@t1.example/", None, "OOO43"),
    ("GET", "/api/v1/tenants/t1/groups/g2/users/u3@t1.example/", None, "OO443"),
    ("GET", "/api/v1/tenants/t2/groups/g1/users/u4@t2.example/", None, "O4443"),
    ("GET", f"{G1}/services/ivrs/", None, "OOOO3"),
    ("GET", f"{G1}/services/ivrs/ivr@t1.example/", None, "OOO43"),
    ("GET", "/api/v1/tenants/t2/groups/g1/services/ivrs/ivr@t2.example/", None, "O4443"),
    ("GET", "/api/v1/tenants/t1/departments/", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t1/departments/Ops/", None, "OOO43"),
    ("GET", "/api/v1/tenants/t2/departments/Ops/", None, "O4443"),
    ("GET", "/api/v1/tenants/t1/domains/", None, "OOOO3"),
    ("GET", "/api/v1/tenants/t2/domains/", None, "O4443"),
    ("GET", "/api/v1/settings/", None, "O3333"),
    ("GET", "/api/v1/settings/ip-allowlist/", None, "O3333"),
    # Audit and bulk import stay with each tenant's admins: a reseller admin is refused (403).
    ("GET", "/api/v1/audit/", None, "OO333O3"),
    ("GET", "/api/v1/import/", None, "OO333O3"),
    ("GET", "/api/v1/import/ffffffffffffffffffffffffffffffff/", None, "4433343"),
    ("GET", "/api/v1/accounts/", None, "OOOO3"),
    ("GET", "/api/v1/accounts/ta1/", None, "OO443"),
    ("GET", "/api/v1/accounts/ta2/", None, "O4443"),
    ("GET", "/api/v1/accounts/eu1/", None, "OOOO3"),
    ("GET", "/api/v1/accounts/ta1/api-keys/", None, "OO443"),
    (
        "POST",
        "/api/v1/search/objects/",
        {"tenant_id": "t1", "group_id": "g1", "user_id": "u1@t1.example"},
        "OOOO3",
    ),
    (
        "POST",
        "/api/v1/search/objects/",
        {"tenant_id": "t1", "group_id": "g1", "user_id": "u2@t1.example"},
        "OOO43",
    ),
    (
        "POST",
        "/api/v1/search/objects/",
        {"tenant_id": "t1", "group_id": "g1", "user_id": "ivr@t1.example", "type": "ivr"},
        "OOO43",
    ),
    ("POST", "/api/v1/search/objects/", {"tenant_id": "t2"}, "O4443"),
    # writes
    # A reseller admin makes tenants, its reseller's; naming another reseller is not found.
    ("POST", "/api/v1/tenants/", {"tenantId": "n-{p}", "type": "Enterprise"}, "O33333O"),
    (
        "POST",
        "/api/v1/tenants/",
        {"tenantId": "r1-{p}", "type": "Enterprise", "resellerId": "R1"},
        "O33333O",
    ),
    ("POST", "/api/v1/tenants/", {"tenantId": "r2-{p}", "type": "Enterprise", "resellerId": "R2"}, "O333334"),
    # Which reseller owns a tenant is the system's call.
    ("PATCH", "/api/v1/tenants/t1/", {"resellerId": "R1"}, "O333333"),
    ("PATCH", "/api/v1/tenants/t1/", {"name": "T1 {p}"}, "OO333"),
    ("PATCH", "/api/v1/tenants/t2/", {"name": "T2 {p}"}, "O4443"),
    ("POST", "/api/v1/tenants/t1/domains/", {"domain": "{p}.t1.example"}, "O3333"),
    ("POST", "/api/v1/tenants/t2/domains/", {"domain": "{p}.t2.example"}, "O4443"),
    ("POST", "/api/v1/tenants/t1/groups/", {"groupId": "new-{p}"}, "OO333"),
    ("POST", "/api/v1/tenants/t2/groups/", {"groupId": "new-{p}"}, "O4443"),
    ("PATCH", f"{G1}/", {"groupName": "G1 {p}"}, "OO333"),
    ("PATCH", f"{G1}/", {"externalId1": "G1 {p}"}, "OO333"),
    ("PATCH", "/api/v1/tenants/t1/", {"externalId2": "T1 {p}"}, "OO333"),
    ("PATCH", f"{G1}/users/u1@t1.example/", {"externalId3": "U1 {p}"}, "OOO33"),
    ("PATCH", "/api/v1/tenants/t1/groups/g2/", {"groupName": "G2 {p}"}, "OO443"),
    ("PATCH", "/api/v1/tenants/t2/groups/g1/", {"groupName": "X {p}"}, "O4443"),
    ("POST", f"{G1}/users/", {"userId": "new-{p}@t1.example", "firstName": "N", "lastName": "N"}, "OOO33"),
    (
        "POST",
        "/api/v1/tenants/t1/groups/g2/users/",
        {"userId": "n2-{p}@t1.example", "firstName": "N", "lastName": "N"},
        "OO443",
    ),
    (
        "POST",
        "/api/v1/tenants/t2/groups/g1/users/",
        {"userId": "new-{p}@t2.example", "firstName": "N", "lastName": "N"},
        "O4443",
    ),
    ("PATCH", f"{G1}/users/u1@t1.example/", {"title": "T {p}"}, "OOO33"),
    ("PATCH", f"{G1}/users/u2@t1.example/", {"title": "T {p}"}, "OOO43"),
    ("PATCH", "/api/v1/tenants/t1/groups/g2/users/u3@t1.example/", {"title": "T {p}"}, "OO443"),
    ("PATCH", "/api/v1/tenants/t2/groups/g1/users/u4@t2.example/", {"title": "T {p}"}, "O4443"),
    (
        "POST",
        f"{G1}/services/hunt_groups/",
        {"serviceUserId": "hg-{p}@t1.example", "serviceInstanceProfile": {"name": "HG"}},
        "OOO33",
    ),
    (
        "PATCH",
        f"{G1}/services/ivrs/ivr@t1.example/",
        {"serviceInstanceProfile": {"name": "IVR {p}"}},
        "OOO43",
    ),
    (
        "PATCH",
        "/api/v1/tenants/t2/groups/g1/services/ivrs/ivr@t2.example/",
        {"serviceInstanceProfile": {"name": "X"}},
        "O4443",
    ),
    ("POST", "/api/v1/tenants/t1/departments/", {"name": "D-{p}"}, "OO333"),
    ("POST", f"{G1}/departments/", {"name": "GD-{p}"}, "OOO33"),
    ("POST", "/api/v1/tenants/t2/departments/", {"name": "D-{p}"}, "O4443"),
    ("PATCH", "/api/v1/settings/", {"DEFAULT_DOMAIN": "switchboard.local"}, "O3333"),
    ("PUT", "/api/v1/settings/ip-allowlist/", {"entries": ["127.0.0.1", "::1"]}, "O3333"),
    (
        "POST",
        "/api/v1/accounts/",
        {
            "username": "t1.acc-{p}",
            "password": "long enough password",
            "role": "user",
            "tenantId": "t1",
            "groupId": "g1",
        },
        "OOO33",
    ),
    (
        "POST",
        "/api/v1/accounts/",
        {"username": "adm-{p}", "password": "long enough password", "role": "tenant_admin", "tenantId": "t2"},
        "O4443",
    ),
    (
        "POST",
        "/api/v1/accounts/",
        {"username": "sys-{p}", "password": "long enough password", "role": "system"},
        "O3333",
    ),
    ("PATCH", "/api/v1/accounts/eu1/", {"displayName": "E {p}"}, "OOOO3"),
    ("PATCH", "/api/v1/accounts/ta2/", {"displayName": "X {p}"}, "O4443"),
    # eu1 reaches what ga1 does not (team A's campaigns, extension 101's calls): no key from ga1.
    ("POST", "/api/v1/accounts/eu1/api-keys/", {"name": "k-{p}"}, "OO3O3"),
    ("PATCH", "/api/v1/accounts/eu1/", {"linkedUserId": "u1@t1.example"}, "OO333"),
    ("POST", "/api/v1/accounts/ta2/api-keys/", {"name": "k-{p}"}, "O4443"),
    ("PATCH", "/api/v1/accounts/ta1/api-keys/1/", {"name": "crm-{p}"}, "OO443"),  # ta1's "crm" key
    ("PATCH", "/api/v1/accounts/ta2/api-keys/1/", {"name": "x-{p}"}, "44443"),  # not ta2's key
    # deletes last: each principal has its own victim
    ("DELETE", f"{G1}/users/del-{{p}}@t1.example/", None, "OOO43"),
    ("DELETE", "/api/v1/tenants/t2/groups/g1/users/del-{p}@t2.example/", None, "O4443"),
    ("DELETE", "/api/v1/tenants/t1/groups/gdel-{p}/", None, "OO443"),
    # A group or tenant that holds something: 409 unless deleteNonEmpty=1, after the policy.
    ("DELETE", "/api/v1/tenants/t1/groups/gfull-{p}/", None, "99443"),
    ("DELETE", "/api/v1/tenants/t1/groups/gfull-{p}/?deleteNonEmpty=0", None, "99443"),
    ("DELETE", "/api/v1/tenants/t1/groups/gfull-{p}/?deleteNonEmpty=1", None, "OO443"),
    ("DELETE", "/api/v1/tenants/t2/groups/gfull/?deleteNonEmpty=1", None, "O4443"),
    ("DELETE", "/api/v1/tenants/tfull-{p}/", None, "94443"),
    ("DELETE", "/api/v1/tenants/tfull-{p}/?deleteNonEmpty=1", None, "O4443"),
    ("DELETE", "/api/v1/tenants/tr1-{p}/?deleteNonEmpty=1", None, "O44434O"),
]

# Resellers (APIO's /local/resellers/): the system's; a reseller admin reads its own and its admins.
LOCAL = "/api/v1/local/resellers"
RESELLER_ROWS: list[tuple[str, str, Any, str]] = [
    ("GET", f"{LOCAL}/", None, "OOOO3OO"),
    ("GET", f"{LOCAL}/R1/", None, "O44434O"),
    ("GET", f"{LOCAL}/R2/", None, "O444344"),
    ("GET", f"{LOCAL}/R1/admins/", None, "O44434O"),
    ("GET", f"{LOCAL}/R2/admins/", None, "O444344"),
    ("POST", f"{LOCAL}/", {"name": "n-{p}"}, "O333333"),
    ("POST", f"{LOCAL}/", {"name": "R1"}, "9333333"),  # taken: 409, as APIO's ALREADY_EXISTS
    ("PUT", f"{LOCAL}/R1/", {"externalName": "by {p}"}, "O444343"),
    ("PUT", f"{LOCAL}/R2/", {"externalName": "by {p}"}, "O444344"),
    ("POST", f"{LOCAL}/R1/admins/", {"username": "r1adm-{p}", "password": PASSWORD}, "O444343"),
    ("POST", f"{LOCAL}/R2/admins/", {"username": "r2adm-{p}", "password": PASSWORD}, "O444344"),
    (
        "POST",
        "/api/v1/accounts/",
        {"username": "rx-{p}", "password": PASSWORD, "role": "reseller_admin", "resellerId": "R1"},
        "O44434" + "3",
    ),
    ("DELETE", f"{LOCAL}/R2/", None, "9444344"),  # owns t2: 409 without deleteNonEmpty
    ("DELETE", f"{LOCAL}/rdel-{{p}}/", None, "O444344"),
]


DIGIT = {short: str(n) for n, short in enumerate(SHORT.values(), 1)}  # {n}: for phone numbers


def _fill(value: Any, p: str) -> Any:
    if isinstance(value, str):
        return value.replace("{p}", p).replace("{n}", DIGIT[p])
    if isinstance(value, dict):
        return {k: _fill(v, p) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, p) for v in value]
    return value


def _all_codes(codes: str) -> str:
    """Five codes: the tenant key as the tenant admin; six: the reseller admin as the tenant admin."""
    while len(codes) < len(PRINCIPALS):
        codes += codes[1]
    return codes


def _beyond_reseller(rows: list[tuple[str, str, Any, str]]) -> list[tuple[str, str, Any, str]]:
    """Rows of areas a reseller admin does not reach (campaigns, calls, webhooks...): 403. Teams
    and their rosters are account administration: there it is its tenants' admin."""
    return [
        (m, path, body, codes if "/teams/" in path else _all_codes(codes)[:-1] + "3")
        for m, path, body, codes in rows
    ]


def test_role_operation_tenant_matrix(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    add_resellers(api, world)
    for short in SHORT.values():
        make_user(api, "t1", "g1", f"del-{short}@t1.example")
        make_user(api, "t2", "g1", f"del-{short}@t2.example")
        make_group(api, "t1", f"gdel-{short}")
        make_group(api, "t1", f"gfull-{short}")
        make_user(api, "t1", f"gfull-{short}", f"full-{short}@t1.example")
        make_tenant(api, f"tfull-{short}")
        make_group(api, f"tfull-{short}", "g")
        make_tenant(api, f"tr1-{short}", resellerId="R1")
        make_group(api, f"tr1-{short}", "g")
        created(api.post("/api/v1/local/resellers/", json={"name": f"rdel-{short}"}))
    make_group(api, "t2", "gfull")
    make_user(api, "t2", "gfull", "full@t2.example")
    missing = api.get("/api/v1/tenants/no-such-tenant/", headers=world.headers["system"])
    assert missing.status_code == 404
    # Noojee's 404 is its envelope: compared with a campaign that does not exist.
    missing_noojee = api.post(f"{NOOJEE}/insertLeadFast?fTemplateId=999999&fCampaignId=999999", json=[])
    assert missing_noojee.status_code == 404
    failures = []
    rows = MATRIX + RESELLER_ROWS + _beyond_reseller(_contact_centre_rows(api)) + _tenant_key_rows(api)
    for method, path, body, codes in rows:
        codes = _all_codes(codes)
        for principal, code in zip(PRINCIPALS, codes, strict=True):
            p = SHORT[principal]
            response = api.request(
                method,
                _fill(path, p).replace("{{p}}", p),
                json=_fill(body, p),
                headers=world.headers[principal],
            )
            got = response.status_code
            # X: past the policy, then refused for the object's state (409), e.g. nothing to stop.
            ok = {
                "O": 200 <= got < 300,
                "X": 200 <= got < 300 or got == 409,
                "3": got == 403,
                "4": got == 404,
                "9": got == 409,
            }[code]
            noojee = "/rest/" in path  # Noojee's prefixes and aliases
            plain = missing_noojee if noojee else missing
            if ok and code == "4":
                ok = (
                    response.content == plain.content
                    and response.headers["content-type"] == plain.headers["content-type"]
                )
            if ok and code == "3":
                text = "Message" if noojee else "detail"
                ok = response.json()[text] != plain.json()[text]
            if not ok:
                failures.append(
                    f"{principal:13} {method:6} {path} expected {code} got {got}: {response.text[:120]}"
                )
    assert not failures, "\n".join(failures)


def _contact_centre_rows(api: TestClient) -> list[tuple[str, str, Any, str]]:
    """Team A (with eu1) owns template TA; TN has no team; t2 has its own. The user key is the
    t1 tenant admin's, so it sees what a tenant admin sees, on campaign endpoints only."""
    created(api.post("/api/v1/tenants/t1/teams/", json={"name": "A"}))
    created(api.post("/api/v1/tenants/t1/teams/A/members/", json={"username": "eu1"}), 200)
    created(api.post("/api/v1/tenants/t1/teams/", json={"name": "M"}))
    created(api.post("/api/v1/tenants/t2/teams/", json={"name": "B"}))
    for short in SHORT.values():  # a membership of its own for each principal to remove
        make_account(api, f"m-{short}", "user", "t1", "g2")
        created(api.post("/api/v1/tenants/t1/teams/M/members/", json={"username": f"m-{short}"}), 200)
    ids = {}
    for tenant, name, team in (("t1", "TA", "A"), ("t1", "TN", None), ("t2", "T2", None)):
        template = created(
            api.post(f"/api/v1/tenants/{tenant}/campaign-templates/", json={"name": name, "team": team})
        )
        ids[name] = template["id"]
        ids[f"c{name}"] = created(
            api.post(
                f"/api/v1/tenants/{tenant}/campaigns/",
                json={"name": f"c{name}", "templateId": template["id"]},
            )
        )["id"]
    t1, t2 = "/api/v1/tenants/t1", "/api/v1/tenants/t2"
    lead = {"leads": [{"externalId": "x-{p}"}]}
    # A live call in each tenant, on an extension no principal owns (t1: 103, t2: 101).
    call = {
        tenant: dial(api, extenOrUniqueId=ext, number="0390001234", tenantId=tenant)
        for tenant, ext in (("t1", "103"), ("t2", "101"))
    }
    cm = "/servicemanager/rest/CallManagementAPI"
    # A campaign call of team A on extension 102: eu1 sees it as a team-mate, but is not its agent.
    team_call = dial(api, extenOrUniqueId="102", number="0390001234", tenantId="t1", campaignId=ids["cTA"])
    # An allocation in each campaign (rows without phone fields are refused; the batch is named).
    for tenant, name in (("t1", "TA"), ("t1", "TN"), ("t2", "T2")):
        path = f"/api/v1/tenants/{tenant}/campaigns/{ids[f'c{name}']}/allocations/"
        created(
            api.post(path.replace("allocations", "leads"), json={"leads": [{}], "allocationName": "B"}), 200
        )
        ids[f"a{name}"] = created(api.get(path), 200)["allocations"][0]["id"]
    ra = "/servicemanager/rest/RecordingAPI"
    # Webhooks (a closed loopback port: deliveries fail at once, nothing leaves the host).
    hook = {
        tenant: created(
            api.post(
                "/api/v1/webhooks/",
                json={"url": f"{CLOSED_HOOK}/hook", "eventTypes": ["call.*"], "tenantId": tenant},
            )
        )["id"]
        for tenant in ("t1", "t2")
    }
    wh = "/api/v1/webhooks"
    return [
        # Webhooks: administrators, each its own tenant's; never a user key or a lesser role.
        ("GET", f"{wh}/", None, "OO333"),
        ("GET", f"{wh}/{hook['t1']}/", None, "OO333"),
        ("GET", f"{wh}/{hook['t2']}/", None, "O4333"),
        ("POST", f"{wh}/", {"url": f"{CLOSED_HOOK}/{{p}}", "eventTypes": ["lead.*"]}, "OO333"),
        ("POST", f"{wh}/", {"url": f"{CLOSED_HOOK}/{{p}}", "eventTypes": ["*"], "tenantId": "t2"}, "O4333"),
        ("PATCH", f"{wh}/{hook['t1']}/", {"description": "d-{p}"}, "OO333"),
        ("PATCH", f"{wh}/{hook['t2']}/", {"description": "d-{p}"}, "O4333"),
        ("POST", f"{wh}/{hook['t1']}/test/", None, "OO333"),
        ("POST", f"{wh}/{hook['t2']}/test/", None, "O4333"),
        ("POST", f"{wh}/{hook['t2']}/rotate-secret/", None, "O4333"),
        ("GET", f"{wh}/{hook['t1']}/deliveries/", None, "OO333"),
        ("GET", f"{wh}/{hook['t2']}/deliveries/", None, "O4333"),
        ("DELETE", f"{wh}/999999/", None, "44333"),
        # subscribe: the global key and tenant keys, in their tenant (seed 000 names it as what a
        # user key may not reach). A tenant key's bare extension is its tenant's.
        ("POST", f"{cm}/subscribe?exten=103&tenantId=t1&timeOut=0", None, "O3333O"),
        ("POST", f"{cm}/subscribe?exten=101&tenantId=t2&timeOut=0", None, "O33334"),
        ("POST", f"{cm}/subscribe?exten=103&timeOut=0", None, "O3333O"),
        # Calls: the tenant's for its admins; another's extension is invisible to the rest.
        ("GET", "/api/v1/calls/", None, "OOOOO"),
        ("GET", f"/api/v1/calls/{call['t1']}/", None, "OO44O"),
        ("GET", f"/api/v1/calls/{call['t2']}/", None, "O4444"),
        ("POST", "/api/v1/calls/", {"extension": "103", "number": "0390001234"}, "OO33O"),
        ("POST", f"/api/v1/calls/{call['t1']}/recording/pause/", None, "XX44X"),
        ("POST", f"/api/v1/calls/{call['t2']}/recording/pause/", None, "X4444"),
        ("POST", f"{cm}/stop?extenOrUniqueId={call['t1']}", None, "XX44X"),
        ("POST", f"{cm}/stop?extenOrUniqueId={call['t2']}", None, "X4444"),
        ("POST", f"{cm}/start?extenOrUniqueId={call['t2']}", None, "X4444"),
        ("POST", f"{cm}/pause?extenOrUniqueId={call['t2']}", None, "X4444"),
        ("POST", f"{cm}/resume?extenOrUniqueId={call['t2']}", None, "X4444"),
        # answer: found and checked as for a hang-up (the calls are connected: 409 past the policy)
        ("POST", f"{cm}/answer?uniqueId={call['t1']}", None, "XX44X"),
        ("POST", f"{cm}/answer?uniqueId={call['t2']}", None, "X4444"),
        ("POST", f"{cm}/answer?exten=SIP/101&tenantId=t2", None, "X4444"),
        ("POST", f"/api/v1/calls/{call['t1']}/answer/", None, "XX44X"),
        ("POST", f"/api/v1/calls/{call['t2']}/answer/", None, "X4444"),
        ("POST", "/servicemanager/rest/RecordingAPI/retrieveMetaData?tag=x", None, "OOOOO"),
        ("GET", "/api/v1/recordings/999999/file/", None, "44444"),
        # The simulator is for administrators (403 before any lookup), the call must be visible.
        ("POST", f"/api/v1/simulator/calls/{call['t2']}/answer/", None, "O4334"),
        ("POST", f"{cm}/hangup?extenOrUniqueId={call['t1']}", None, "OX44X"),
        # A call is acted on by its agent and the tenant's admins; seeing it is not enough (403).
        ("POST", f"{cm}/start?extenOrUniqueId={team_call}", None, "XX43X"),
        ("POST", f"/api/v1/calls/{team_call}/recording/stop/", None, "XX43X"),
        ("POST", f"/api/v1/calls/{team_call}/answer/", None, "XX43X"),
        ("POST", f"{cm}/hangup?extenOrUniqueId={team_call}", None, "XX43X"),
        ("POST", f"/api/v1/calls/{call['t2']}/hangup/", None, "O4444"),
        ("POST", f"{cm}/dial?extenOrUniqueId=103&number=0390001234&tenantId=t1", None, "OO33O"),
        (
            "POST",
            f"/servicemanager/rest/RecordingAPI/retrieveMetaDataByUniqueId?uniqueId={call['t1']}",
            None,
            "OOOOO",
        ),
        ("GET", "/api/v1/recordings/", None, "OOOOO"),
        ("GET", "/api/v1/recordings/999999/", None, "44444"),
        ("GET", f"{t1}/dialling-policy/", None, "OO33O"),
        ("GET", f"{t2}/dialling-policy/", None, "O4444"),
        (
            "PUT",
            f"{t1}/dialling-policy/",
            {"allowed": ["0\\d+", "\\d{3}"], "maxConcurrentCalls": 50},
            "OO33O",
        ),
        ("POST", "/api/v1/simulator/calls/", {"to": "103", "from": "0390009999", "tenantId": "t1"}, "OO33O"),
        # Leads follow their campaign, for every credential that sees it; the rows' own codes
        # (here: no phone fields) do not change the HTTP status.
        ("POST", f"{NOOJEE}/insertLeadFast?fTemplateId={ids['TA']}&fCampaignId={ids['cTA']}", [{}], "OO4OO"),
        ("POST", f"{NOOJEE}/insertLeadFast?fTemplateId={ids['TN']}&fCampaignId={ids['cTN']}", [{}], "OO44O"),
        ("POST", f"{NOOJEE}/insertLeadFast?fTemplateId={ids['T2']}&fCampaignId={ids['cT2']}", [{}], "O4444"),
        # The template must be the campaign's: otherwise "not found", as for a missing one.
        ("POST", f"{NOOJEE}/insertLeadFast?fTemplateId={ids['TN']}&fCampaignId={ids['cTA']}", [{}], "44444"),
        ("POST", f"{NOOJEE}/updateLeadFast?fTemplateId={ids['TA']}&fCampaignId={ids['cTA']}", [{}], "OO4OO"),
        ("POST", f"{NOOJEE}/updateLeadFast?fTemplateId={ids['T2']}&fCampaignId={ids['cT2']}", [{}], "O4444"),
        ("GET", f"{t1}/campaigns/{ids['cTA']}/leads/", None, "OO4OO"),
        ("GET", f"{t1}/campaigns/{ids['cTN']}/leads/", None, "OO44O"),
        ("GET", f"{t2}/campaigns/{ids['cT2']}/leads/", None, "O4444"),
        ("POST", f"{t1}/campaigns/{ids['cTA']}/leads/", lead, "OO4OO"),
        ("POST", f"{t1}/campaigns/{ids['cTN']}/leads/", lead, "OO44O"),
        ("POST", f"{t2}/campaigns/{ids['cT2']}/leads/", lead, "O4444"),
        ("GET", f"{t1}/campaigns/{ids['cTA']}/leads/999999/", None, "44444"),
        ("PATCH", f"{t2}/campaigns/{ids['cT2']}/leads/999999/", {"priority": 5}, "44444"),
        ("DELETE", f"{t2}/campaigns/{ids['cT2']}/leads/999999/", None, "44444"),
        # The do-not-call list is the tenant's, kept by its administrators (the user key is a
        # tenant admin's).
        ("GET", f"{t1}/dnc/", None, "OO33O"),
        ("GET", f"{t2}/dnc/", None, "O4444"),
        ("POST", f"{t1}/dnc/", {"number": "+61 3 9000 000{n}"}, "OO33O"),
        ("POST", f"{t2}/dnc/", {"number": "+61 3 9000 000{n}"}, "O4444"),
        ("DELETE", f"{t1}/dnc/+6139000000{{n}}/", None, "OO33O"),
        # Allocations follow their campaign; one of another campaign is "not found".
        ("GET", f"{t1}/campaigns/{ids['cTA']}/allocations/", None, "OO4OO"),
        ("GET", f"{t1}/campaigns/{ids['cTN']}/allocations/", None, "OO44O"),
        ("GET", f"{t2}/campaigns/{ids['cT2']}/allocations/", None, "O4444"),
        ("GET", f"{t1}/campaigns/{ids['cTA']}/allocations/{ids['aTA']}/", None, "OO4OO"),
        ("GET", f"{t1}/campaigns/{ids['cTN']}/allocations/{ids['aTN']}/", None, "OO44O"),
        ("GET", f"{t2}/campaigns/{ids['cT2']}/allocations/{ids['aT2']}/", None, "O4444"),
        ("GET", f"{t1}/campaigns/{ids['cTA']}/allocations/{ids['aT2']}/", None, "44444"),
        # RecordingAPI's hour list and a leg's audio; its aliases answer as the main prefix.
        ("POST", f"{ra}/retrieveMetaDataByHour?date=2026/01/01&hour=3", None, "OOOOO"),
        ("POST", f"{ra}/retrieveRecording?recordingId=999999", None, "44444"),
        ("POST", "/njadmin/rest/RecordingAPI/retrieveMetaData?tag=x", None, "OOOOO"),
        ("POST", "/rest/RecordingAPI/retrieveMetaDataByHour?date=2026/01/01&hour=3", None, "OOOOO"),
        # Noojee CampaignAPI: every credential gets 200 with its own view (tested in detail elsewhere).
        ("POST", f"{NOOJEE}/getAllocationList", None, "OOOOO"),
        ("POST", f"{NOOJEE}/getAllocationList?fCampaignId={ids['cT2']}", None, "OOOOO"),
        ("POST", f"{NOOJEE}/getCallRecordList", None, "OOOOO"),
        (
            "POST",
            f"{NOOJEE}/getCallRecordList?campaignId={ids['cTA']}&allocationId={ids['aTA']}",
            None,
            "OOOOO",
        ),
        ("POST", "/servicemanager/rest/CampaignAPI/getCampaignList", None, "OOOOO"),
        ("POST", "/servicemanager/rest/CampaignAPI/getCampaignTemplateList", None, "OOOOO"),
        ("GET", f"{t1}/teams/", None, "OOOO3"),
        ("POST", f"{t1}/teams/", {"name": "n-{p}"}, "OO333"),
        ("POST", f"{t1}/teams/M/members/", {"username": "ta1"}, "OO333"),
        # Rosters: read as the team, edited as its membership; who is on shift, as getCampaignList
        # sees teams (members see their own teams: eu1 is in A, ga1 is not).
        ("GET", f"{t1}/teams/A/roster/", None, "OO443"),
        ("GET", f"{t2}/teams/B/roster/", None, "O4443"),
        ("PUT", f"{t1}/teams/A/roster/", {"members": [{"username": "eu1"}]}, "OO333"),
        ("PUT", f"{t2}/teams/B/roster/", {"members": []}, "O4443"),
        ("GET", f"{t1}/teams/A/roster/overrides/", None, "OO443"),
        (
            "POST",
            f"{t1}/teams/A/roster/overrides/",
            {"username": "eu1", "start": "2026-12-07T09:00:00Z", "end": "2026-12-07T10:00:00Z"},
            "OO333",
        ),
        ("DELETE", f"{t1}/teams/A/roster/overrides/999999/", None, "44333"),
        ("GET", f"{t1}/teams/A/roster/on-shift/", None, "OO4O3"),
        ("GET", f"{t2}/teams/B/roster/on-shift/", None, "O4443"),
        ("POST", "/servicemanager/rest/rosterApi/getActiveRosters?teamName=A&tenantId=t1", None, "OO4OO"),
        ("POST", "/servicemanager/rest/rosterApi/getActiveRosters?teamName=B&tenantId=t2", None, "O4444"),
        ("POST", "/servicemanager/rest/rosterApi/getActiveRosters?teamName=B", None, "O4444"),
        # The host's figures: the global key (and tenant keys); no user key, no lesser login.
        ("POST", "/servicemanager/rest/systemHealth/test", None, "O3333O"),
        ("GET", f"{t1}/campaign-templates/", None, "OOOOO"),
        ("GET", f"{t1}/campaign-templates/{ids['TA']}/", None, "OO4OO"),
        ("GET", f"{t1}/campaign-templates/{ids['TN']}/", None, "OO44O"),
        ("GET", f"{t2}/campaign-templates/{ids['T2']}/", None, "O4444"),
        ("GET", f"{t1}/campaigns/", None, "OOOOO"),
        ("GET", f"{t1}/campaigns/{ids['cTA']}/", None, "OO4OO"),
        ("GET", f"{t1}/campaigns/{ids['cTN']}/", None, "OO44O"),
        ("GET", f"{t2}/campaigns/{ids['cT2']}/", None, "O4444"),
        ("POST", f"{t1}/campaigns/", {"name": "c-{p}", "templateId": ids["TA"]}, "OO33O"),
        # Managing campaigns is for administrators: 403 whether or not the campaign is visible.
        ("PATCH", f"{t1}/campaigns/{ids['cTA']}/", {"status": "paused"}, "OO33O"),
        ("PATCH", f"{t2}/campaigns/{ids['cT2']}/", {"status": "paused"}, "O4444"),
        ("PATCH", f"{t1}/campaign-templates/{ids['TN']}/", {"dialMode": "progressive"}, "OO33O"),
        ("DELETE", f"{t1}/teams/M/members/m-{{p}}/", None, "OO333"),
    ]


def _tenant_key_rows(api: TestClient) -> list[tuple[str, str, Any, str]]:
    """A tenant's keys: the system's and its admins' (tenant keys included); another tenant's are
    not found, as missing ones. Revoking twice and rotating a rotated key (in its grace) succeed."""
    t1 = {name: created(api.post(f"{TK}/", json={"name": name}))["keyId"] for name in ("a", "rot", "del")}
    t2 = created(api.post("/api/v1/tenants/t2/tenant-keys/", json={"name": "other"}))["keyId"]
    t2k = "/api/v1/tenants/t2/tenant-keys"
    rows: list[tuple[str, str, Any, str]] = [
        ("GET", f"{TK}/", None, "OO333O"),
        ("GET", f"{t2k}/", None, "O44434"),
        ("POST", f"{TK}/", {"name": "k-{p}"}, "OO333O"),
        ("POST", f"{t2k}/", {"name": "k-{p}"}, "O44434"),
        ("GET", f"{TK}/{t1['a']}/", None, "OO333O"),
        ("GET", f"{t2k}/{t2}/", None, "O44434"),
        ("GET", f"{TK}/{t2}/", None, "443334"),  # t2's key under t1's path: not found
        ("PATCH", f"{TK}/{t1['a']}/", {"name": "n-{p}"}, "OO333O"),
        ("PATCH", f"{t2k}/{t2}/", {"name": "n-{p}"}, "O44434"),
        ("POST", f"{t2k}/{t2}/rotate/", {"graceSeconds": 60}, "O44434"),
        ("DELETE", f"{t2k}/{t2}/", None, "O44434"),
        ("POST", f"{TK}/{t1['rot']}/rotate/", {"graceSeconds": 60}, "OO333O"),
        ("DELETE", f"{TK}/{t1['del']}/", None, "OO333O"),
    ]
    return rows


def test_lists_show_exactly_what_each_principal_may_see(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    add_resellers(api, world)

    def ids(principal: str, path: str, key: str) -> set[str]:
        response = api.get(path, headers=world.headers[principal])
        assert response.status_code == 200, response.text
        body = response.json()
        items = items_of(body, path)
        assert body["total"] == len(items)
        return {item[key] for item in items}

    assert ids("system", "/api/v1/tenants/", "tenantId") == {"t1", "t2"}
    assert ids("tenant_admin", "/api/v1/tenants/", "tenantId") == {"t1"}
    assert ids("user", "/api/v1/tenants/", "tenantId") == {"t1"}
    assert ids("tenant_admin", "/api/v1/tenants/t1/groups/", "groupId") == {"g1", "g2"}
    assert ids("group_admin", "/api/v1/tenants/t1/groups/", "groupId") == {"g1"}
    assert ids("user", "/api/v1/tenants/t1/groups/", "groupId") == {"g1"}
    assert ids("group_admin", f"{G1}/users/", "userId") == {"u1@t1.example", "u2@t1.example"}
    assert ids("user", f"{G1}/users/", "userId") == {"u1@t1.example"}
    search = "/api/v1/tenants/t1/search/users/"
    assert ids("tenant_admin", search, "userId") == {"u1@t1.example", "u2@t1.example", "u3@t1.example"}
    assert ids("group_admin", search, "userId") == {"u1@t1.example", "u2@t1.example"}
    assert ids("user", search, "userId") == {"u1@t1.example"}
    assert ids("group_admin", "/api/v1/tenants/t1/search/groups/", "groupId") == {"g1"}
    everywhere = "/api/v1/search/users/"
    assert ids("system", everywhere, "userId") == {
        "u1@t1.example",
        "u2@t1.example",
        "u3@t1.example",
        "u4@t2.example",
    }
    assert ids("tenant_admin", everywhere, "userId") == {"u1@t1.example", "u2@t1.example", "u3@t1.example"}
    assert ids("group_admin", everywhere, "userId") == {"u1@t1.example", "u2@t1.example"}
    assert ids("user", everywhere, "userId") == {"u1@t1.example"}
    assert ids("tenant_admin", "/api/v1/search/groups/?insensitiveTenantIdEquals=t2", "groupId") == set()
    assert ids("user", f"{G1}/services/ivrs/", "serviceUserId") == set()
    assert ids("group_admin", f"{G1}/services/ivrs/", "serviceUserId") == {"ivr@t1.example"}
    assert ids("tenant_admin", "/api/v1/accounts/", "username") == {"ta1", "ga1", "eu1"}
    assert ids("group_admin", "/api/v1/accounts/", "username") == {"ga1", "eu1"}
    assert ids("user", "/api/v1/accounts/", "username") == {"eu1"}
    assert ids("system", "/api/v1/accounts/", "username") >= {"admin", "ta1", "ga1", "eu1", "ta2", "ra1"}
    # ra1, R1's admin: R1's tenant t1 and all in it, never R2's t2; itself among R1's admins.
    assert ids("reseller_admin", "/api/v1/tenants/", "tenantId") == {"t1"}
    assert ids("reseller_admin", "/api/v1/tenants/t1/groups/", "groupId") == {"g1", "g2"}
    assert ids("reseller_admin", f"{G1}/users/", "userId") == {"u1@t1.example", "u2@t1.example"}
    assert ids("reseller_admin", "/api/v1/accounts/", "username") == {"ta1", "ga1", "eu1", "ra1"}
    assert ids("reseller_admin", "/api/v1/local/resellers/", "name") == {"R1"}
    assert ids("tenant_admin", "/api/v1/local/resellers/", "name") == set()
    assert ids("system", "/api/v1/local/resellers/", "name") == {"R1", "R2"}
    assert ids("reseller_admin", "/api/v1/local/resellers/R1/admins/", "username") == {"ra1"}


def test_an_apio_session_acts_as_its_account(api: TestClient, global_key: str, anonymous: TestClient) -> None:
    """The session cookie of APIO's login is the account's credential: every read of the matrix
    answers it as it answers the account's token; a change needs its CSRF header; logout ends it."""
    build_world(api, global_key)
    missing = api.get("/api/v1/tenants/no-such-tenant/")
    failures = []
    for principal, username in (("tenant_admin", "ta1"), ("group_admin", "ga1"), ("user", "eu1")):
        anonymous.cookies.clear()
        signed_in = anonymous.post("/api/v1/login/", json={"username": username, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        csrf = {"X-CSRFToken": anonymous.cookies["csrftoken"]}
        column = PRINCIPALS.index(principal)
        for method, path, _body, codes in MATRIX:
            if method != "GET":
                continue
            response = anonymous.get(_fill(path, SHORT[principal]))
            got, code = response.status_code, codes[column]
            ok = {"O": 200 <= got < 300, "3": got == 403, "4": got == 404}[code]
            if ok and code == "4":
                ok = response.content == missing.content
            if not ok:
                failures.append(f"{username:4} GET {path} expected {code} got {got}: {response.text[:120]}")
        renamed = anonymous.patch("/api/v1/tenants/t1/", json={"name": f"by {username}"}, headers=csrf)
        assert renamed.status_code == (200 if principal == "tenant_admin" else 403), renamed.text
        assert anonymous.post("/api/v1/logout/", headers=csrf).status_code == 204
        assert anonymous.get("/api/v1/tenants/t1/").status_code == 401
    assert not failures, "\n".join(failures)
