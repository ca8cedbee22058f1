"""API tokens: 256 random bits, shown once, kept only as their sha256.

A fast hash is enough for a random secret of this size (nothing to guess from), and it lets a request's
token be found by an indexed lookup of its hash. The hash is ``contracts.access.token_hash``, the one the
API applies to the bearer token it receives before it asks the scheduler (``TokenCheck``): one
definition, so what is stored and what is looked up cannot drift apart. The ``rs_`` prefix makes a
leaked token recognisable to secret scanners and to people.
"""

from __future__ import annotations

import secrets

from recruit_sync.contracts.access import token_hash

__all__ = ["PREFIX", "new_token", "token_hash"]

PREFIX = "rs_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)
