"""The secrets scan itself: it finds each kind of secret it is meant to find, and nothing else."""

from __future__ import annotations

import logging

from switchboard.access.keys import KeyKind, generate_key
from tests.support.secrets_scan import SCAN, Scan, find_secrets


def test_the_scan_finds_every_key_kind_and_recorded_values_only() -> None:
    keys = [generate_key(kind) for kind in KeyKind]
    line = "GET /x?apiKey=" + " and ".join(keys)
    assert list(find_secrets(line)) == keys
    # A look-alike with a wrong checksum is noise, not a secret.
    forged = keys[0][:-1] + ("A" if keys[0][-1] != "A" else "B")
    assert list(find_secrets(f"token {forged}")) == []
    assert list(find_secrets("password: correct horse battery staple", {"correct horse battery staple"})) == [
        "correct horse battery staple"
    ]
    scan = Scan()
    scan.record("short")  # too short to search for without matching by chance
    scan.record("00000000")  # too few distinct characters: also a phone number or a name
    scan.record("a-long-password")
    scan.search_bytes("file", b"\x00 sbg_ " + keys[1].encode() + b" a-long-password 00000000")
    assert len(scan.hits) == 2


def test_log_lines_are_scanned_after_redaction() -> None:
    key = generate_key(KeyKind.USER)
    before = (SCAN.log_records, len(SCAN.hits))
    # Redaction runs first, as in production: a key the code logs by mistake is scrubbed.
    logging.getLogger("switchboard.access").warning("presented %s", key)
    assert SCAN.log_records == before[0] + 1
    assert len(SCAN.hits) == before[1]
    # A recorded password has no format to redact: logging it is a hit.
    SCAN.record("an unrelated test secret, logged by mistake")
    logging.getLogger("switchboard.access").warning(
        "password was %s", "an unrelated test secret, logged by mistake"
    )
    assert len(SCAN.hits) == before[1] + 1
    del SCAN.hits[-1]  # this test's own, deliberate leak
    SCAN.recorded.discard("an unrelated test secret, logged by mistake")
