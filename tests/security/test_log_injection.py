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


def test_the_formatter_writes_the_standard_time_text() -> None:
    # Its time text is built once per second: records within and across seconds read as the stdlib's.
    from switchboard.logs import _Formatter

    layout = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"
    standard, ours = logging.Formatter(layout), _Formatter(layout)
    for created in [1_700_000_000 + step * 0.37 for step in range(40)]:
        record = logging.LogRecord("switchboard.access", logging.INFO, __file__, 1, "m %s", ("a",), None)
        record.created, record.msecs = created, int((created % 1) * 1000)
        assert ours.format(record) == standard.format(record)
