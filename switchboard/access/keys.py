"""API key format: kind prefix, 190 random bits, CRC32 checksum; only SHA-256 digests are stored."""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from enum import StrEnum

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RANDOM_CHARS = 32  # 32 base62 characters = 190 bits of entropy
_CHECKSUM_CHARS = 6  # CRC32 in base62, as GitHub's token format does


class KeyKind(StrEnum):
    GLOBAL = "sbg"
    USER = "sbu"
    TOKEN = "sbt"  # noqa: S105 -- a prefix, not a secret: login tokens share the key format
    WEBHOOK_SECRET = "sbw"  # noqa: S105 -- signing secrets too, so scanners and redaction know them
    TENANT = "sbn"  # a tenant's own global key (a Noojee customer's "global key")


KEY_PATTERN = re.compile(r"\bsb[gutwn]_[0-9A-Za-z]{38}\b")


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_CHARS)


def generate_key(kind: KeyKind) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))
    return f"{kind.value}_{body}{_checksum(body)}"


def is_well_formed(key: str) -> bool:
    """True when the key has a known prefix and a valid checksum: cheap rejection of noise."""
    if len(key) != 4 + _RANDOM_CHARS + _CHECKSUM_CHARS or not KEY_PATTERN.fullmatch(key):
        return False
    body, check = key[4 : 4 + _RANDOM_CHARS], key[4 + _RANDOM_CHARS :]
    return secrets.compare_digest(_checksum(body), check)


def key_kind(key: str) -> KeyKind:
    return KeyKind(key[:3])


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The part of a key that may be shown and logged to identify it (never enough to use it)."""
    return key[:10]
