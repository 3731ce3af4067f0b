"""Password hashing with argon2id (argon2-cffi), imported only when a password is checked."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 8
MAX_LENGTH = 1024


class WeakPassword(ValueError):
    pass


@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    # RFC 9106's second recommended option (64 MiB, 3 passes) fits a 1 GB Lambda comfortably.
    return PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1, type=Type.ID)


def check_policy(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal who exists."""
    return _hasher().hash("tollgate-no-such-user")
