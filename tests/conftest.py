"""Fixtures: a fresh migrated database per test on SQLite and PostgreSQL, the app, and clients."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine.url import make_url
from starlette.testclient import TestClient

from switchboard.app import create_app
from switchboard.db.engine import Database, sync_url
from switchboard.db.migrate import upgrade
from switchboard.db.models import Base
from switchboard.settings import Settings
from switchboard.system.bootstrap import initialise

PG_ENV = "SWITCHBOARD_TEST_DATABASE_URL"
ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards (skips without one)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it); running SQLite only")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sync_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL database for this test session, migrated once."""
    with scratch_postgres_database("sb_test") as url:
        upgrade(url)
        yield url


def _truncate_postgres(url: str) -> None:
    engine = create_engine(sync_url(url))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "switchboard.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        trusted_proxies=["10.0.0.0/8"],
        argon2_time_cost=1,  # cheap hashing in tests; production uses OWASP's parameters
        argon2_memory_kib=64,
        sim_ring_seconds=0.0,  # the simulated PBX rings and answers at once in tests
        sim_answer_seconds=0.0,
    )


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def global_key(db: Database) -> str:
    from switchboard.access import passwords

    passwords.configure(time_cost=1, memory_kib=64)
    with db.transaction() as session:
        created = initialise(session)
    assert created is not None
    return created.global_api_key


def make_client(settings: Settings, client: tuple[str, int] = ("127.0.0.1", 50000)) -> TestClient:
    return TestClient(create_app(settings), base_url="https://testserver", client=client)


@pytest.fixture
def anonymous(settings: Settings, global_key: str) -> Iterator[TestClient]:
    """A client with no credential (the system is initialised)."""
    with make_client(settings) as client:
        yield client


@pytest.fixture
def api(settings: Settings, global_key: str) -> Iterator[TestClient]:
    """A client holding the global key."""
    with make_client(settings) as client:
        client.headers["Authorization"] = f"Bearer {global_key}"
        yield client


@pytest.fixture
def settings_fixture(settings: Settings) -> Settings:
    """The settings fixture under a name that does not clash with hypothesis' `settings`."""
    return settings


@pytest.fixture
def sqlite_pristine(database_url: str, sqlite_template: Path) -> Path | None:
    """The migrated, empty SQLite template (for tests that need several fresh databases)."""
    return sqlite_template if database_url.startswith("sqlite") else None


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Unclosed connections surface (as ResourceWarning errors) in the test that leaked them."""
    yield
    import gc

    gc.collect()
