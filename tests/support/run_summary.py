"""The end-of-run summary: what ran on each database, in the browser and under load, and what could not.

A pytest plugin (registered by tests/conftest.py). Each test is put in its parts when it is collected
(on the xdist workers), carried to the controller in its reports' user properties; tests a whole module
skipped are placed by their skip reason. A part all of whose tests skipped is NOT RUN, with the reason;
when everything must run (CI=true, or SWITCHBOARD_REQUIRE_ALL=1) that fails the run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

PARTS_PROPERTY = "run_summary_parts"

# The parts, in the order the summary lists them, with their names in it.
PARTS = {
    "sqlite": "SQLite",
    "postgresql": "PostgreSQL",
    "browser": "browser",
    "load": "load test",
    "timing": "timing",
    "other": "without a database",
}
# Parts that must have run when everything must (the others are subsets of a database's tests).
REQUIRED = ("sqlite", "postgresql", "browser", "load")

# A skip reason beginning with one of these marks the skipped test (or module) as its part's.
NOT_RUN_PREFIXES = {
    "postgresql": "no PostgreSQL:",
    "browser": "no browser:",
    "load": "no wrk:",
}

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")

# Fixtures that put a test on PostgreSQL without an engine parameter (any parameter whose value is
# an engine's name puts a test on that engine).
POSTGRESQL_FIXTURES = ("pg_system", "postgres_url", "pg_database")
ENGINES = ("sqlite", "postgresql")


def parts_of_item(item: pytest.Item) -> list[str]:
    """The summary's parts a collected test belongs to (a browser test on SQLite is in both)."""
    params: Mapping[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    fixtures: Sequence[str] = getattr(item, "fixturenames", ())
    parts = list(dict.fromkeys(value for value in params.values() if value in ENGINES))
    if not parts and any(name in fixtures for name in POSTGRESQL_FIXTURES):
        parts.append("postgresql")
    if "browser" in fixtures:
        parts.append("browser")
    if item.get_closest_marker("load"):
        parts.append("load")
    if item.get_closest_marker("timing"):
        parts.append("timing")
    return parts


def skip_reason(report: Any) -> str:
    """Why a report skipped, as pytest shows it ('' when it did not)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return ""


def parts_of_report(report: Any) -> list[str]:
    """The parts a report counts in: those of its test, plus the one its skip reason names."""
    parts: list[str] = []
    for name, value in getattr(report, "user_properties", ()):
        if name == PARTS_PROPERTY:
            parts.extend(value.split(",") if value else [])
    if report.skipped:
        reason = skip_reason(report)
        parts += [part for part, prefix in NOT_RUN_PREFIXES.items() if reason.startswith(prefix)]
    if not {"sqlite", "postgresql"} & set(parts):
        parts.append("other")
    return list(dict.fromkeys(parts))


@dataclass
class Part:
    """One part's outcomes and, for its skipped tests, why."""

    name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def not_run(self) -> bool:
        """Every test of the part skipped: the part as a whole did not run."""
        return bool(self.outcomes) and set(self.outcomes) == {"skipped"}

    def line(self) -> str:
        label = PARTS[self.name]
        if self.not_run:
            return f"{label}: NOT RUN: {'; '.join(reason for reason, _ in self.skip_reasons.most_common(2))}"
        counts = ", ".join(f"{self.outcomes[o]} {o}" for o in OUTCOMES if self.outcomes[o])
        return f"{label}: {counts}"


def summarise(stats: Mapping[str, Iterable[Any]]) -> list[Part]:
    """The parts that had tests in this run, from the terminal reporter's reports by outcome."""
    parts = {name: Part(name) for name in PARTS}
    for outcome in OUTCOMES:
        for report in stats.get(outcome, ()):
            if not hasattr(report, "nodeid") or not hasattr(report, "longrepr"):
                continue
            for name in parts_of_report(report):
                parts[name].outcomes[outcome] += 1
                if outcome == "skipped":
                    parts[name].skip_reasons[skip_reason(report)] += 1
    return [part for part in parts.values() if part.outcomes]


def everything_required(environ: Mapping[str, str]) -> bool:
    """CI, or a developer who asked, wants a part that could not run to fail the run."""
    return environ.get("CI", "").lower() == "true" or environ.get("SWITCHBOARD_REQUIRE_ALL") == "1"


def missing_required(parts: Iterable[Part]) -> list[Part]:
    return [part for part in parts if part.name in REQUIRED and part.not_run]


def _stats(config: pytest.Config) -> Mapping[str, Iterable[Any]] | None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller summarises
        return None
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return getattr(reporter, "stats", None)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.user_properties.append((PARTS_PROPERTY, ",".join(parts_of_item(item))))


def pytest_sessionfinish(session: pytest.Session) -> None:
    stats = _stats(session.config)
    if stats is not None and everything_required(os.environ) and missing_required(summarise(stats)):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> Iterator[None]:
    """Last, after pytest's short summary (whose skip list can be long), just above the final counts."""
    yield
    stats = _stats(config)
    parts = summarise(stats) if stats is not None else []
    if not parts:
        return
    terminalreporter.write_sep("=", "what ran")
    for part in parts:
        terminalreporter.write_line(part.line(), red=part.not_run, bold=part.not_run)
    missing = missing_required(parts)
    if missing and everything_required(os.environ):
        names = ", ".join(PARTS[part.name] for part in missing)
        terminalreporter.write_line(
            f"FAILED: {names} did not run, and everything must (CI=true or SWITCHBOARD_REQUIRE_ALL=1)",
            red=True,
            bold=True,
        )
