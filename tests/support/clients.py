"""The app in process: a test client on given settings, and a cheaply initialised database."""

from __future__ import annotations

from starlette.testclient import TestClient

from switchboard.access import passwords
from switchboard.app import create_app
from switchboard.db.engine import Database
from switchboard.settings import Settings
from switchboard.system.bootstrap import Credentials, initialise


def initialise_cheaply(database: Database) -> Credentials:
    """`switchboard init` on an empty database, with cheap password hashing (tests only)."""
    passwords.configure(time_cost=1, memory_kib=64)
    with database.transaction() as session:
        created = initialise(session)
    assert created is not None
    return created


def make_client(settings: Settings, client: tuple[str, int] = ("127.0.0.1", 50000)) -> TestClient:
    return TestClient(create_app(settings), base_url="https://testserver", client=client)
