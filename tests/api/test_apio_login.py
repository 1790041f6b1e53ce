"""APIO's login (POST /api/v1/login/) as its documentation shows it and its clients use it: the
answer's keys and levels, the session cookie as a credential of the native API, CSRF on unsafe
methods, and logout."""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.testclient import TestClient

from tests.support.access_world import PASSWORD, build_world, make_account
from tests.support.factories import make_group

LOGIN = "/api/v1/login/"
LOGOUT = "/api/v1/logout/"
T1 = "/api/v1/tenants/t1/"
USERS = "/api/v1/tenants/{tenant_id}/groups/{group_id}/users/"


def _cookies(response: object) -> dict[str, SimpleCookie]:
    found = {}
    for header in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        found.update({name: cookie for name in cookie})
    return found


def _sign_in(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post(LOGIN, json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"X-CSRFToken": client.cookies["csrftoken"]}


def test_login_answers_the_documented_shape_with_each_role_s_ids_and_level(
    api: TestClient, global_key: str, anonymous: TestClient
) -> None:
    build_world(api, global_key)
    make_account(api, "root", "system")
    expected = {
        "root": ({}, 16),
        "ta1": ({"tenant_id": "t1"}, 12),
        "ga1": ({"tenant_id": "t1", "group_id": "g1"}, 8),
        "eu1": ({"tenant_id": "t1", "group_id": "g1", "user_id": "u1@t1.example"}, 0),
    }
    for username, (ids, level) in expected.items():
        # provide_basic_profile: deprecated in APIO's documentation, still sent by older clients.
        body = {"username": username, "password": PASSWORD, "provide_basic_profile": True}
        answer = anonymous.post(LOGIN, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"ids": ids, "profile": {"user_level": level, "is_first_login": False}}
        assert answer.headers["cache-control"] == "no-store"
        cookies = _cookies(answer)
        session, csrf = cookies["sessionid"]["sessionid"], cookies["csrftoken"]["csrftoken"]
        assert session["httponly"]
        assert session["secure"]
        assert session["samesite"].lower() == "strict"
        assert session["path"] == "/api/v1/"
        assert 3000 < int(session["max-age"]) <= 3600  # the login token's lifetime
        assert not csrf["httponly"]
        assert csrf["secure"]
        assert csrf["samesite"].lower() == "strict"
        assert csrf.value == answer.headers["x-csrftoken"] != session.value
        assert session.value not in answer.text


def test_a_wrong_name_or_password_is_401_with_no_cookie(
    api: TestClient, global_key: str, anonymous: TestClient
) -> None:
    build_world(api, global_key)
    for body in ({"username": "ta1", "password": "wrong"}, {"username": "nobody", "password": PASSWORD}):
        refused = anonymous.post(LOGIN, json=body)
        assert refused.status_code == 401, refused.text
        assert "set-cookie" not in refused.headers
    assert anonymous.post(LOGIN, json={"username": "ta1"}).status_code == 400
    assert anonymous.get(T1).status_code == 401


def test_the_session_cookie_acts_as_its_account_on_the_native_api_only(
    api: TestClient, global_key: str, anonymous: TestClient
) -> None:
    build_world(api, global_key)
    _sign_in(anonymous, "ga1")
    assert anonymous.get(T1).status_code == 200
    assert anonymous.get("/api/v1/tenants/t1/groups/g1/").status_code == 200
    assert anonymous.get("/api/v1/tenants/t1/groups/g2/").status_code == 404  # a group admin's view
    assert anonymous.get("/api/v1/tenants/t2/").status_code == 404
    # Not a credential of the Noojee surface, nor of the console (which has its own session).
    noojee = anonymous.post("/servicemanager/rest/CampaignAPI/getCampaignList")
    assert noojee.status_code == 401, noojee.text
    assert anonymous.get("/console/", follow_redirects=False).status_code == 303
    # A credential in a header is the client's choice: it acts, the cookie is not looked at.
    system = {"Authorization": f"Bearer {global_key}"}
    assert anonymous.get("/api/v1/tenants/t2/", headers=system).status_code == 200
    # A cookie holding anything but a login token is no credential.
    anonymous.cookies.clear()
    user_key = api.post("/api/v1/accounts/ta1/api-keys/", json={"name": "crm"}).json()["key"]
    for value in (user_key, global_key, "not-a-token"):
        assert anonymous.get(T1, headers={"Cookie": f"sessionid={value}"}).status_code == 401


def test_unsafe_requests_on_the_cookie_need_the_session_s_csrf_header(
    api: TestClient, global_key: str, anonymous: TestClient
) -> None:
    build_world(api, global_key)
    theirs = _sign_in(anonymous, "ta1")  # another session of the same account, replaced below
    mine = _sign_in(anonymous, "ta1")
    session = anonymous.cookies["sessionid"]
    for headers in ({}, {"X-CSRFToken": "0" * 64}, theirs, {"X-CSRFToken": session}):
        refused = anonymous.patch(T1, json={"name": "changed"}, headers=headers)
        assert refused.status_code == 403, (headers, refused.text)
        assert "X-CSRFToken" in refused.json()["detail"]
        assert (
            anonymous.post("/api/v1/tenants/t1/groups/", json={"groupId": "x"}, headers=headers).status_code
            == 403
        )
    assert anonymous.get(T1).json()["name"] == "Tenant t1"
    assert anonymous.patch(T1, json={"name": "changed"}, headers=mine).status_code == 200
    assert (
        anonymous.post("/api/v1/tenants/t1/groups/", json={"groupId": "x"}, headers=mine).status_code == 201
    )
    assert anonymous.delete("/api/v1/tenants/t1/groups/x/", headers=mine).status_code == 204
    assert anonymous.get(T1).json()["name"] == "changed"  # safe methods need no header


def test_logout_ends_the_session_and_clears_its_cookies(
    api: TestClient, global_key: str, anonymous: TestClient
) -> None:
    build_world(api, global_key)
    make_group(api, "t1", "g3")
    csrf = _sign_in(anonymous, "ta1")
    session = anonymous.cookies["sessionid"]
    assert anonymous.post(LOGOUT).status_code == 403  # logging a browser out is a change too
    assert anonymous.get(T1).status_code == 200
    done = anonymous.post(LOGOUT, headers=csrf)
    assert done.status_code == 204, done.text
    cleared = _cookies(done)
    assert cleared["sessionid"]["sessionid"]["max-age"] == "0"
    assert cleared["csrftoken"]["csrftoken"]["max-age"] == "0"
    assert "sessionid" not in anonymous.cookies
    assert anonymous.get(T1).status_code == 401
    # The cookie's value is ended, not just forgotten by this browser: kept, it opens nothing.
    bearer = {"Authorization": f"Bearer {session}"}
    assert anonymous.get(T1, headers=bearer).status_code == 401
    # A key has no session to end.
    assert anonymous.post(LOGOUT, headers={"Authorization": f"Bearer {global_key}"}).status_code == 400


def test_the_openapi_document_shows_login_logout_and_the_directory_s_new_parameters(api: TestClient) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    login = paths["/api/v1/login/"]["post"]
    assert {"200", "400", "401", "429"} <= set(login["responses"])
    assert {"Set-Cookie", "X-CSRFToken"} <= set(login["responses"]["200"]["headers"])
    assert {"204", "401", "403"} <= set(paths["/api/v1/logout/"]["post"]["responses"])
    for path in ("/api/v1/tenants/", "/api/v1/tenants/{tenant_id}/groups/", USERS):
        names = {parameter["name"] for parameter in paths[path]["get"]["parameters"]}
        assert {"externalId1", "externalId2", "externalId3", "externalId4"} <= names, path
    for path in ("/api/v1/tenants/{tenant_id}/", "/api/v1/tenants/{tenant_id}/groups/{group_id}/"):
        delete = paths[path]["delete"]
        assert "409" in delete["responses"], path
        assert "deleteNonEmpty" in {parameter["name"] for parameter in delete["parameters"]}, path
