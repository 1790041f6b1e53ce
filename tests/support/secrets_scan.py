"""A pytest plugin: after the whole suite, no API key, login token, webhook secret, password or
console session secret may be found in clear in any log line, the audit log or a database dump.

- Keys, login tokens and webhook secrets share one format (prefix, random part, CRC32 checksum),
  so any well-formed match is a real secret: the scan is exact, with no list to keep. Text is
  searched as it is and percent-decoded (a key sent as sbu%5F... is still a key).
- Passwords and console session secrets have no format: every one the suite creates is recorded
  (argon2's hash() and the console's new_secret() are wrapped) and searched for verbatim.
- Log lines: every record of the `switchboard` loggers at INFO, through the production
  formatter and redaction filter; the log files (*.log) of server processes, under pytest's temp
  folder.
- Databases: every SQLite file the suite leaves in its temp folder, read raw (free pages too);
  PostgreSQL's rows as text before each test's reset (the audit log is a table in both).

Under pytest-xdist each worker writes what it found to the run's temp folder; the controller
scans the files and fails the run on any hit."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import Connection

from switchboard.access.keys import KEY_PATTERN, is_well_formed
from switchboard.console import sessions
from switchboard.logs import RedactingFilter

# Shorter recorded values would match by chance (a password "secret1" in a sentence), and so
# would values of few distinct characters: the fuzzer's password "00000000" is also the phone
# number, name and username it sends (the PostgreSQL fuzz soak matched it in its own rows).
MIN_RECORDED = 8
MIN_DISTINCT = 4
BYTES_KEY = re.compile(KEY_PATTERN.pattern.encode())
REPORT = "secrets-scan-{}.json"
LARGEST_FILE = 64 << 20  # bigger files are benchmark data, not written by the app under test


@dataclass
class Scan:
    """What this process recorded and found."""

    recorded: set[str] = field(default_factory=set)
    hits: list[str] = field(default_factory=list)
    log_records: int = 0
    database_dumps: int = 0
    files: int = 0

    def record(self, secret: str) -> None:
        if len(secret) >= MIN_RECORDED and len(set(secret)) >= MIN_DISTINCT:
            self.recorded.add(secret)

    def search(self, where: str, content: str) -> None:
        for found in find_secrets(content, self.recorded):
            self.hits.append(f"{where}: {found[:8]}... in clear")

    def search_bytes(self, where: str, content: bytes) -> None:
        for match in BYTES_KEY.finditer(content):
            if is_well_formed(match.group().decode()):
                self.hits.append(f"{where}: {match.group()[:8].decode()}... in clear")
        for secret in self.recorded:
            if secret.encode() in content:
                self.hits.append(f"{where}: {secret[:3]}... (a recorded password or session secret) in clear")


def find_secrets(content: str, recorded: Iterable[str] = ()) -> Iterator[str]:
    """Every secret in `content`: well-formed keys of any kind, and any of the recorded values."""
    # A key percent-encoded (sbu%5F..., %73bu_...) is as usable as one in clear: decoded too.
    found = [match.group() for match in KEY_PATTERN.finditer(content)]
    found += [match.group() for match in KEY_PATTERN.finditer(unquote(unquote(content)))]
    yield from (key for key in dict.fromkeys(found) if is_well_formed(key))
    for secret in recorded:
        if secret in content:
            yield secret


SCAN = Scan()


class _ScanningHandler(logging.Handler):
    """Formats each record as production does (redaction included) and scans the line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"))
        self.addFilter(RedactingFilter())
        self.test = "-"

    def emit(self, record: logging.LogRecord) -> None:
        SCAN.log_records += 1
        SCAN.search(f"log line from {record.name} during {self.test}", self.format(record))


_HANDLER = _ScanningHandler()


def dump_postgres(conn: Connection, tables: Iterable[str]) -> None:
    """Every row of every table, as text, scanned (one round trip); called before each reset, so
    the rows are those the last test run left."""
    where = f"left by {_HANDLER.test}"
    union = " UNION ALL ".join(f"SELECT '{name}', CAST(t AS text) FROM \"{name}\" AS t" for name in tables)
    by_table: dict[str, list[str]] = {}
    for table, row in conn.execute(text(union)):
        by_table.setdefault(table, []).append(row)
    SCAN.database_dumps += 1
    for table, rows in by_table.items():  # a hit names its table, so it can be traced
        SCAN.search(f"PostgreSQL rows of {table} {where}", "\n".join(rows))


def _wrap_secret_makers() -> None:
    original_hash = PasswordHasher.hash

    def recording_hash(self: PasswordHasher, password: str | bytes, *args: Any, **kwargs: Any) -> str:
        SCAN.record(password if isinstance(password, str) else password.decode(errors="replace"))
        return original_hash(self, password, *args, **kwargs)

    PasswordHasher.hash = recording_hash  # type: ignore[method-assign]
    original_secret = sessions.new_secret

    def recording_secret() -> str:
        secret = original_secret()
        SCAN.record(secret)
        return secret

    sessions.new_secret = recording_secret


def _attach_handler() -> None:
    # configure_logging() (the CLI's serve, run in process by some tests) replaces the root's
    # handlers; the scanner goes back after every test.
    app_logger = logging.getLogger("switchboard")
    if _HANDLER not in app_logger.handlers:
        app_logger.addHandler(_HANDLER)
    if app_logger.level == logging.NOTSET or app_logger.level > logging.INFO:
        app_logger.setLevel(logging.INFO)


def _report_folder(config: pytest.Config) -> Path:
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    return base.parent if hasattr(config, "workerinput") else base


def pytest_configure(config: pytest.Config) -> None:
    _wrap_secret_makers()
    _attach_handler()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    _HANDLER.test = item.nodeid
    _attach_handler()
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    folder = _report_folder(config)
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker is not None:
        report = {
            "recorded": sorted(SCAN.recorded),
            "hits": SCAN.hits,
            "log_records": SCAN.log_records,
            "database_dumps": SCAN.database_dumps,
        }
        (folder / REPORT.format(worker)).write_text(json.dumps(report))
        return
    for report_file in folder.glob(REPORT.format("*")):
        report = json.loads(report_file.read_text())
        SCAN.recorded.update(report["recorded"])
        SCAN.hits.extend(report["hits"])
        SCAN.log_records += report["log_records"]
        SCAN.database_dumps += report["database_dumps"]
    for path in _files_under(folder):
        SCAN.files += 1
        SCAN.search_bytes(str(path.relative_to(folder)), path.read_bytes())
    summary = (
        f"secrets scan: {SCAN.log_records} log lines, {SCAN.database_dumps} PostgreSQL dumps, "
        f"{SCAN.files} files (logs, SQLite databases), {len(SCAN.recorded)} recorded passwords and "
        f"session secrets: {len(SCAN.hits)} found in clear"
    )
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(summary)
        for hit in SCAN.hits[:50]:
            reporter.write_line(f"  {hit}", red=True)
    if SCAN.hits and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# What the application writes: log files and SQLite databases (with their journals). Not the
# tests' own inputs: a load script or an import file may hold a credential the way a client does.
SCANNED_FILES = re.compile(r".*\.(log|db|db-wal|db-journal|sqlite)\Z")


def _files_under(folder: Path) -> Iterator[Path]:
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if not SCANNED_FILES.match(name) or path.is_symlink():
                continue
            if path.stat().st_size <= LARGEST_FILE:
                yield path
