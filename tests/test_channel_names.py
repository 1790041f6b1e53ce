"""Extensions from channel names as Asterisk writes them, and from Noojee's dial form."""

from __future__ import annotations

import pytest

from switchboard.calls.drivers.base import extension_of_channel
from switchboard.calls.service import parse_extension
from switchboard.errors import BadRequest


@pytest.mark.parametrize(
    ("channel", "extension"),
    [
        ("PJSIP/410-0000002a", "410"),
        ("SIP/410-12FA7B", "410"),
        ("SIP/410", "410"),
        ("Local/410@ami-test-00000001;1", "410"),
        ("PJSIP/trunk", "trunk"),
        ("not a channel", None),
        ("", None),
    ],
)
def test_extension_of_channel(channel: str, extension: str | None) -> None:
    assert extension_of_channel(channel) == extension


@pytest.mark.parametrize(
    ("raw", "extension"), [("410", "410"), (" SIP/410 ", "410"), ("PJSIP/410-0000002a", "410")]
)
def test_parse_extension(raw: str, extension: str) -> None:
    assert parse_extension(raw) == extension


@pytest.mark.parametrize("raw", ["", "abc", "SIP/", "41 0", "PJSIP/trunk"])
def test_parse_extension_refuses(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_extension(raw)
