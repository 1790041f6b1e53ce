"""Fixtures: a fresh migrated database per test on SQLite and PostgreSQL, the app, and clients."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine.url import make_url
from starlette.testclient import TestClient

from switchboard.app import create_app
from switchboard.db.engine import Database, sync_url
from switchboard.db.migrate import upgrade
from switchboard.tables import Base
from switchboard.settings import Settings
from switchboard.system.bootstrap import Credentials, initialise

pytest_plugins = ["tests.security.secrets_scan"]  # no secret in clear in logs or databases, after all tests

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


@pytest.fixture(scope="session")
def postgres_reset(postgres_url: str) -> Iterator[Callable[[], None]]:
    """Empties the session's PostgreSQL database and restarts its sequences, in one round trip.

    DELETE of a few rows costs ~7 ms where TRUNCATE of every table costs ~100-200 ms (it makes new
    files for each table and index), paid by every PostgreSQL test.
    """
    engine = create_engine(sync_url(postgres_url))
    with engine.connect() as conn:
        sequences = conn.execute(
            text(
                "SELECT quote_ident(sequence_schema) || '.' || quote_ident(sequence_name)"
                " FROM information_schema.sequences"
            )
        ).scalars()
        restarts = [f"ALTER SEQUENCE {name} RESTART" for name in sequences]
    from tests.security import secrets_scan  # registered as a plugin above, so imported by now

    tables = [table.name for table in Base.metadata.sorted_tables]
    script = "; ".join([f'DELETE FROM "{name}"' for name in reversed(tables)] + restarts)

    def reset() -> None:
        with engine.begin() as conn:
            secrets_scan.dump_postgres(conn, tables)
            conn.exec_driver_sql(script)

    yield reset
    with engine.connect() as conn:
        secrets_scan.dump_postgres(conn, tables)
    engine.dispose()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "switchboard.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    request.getfixturevalue("postgres_reset")()
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


def initialise_cheaply(database: Database) -> Credentials:
    """`switchboard init` on an empty database, with cheap password hashing (tests only)."""
    from switchboard.access import passwords

    passwords.configure(time_cost=1, memory_kib=64)
    with database.transaction() as session:
        created = initialise(session)
    assert created is not None
    return created


@pytest.fixture
def global_key(db: Database) -> str:
    return initialise_cheaply(db).global_api_key


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
def fresh_database(database_url: str, request: pytest.FixtureRequest) -> Callable[[], str]:
    """Empties the test's database again (a new SQLite file) and returns its URL: one per example."""

    def fresh() -> str:
        if database_url.startswith("sqlite"):
            template: Path = request.getfixturevalue("sqlite_template")
            path = template.parent / f"example-{uuid.uuid4().hex}.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}"
        request.getfixturevalue("postgres_reset")()
        return database_url

    return fresh


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Unclosed connections surface (as ResourceWarning errors) in the test that leaked them."""
    yield
    import gc

    gc.collect()
