"""Control characters in logged values: escaped, so no request can forge or split a log line."""

from __future__ import annotations

import logging
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient

from tests.support.log_lines import emitted

FORGED = '127.0.0.1 "GET /api/v1/admin/ HTTP/1.1" 200 0.1ms'
# Newline, carriage return, escape (terminal sequences), NUL-adjacent controls, DEL, C1 NEL, Unicode
# line and paragraph separators: each starts a new line, or rewrites one, in some log viewer.
CONTROLS = ["%0a", "%0d", "%0d%0a", "%1b[2K", "%7f", "%c2%85", "%e2%80%a8", "%e2%80%a9", "%09"]
LINE_BREAKERS = set("\n\r\x1b\x7f\x85\u2028\u2029\t") | {chr(c) for c in range(32)}


@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_in_the_path_cannot_forge_an_access_log_line(
    api: TestClient, caplog: pytest.LogCaptureFixture, control: str
) -> None:
    with caplog.at_level(logging.INFO, logger="switchboard.access"):
        response = api.get(f"/api/v1/tenants/x{control}{FORGED.replace(' ', '%20')}{control}/")
    assert response.status_code in (400, 404), response.text
    lines = [line for line in emitted(caplog) if "/api/v1/tenants/x" in line]
    assert len(lines) == 1, lines
    assert not LINE_BREAKERS & set(lines[0]), repr(lines[0])
    # Escaped, not dropped: the log still shows what was sent.
    assert all(repr(char)[1:-1] in lines[0] for char in unquote(control)), repr(lines[0])


def test_every_logged_value_is_escaped_whatever_logger_emitted_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="switchboard.anything"):
        logging.getLogger("switchboard.anything").warning("user sent %r and %s", "a", "b\nFORGED\r\x1b[31m")
    (line,) = emitted(caplog)
    assert line == "user sent 'a' and b\\nFORGED\\r\\x1b[31m"
