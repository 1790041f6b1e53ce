"""The end-of-run summary (tests/support/run_summary.py): parts counted, a skipped half shown NOT RUN."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.support.run_summary import (
    PARTS_PROPERTY,
    everything_required,
    missing_required,
    parts_of_report,
    summarise,
)

ROOT = Path(__file__).resolve().parents[1]


def report(outcome: str, parts: str = "", reason: str = "") -> Any:
    """What the terminal reporter keeps of a test's report (the fields the summary reads)."""
    return SimpleNamespace(
        nodeid="tests/test_x.py::test_x",
        skipped=outcome == "skipped",
        longrepr=("tests/test_x.py", 1, f"Skipped: {reason}") if outcome == "skipped" else None,
        user_properties=[("other", "x"), (PARTS_PROPERTY, parts)],
    )


def test_a_report_counts_in_its_tests_parts_and_in_the_one_its_skip_reason_names() -> None:
    assert parts_of_report(report("passed", "sqlite,browser")) == ["sqlite", "browser"]
    assert parts_of_report(report("passed", "postgresql,load")) == ["postgresql", "load"]
    assert parts_of_report(report("passed")) == ["other"]
    # A PostgreSQL-only test (or a module) skipped without a server counts in the PostgreSQL half.
    assert parts_of_report(report("skipped", "", "no PostgreSQL: not set")) == ["postgresql"]
    assert parts_of_report(report("skipped", "", "no browser: no chromium")) == ["browser", "other"]
    assert parts_of_report(report("skipped", "", "something else")) == ["other"]


def test_a_half_that_only_skipped_is_not_run_with_its_reason() -> None:
    stats = {
        "passed": [report("passed", "sqlite")] * 3 + [report("passed")],
        "failed": [report("failed", "sqlite,browser")],
        "skipped": [report("skipped", "postgresql", "no PostgreSQL: no server")] * 3
        + [report("skipped", "sqlite", "not on SQLite")],
        "": [report("passed", "sqlite")],  # a passed set-up: not an outcome of its own
    }
    lines = [part.line() for part in summarise(stats)]
    assert lines == [
        "SQLite: 3 passed, 1 failed, 1 skipped",
        "PostgreSQL: NOT RUN: no PostgreSQL: no server",
        "browser: 1 failed",
        "without a database: 1 passed",
    ]
    assert [part.name for part in missing_required(summarise(stats))] == ["postgresql"]


def test_a_half_with_one_test_run_is_not_missing() -> None:
    stats = {
        "passed": [report("passed", "postgresql")],
        "skipped": [report("skipped", "postgresql", "no PostgreSQL: no server")],
    }
    assert missing_required(summarise(stats)) == []
    assert summarise(stats)[0].line() == "PostgreSQL: 1 passed, 1 skipped"


def test_everything_is_required_in_ci_or_when_asked() -> None:
    assert everything_required({"CI": "true"})
    assert everything_required({"SWITCHBOARD_REQUIRE_ALL": "1"})
    assert not everything_required({})
    assert not everything_required({"CI": "", "SWITCHBOARD_REQUIRE_ALL": "0"})


SUITE = """
import pytest

@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    if request.param == "postgresql":
        pytest.skip("no PostgreSQL: none here")
    return request.param

@pytest.fixture
def browser():
    return "chromium"

def test_on_each_engine(database_url):
    pass

@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_in_the_browser(database_url, browser):
    pass

def test_without_a_database():
    pass

@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request):
    if request.param == "postgresql":
        pytest.skip("no PostgreSQL: none here")
    return request.param

def test_on_an_engine_under_another_name(empty_database):
    pass
"""


def run_suite(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """The plugin on a small suite, in two xdist workers (the reports reach the controller)."""
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(SUITE))
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "SWITCHBOARD_REQUIRE_ALL")}
    env |= {"PYTHONPATH": str(ROOT), **environ}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.support.run_summary",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_under_xdist_the_summary_names_what_ran_and_ci_fails_on_a_missing_half(tmp_path: Path) -> None:
    relaxed = run_suite(tmp_path)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    summary = relaxed.stdout.split("what ran")[1]
    assert "SQLite: 3 passed\n" in summary  # the engine parameter under another name counts too
    assert "PostgreSQL: NOT RUN: no PostgreSQL: none here\n" in summary
    assert "browser: 1 passed\n" in summary
    assert "without a database: 1 passed\n" in summary

    required = run_suite(tmp_path, CI="true")
    assert required.returncode == 1, required.stdout + required.stderr
    assert "FAILED: PostgreSQL did not run" in required.stdout
