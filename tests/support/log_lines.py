"""Log records as the production handler writes them: through its redacting filter, one line each."""

from __future__ import annotations

import pytest

from switchboard.logs import RedactingFilter


def emitted(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each captured record's line after the production filter (redaction, escaped controls)."""
    scrub = RedactingFilter()
    lines = []
    for record in caplog.records:
        scrub.filter(record)
        lines.append(record.getMessage())
    return lines
