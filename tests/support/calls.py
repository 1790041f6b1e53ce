"""Call control through Noojee's API on the simulated PBX: dialling, and waiting for a call's state
or for its events' sequence numbers."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import exists, select
from starlette.testclient import TestClient

from switchboard.db.engine import Database
from switchboard.events.models import Event

CM = "/servicemanager/rest/CallManagementAPI"


def wait_state(
    api: TestClient, unique_id: str, state: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The simulated PBX moves on its own tasks: poll until the call is in `state`."""
    deadline = time.monotonic() + 5
    while True:
        call = api.get(f"/api/v1/calls/{unique_id}/", headers=headers or {}).json()
        if call.get("state") == state or time.monotonic() > deadline:
            assert call.get("state") == state, call
            return call
        time.sleep(0.01)


def noojee(api: TestClient, method: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return api.post(f"{CM}/{method}", params=params, headers=headers or {})


def dial(api: TestClient, headers: dict[str, str] | None = None, **params: Any) -> str:
    answer = noojee(api, "dial", headers, **params)
    assert answer.status_code == 200, answer.text
    unique_id: str = answer.json()["SessionID"]
    wait_state(api, unique_id, "Connected", headers)
    return unique_id


def wait_numbered(db: Database) -> None:
    """Wait until every committed event has its sequence number. The sequencer numbers them just
    after their commit, in the app's loop: a call's state can be read before its event has one."""
    deadline = time.monotonic() + 5
    while True:
        with db.transaction() as session:
            pending = session.scalar(select(exists().where(Event.seq.is_(None))))
        if not pending:
            return
        assert time.monotonic() < deadline, "events were left unnumbered"
        time.sleep(0.01)
