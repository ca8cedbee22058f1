"""Console passwords, hashed with argon2id (argon2-cffi's recommended parameters).

``verify`` takes the stored hash or None: for an unknown email it still checks the password against a
dummy hash, so a sign-in takes as long whether the email exists or not and its timing does not tell
which emails have accounts. ``needs_rehash`` says when a stored hash was made with other parameters
(an older argon2-cffi default), so the store can replace it while it has the password in hand.

Hashing is slow on purpose (tens of milliseconds of CPU): async callers run these in a thread.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; None (no such user) costs the same and is False."""
    try:
        matches = _HASHER.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    """A hash of no one's password, made once (on the first unknown email) with the current parameters."""
    return _HASHER.hash("no user has this password")
