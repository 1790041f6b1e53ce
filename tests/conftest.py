"""Fixtures: a fresh migrated database per test on SQLite and PostgreSQL, the app, and clients."""

from __future__ import annotations

import gc
import itertools
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from switchboard.db.engine import Database, sync_url
from switchboard.db.migrate import upgrade
from switchboard.settings import Settings
from switchboard.system.bootstrap import initialise
from switchboard.tables import Base
from tests.support.clients import initialise_cheaply, make_client
from tests.support.postgres import scratch_postgres_database

pytest_plugins = [
    "tests.support.secrets_scan",  # no secret in clear in logs or databases, after all tests
    "tests.support.examples",  # what the documentation's examples ran, in the terminal summary
    "tests.support.run_summary",  # what ran on each database, in the browser, under load, and what could not
]

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


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
    from tests.support import secrets_scan  # registered as a plugin above, so imported by now

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
        # Test worlds subscribe webhooks to a closed loopback port (CLOSED_HOOK): the operator's
        # explicit opt-in lets them be created; deliveries are refused by the kernel, nothing leaves.
        webhook_allowed_networks=["127.0.0.1/32"],
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
    return initialise_cheaply(db).global_api_key


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


# Every this many tests, the collection after a test looks at every object again (see below).
TESTS_BETWEEN_FULL_COLLECTIONS = 100
_tests_run = itertools.count(1)


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Unclosed connections surface (as ResourceWarning errors) in the test that leaked them.

    What survives the collection is frozen out of the collector's sight (gc.freeze), so the next
    test's collection walks only what that test made: walking everything alive (~200,000 objects
    after the imports, ~900 more each test as SQLAlchemy's caches fill) cost 0.1-0.6 s a test. An
    object that outlives its test and only later becomes garbage (a module fixture's) is found by
    the full collection every hundred tests.
    """
    yield
    if next(_tests_run) % TESTS_BETWEEN_FULL_COLLECTIONS == 0:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture
def empty_db(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A second, empty, initialised database of the same engine (the target of a round trip)."""
    with ExitStack() as stack:
        if database_url.startswith("sqlite"):
            path = tmp_path / "second.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = stack.enter_context(scratch_postgres_database("sb_bulk"))
            upgrade(url)
        database = Database(url)
        stack.callback(database.engine.dispose)
        with database.transaction() as session:
            initialise(session)
        yield database


@pytest.fixture
def pg_system() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database, initialised: (url, global key). Skips without PostgreSQL."""
    with scratch_postgres_database("sb_workers") as url:
        upgrade(url)
        db = Database(url)
        with db.transaction() as session:
            created = initialise(session)
        db.engine.dispose()
        assert created is not None
        yield url, created.global_api_key


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment the `switchboard` command reads, pointed at the test's database; its data folder."""
    data_dir = tmp_path / "cli-data"
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", database_url)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(data_dir))
    return data_dir


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-xdist 3.8 puts a test in its `xdist_group` by rewriting `item._nodeid`, which pytest 9
    no longer reads (a node's id lives in `_id`): without this, --dist loadgroup spreads a group over
    every worker and each runs the group's expensive set-up (the fuzz suite's, twice)."""
    from _pytest.nodeid import coerce_node_id  # what pytest itself parses ids with

    for item in items:
        grouped = item.__dict__.get("_nodeid")
        if isinstance(grouped, str) and grouped != item.nodeid:
            item._id = coerce_node_id(grouped)  # type: ignore[attr-defined]
