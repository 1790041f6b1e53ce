"""Browser-test plumbing shared by every console browser test: Debian's Chromium through Playwright,
a real `switchboard serve` over HTTPS on the test's database, screenshots, and signing in.

A module using it calls `require_browser()` at import, so the tests skip with a visible reason on a
machine without Chromium (CI installs it, so there they always run)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from switchboard.settings import Settings
from tests.support.access_world import PASSWORD
from tests.support.server import free_port

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


# The pages' database work runs on both engines in the TestClient page tests; in the browser one
# engine is enough (each browser test costs seconds of a real server and Chromium).
ONE_ENGINE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def require_browser() -> None:
    """Skip the calling test module, saying why, when Playwright or Chromium is missing."""
    pytest.importorskip("playwright.sync_api", reason="no browser: Playwright for Python is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no browser: {CHROMIUM} is missing (apt-get install chromium; make test installs it as root)",
            allow_module_level=True,
        )


@pytest.fixture
def server(settings: Settings, global_key: str) -> Iterator[str]:
    """`switchboard serve` over HTTPS (self-signed) on the test's database."""
    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": settings.effective_database_url,
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir),
        "SWITCHBOARD_LOG_LEVEL": "warning",
        "SWITCHBOARD_SIM_RING_SECONDS": "0",
        "SWITCHBOARD_SIM_ANSWER_SECONDS": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(
                        process.stderr.read().decode() if process.stderr else "server died"
                    ) from None
                time.sleep(0.1)
        yield f"https://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(context: Any, base: str, username: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/console/")
    assert page.url.endswith("/console/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/")
    return page


def dial(browser: Any, server: str, global_key: str, extension: str, **fields: Any) -> str:
    """A call through the server's own API: its simulated PBX is the one the page controls.
    `fields`: more of the dial's body (callerId, record, campaignId, ...)."""
    context = browser.new_context(ignore_https_errors=True)  # no console session in it
    try:
        answer = context.request.post(
            f"{server}/api/v1/calls/",
            data={"extension": extension, "number": "0390001234", "tenantId": "t1", **fields},
            headers={"Authorization": f"Bearer {global_key}"},
        )
        assert answer.status == 201, answer.text()
        unique_id: str = answer.json()["uniqueId"]
    finally:
        context.close()
    return unique_id
