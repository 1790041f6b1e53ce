"""Live calls: each account sees the calls the API would list for it, the recording buttons are
the ones call control would accept, each needs the form's token, and a call outside the view
answers exactly like a missing one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world, login, make_account
from tests.support.calls import wait_state
from tests.support.clients import make_client
from tests.support.console import csrf_of, sign_in

CALLS = "/console/calls/"
BUTTON = re.compile(r"aria-label=\"(\w+) recording of call ([0-9.]+)\"")


@pytest.fixture
def console(settings: Settings, global_key: str) -> Iterator[TestClient]:
    """One app for the whole test: the simulated PBX lives in its process, and a newly started
    app hangs up the calls it does not know, so calls are dialled and watched through this one."""
    with make_client(settings) as client:
        yield client


def as_account(console: TestClient, username: str) -> str:
    """Signs the console in as `username` (a fresh session); returns the live calls page."""
    console.cookies.clear()
    assert sign_in(console, username)[0] == 303
    page = console.get(CALLS)
    assert page.status_code == 200, page.text
    return page.text


def dial(console: TestClient, system: dict[str, str], extension: str, tenant: str = "t1") -> str:
    """A connected outbound call from `extension`, through the console's own app."""
    body = {"extension": extension, "number": "0390001234", "tenantId": tenant}
    answer = console.post("/api/v1/calls/", json=body, headers=system)
    assert answer.status_code == 201, answer.text
    unique_id: str = answer.json()["uniqueId"]
    wait_state(console, unique_id, "Connected", system)
    return unique_id


def shown_calls(page: str) -> set[str]:
    return set(re.findall(r'<td data-label="Call"><code>([0-9.]+)</code></td>', page))


def buttons(page: str, unique_id: str) -> list[str]:
    return [action for action, call in BUTTON.findall(page) if call == unique_id]


def recordings(api: TestClient, unique_id: str) -> list[tuple[str, str | None]]:
    items: list[dict[str, Any]] = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()[
        "recordings"
    ]
    return [(item["state"], item["owner"]) for item in items]


def api_live_calls(api: TestClient, headers: dict[str, str]) -> set[str]:
    listed = api.get("/api/v1/calls/", params={"state": "live"}, headers=headers)
    assert listed.status_code == 200, listed.text
    return {call["uniqueId"] for call in listed.json()["calls"]}


def test_each_account_sees_the_live_calls_the_api_lists_for_it(
    api: TestClient, console: TestClient, global_key: str
) -> None:
    world = build_world(api, global_key)
    system = world.headers["system"]
    make_account(api, "root2", "system")
    own = dial(console, system, "101")  # eu1's extension
    other = dial(console, system, "102")
    elsewhere = dial(console, system, "101", "t2")
    ended = dial(console, system, "103")
    assert console.post(f"/api/v1/calls/{ended}/hangup/", headers=system).status_code == 200
    wait_state(console, ended, "Hungup", system)
    expected = {
        "root2": ({own, other, elsewhere}, system),
        "ta1": ({own, other}, world.headers["tenant_admin"]),
        "eu1": ({own}, world.headers["user"]),
        "ta2": ({elsewhere}, {"Authorization": f"Bearer {login(api, 'ta2')}"}),
    }
    for username, (visible, headers) in expected.items():
        page = as_account(console, username)
        assert shown_calls(page) == visible == api_live_calls(api, headers), username
        assert ('<th scope="col">Tenant</th>' in page) == (username == "root2")
    # It reloads itself without JavaScript, unless asked not to.
    assert '<meta http-equiv="refresh" content="10">' in page
    assert "data-auto-refresh" in page
    quiet = console.get(CALLS, params={"refresh": "off"}).text
    assert 'http-equiv="refresh"' not in quiet
    assert "data-auto-refresh" not in quiet
    console.cookies.clear()
    assert console.get(CALLS, follow_redirects=False).headers["location"] == "/console/sign-in"


