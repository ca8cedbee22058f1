"""Secrets at rest and in flight: Fernet with one key shared by the scheduler (encrypts) and fetcher.

The key comes from ``RECRUIT_SYNC_SECRET_KEY`` (a Fernet key); without it, from a key file created once
at ``$RECRUIT_SYNC_KEY_FILE`` (default ``~/.local/share/recruit-sync/secret.key``, mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


def _key_file() -> Path:
    default = Path.home() / ".local" / "share" / "recruit-sync" / "secret.key"
    return Path(os.environ.get("RECRUIT_SYNC_KEY_FILE", str(default)))


@lru_cache(maxsize=1)
def _key() -> str:
    key = os.environ.get("RECRUIT_SYNC_SECRET_KEY")
    if not key:
        path = _key_file()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        key = path.read_text().strip()
    return key


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    return Fernet(_key().encode())


def derive_key(purpose: str) -> str:
    """A key for ``purpose`` (e.g. signing console sessions), derived from the deployment's secret key,
    so every process of one deployment agrees on it and no second secret has to be configured."""
    return hmac.new(_key().encode(), f"recruit-sync/{purpose}".encode(), hashlib.sha256).hexdigest()


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt a stored secret: RECRUIT_SYNC_SECRET_KEY differs") from None
