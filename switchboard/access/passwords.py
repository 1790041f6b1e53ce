"""Password hashing with argon2id at OWASP's parameters (19 MiB, 2 iterations, 1 lane)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username does not exist, so both failures take the same time.
_decoy_hash = _hasher.hash(secrets.token_urlsafe(16))


def configure(time_cost: int, memory_kib: int) -> None:
    """Set the cost for new hashes and for the decoy (tests use cheap parameters)."""
    global _hasher, _decoy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    _decoy_hash = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash: None verifies against the decoy and fails."""
    try:
        return _hasher.verify(password_hash or _decoy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)