def test_recording_from_the_page_shows_in_the_api(
    api: TestClient, console: TestClient, global_key: str
) -> None:
    world = build_world(api, global_key)
    system = world.headers["system"]
    unique_id = dial(console, system, "102")
    page = as_account(console, "ta1")
    assert buttons(page, unique_id) == ["Start"]
    assert "not recording" in page
    start = f"/console/calls/{unique_id}/recording/start"
    refused = console.post(start, data={"csrf": "0" * 64})
    assert refused.status_code == 403
    assert recordings(api, unique_id) == []
    token = csrf_of(page)
    started = console.post(start, data={"csrf": token})
    assert started.status_code == 200  # back on the page, after the redirect
    assert recordings(api, unique_id) == [("recording", "ta1")]
    assert buttons(started.text, unique_id) == ["Pause", "Stop"]
    assert 'class="badge badge-recording">recording<' in started.text
    paused = console.post(f"/console/calls/{unique_id}/recording/pause", data={"csrf": token})
    assert recordings(api, unique_id) == [("paused", "ta1")]
    assert buttons(paused.text, unique_id) == ["Resume", "Stop"]
    console.post(f"/console/calls/{unique_id}/recording/resume", data={"csrf": token})
    assert recordings(api, unique_id) == [("recording", "ta1")]
    assert '<p class="notice" role="status">Recording started.</p>' in started.text
    # A button pressed twice (a stale page): the API's refusal, above the list again; nothing changes.
    again = console.post(start, data={"csrf": token})
    assert again.status_code == 409
    assert re.search(r'<p class="error form-problem" role="alert">[^<]*already being recorded', again.text)
    assert "<h1>Live calls</h1>" in again.text
    stopped = console.post(f"/console/calls/{unique_id}/recording/stop", data={"csrf": token})
    assert recordings(api, unique_id) == [("stopped", "ta1")]
    assert buttons(stopped.text, unique_id) == ["Start"]
    # Audited in the console's process (each process buffers its own entries).
    audit = console.get("/api/v1/audit/", params={"principal": "account:ta1"}, headers=system)
    audited = audit.json()["auditEntries"]
    assert f"call:{unique_id} recording stop" in {entry["object"] for entry in audited}


def test_another_accounts_recording_and_another_tenants_call(
    api: TestClient, console: TestClient, global_key: str
) -> None:
    world = build_world(api, global_key)
    system = world.headers["system"]
    unique_id = dial(console, system, "101")  # eu1's extension: eu1 sees the call
    token = csrf_of(as_account(console, "ta1"))
    assert (
        console.post(f"/console/calls/{unique_id}/recording/start", data={"csrf": token}).status_code == 200
    )
    # t2's administrator: t1's call reads exactly like a call that does not exist.
    token = csrf_of(as_account(console, "ta2"))
    for path in ("recording/stop", "recording/start", "hangup"):
        hidden = console.post(f"/console/calls/{unique_id}/{path}", data={"csrf": token})
        missing = console.post(f"/console/calls/1234567.999/{path}", data={"csrf": token})
        assert hidden.status_code == missing.status_code == 404, path
        assert hidden.text == missing.text
    hidden = console.get(f"/console/calls/{unique_id}/hangup")
    missing = console.get("/console/calls/1234567.999/hangup")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text == console.get("/console/calls/not-a-call/hangup").text
    assert unique_id not in hidden.text
    assert recordings(api, unique_id) == [("recording", "ta1")]
    assert wait_state(console, unique_id, "Connected", system)
    # eu1 is the call's agent: it controls every recording on its call, ta1's included.
    page = as_account(console, "eu1")
    assert unique_id in shown_calls(page)
    assert "by ta1" in page
    assert buttons(page, unique_id) == ["Pause", "Stop"]
    stopped = console.post(f"/console/calls/{unique_id}/recording/stop", data={"csrf": csrf_of(page)})
    assert stopped.status_code == 200
    assert recordings(api, unique_id) == [("stopped", "ta1")]


def test_hanging_up_after_confirming(api: TestClient, console: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    system = world.headers["system"]
    unique_id = dial(console, system, "102")
    as_account(console, "ta1")
    confirm = console.get(f"/console/calls/{unique_id}/hangup")
    assert confirm.status_code == 200
    assert f"Hang up call {unique_id}?" in confirm.text
    assert console.post(f"/console/calls/{unique_id}/hangup", data={}).status_code == 403
    wait_state(console, unique_id, "Connected", system)
    done = console.post(f"/console/calls/{unique_id}/hangup", data={"csrf": csrf_of(confirm.text)})
    assert done.status_code == 200
    assert unique_id not in shown_calls(done.text)
    wait_state(console, unique_id, "Hungup", system)
