"""Who may do what (INTERFACE.md "Access"): roles, the principal a request acts as, and the shapes of
the users and API tokens that the scheduler keeps for the API (docs/adr/0018).

Passwords and tokens travel only inward (the API hands a sign-in's password, or a token's hash, to the
scheduler, which keeps only hashes); no answer ever carries a password, a password hash or a token,
except ``TokenCreated``, the one time a new token is shown.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from recruit_sync.contracts.resources import IsoTime


class Role(StrEnum):
    """``admin``: everything, connections, users and tokens included; ``editor``: syncs, runs,
    suppressions, mappings; ``viewer``: reads only."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    def may(self, needed: Role) -> bool:
        """Each role may do what the roles below it may."""
        order = (Role.VIEWER, Role.EDITOR, Role.ADMIN)
        return order.index(self) >= order.index(needed)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Principal(_Answer):
    """Whom a request acts for: a console user (by email) or an API token (by name)."""

    kind: Literal["user", "token"]
    name: str
    role: Role


def token_hash(token: str) -> str:
    """What is kept of an API token and what ``TokenCheck`` carries: its sha256, in hex. (A token is 32
    random bytes, so a fast hash is enough; a password needs argon2.)"""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenCheck(_Request):
    token_hash: str = Field(min_length=64, max_length=64, description="sha256 of the token, hex")


class SignIn(_Request):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024, repr=False)


class UserRef(_Request):
    email: str = Field(min_length=3, max_length=320)


class NewUser(UserRef):
    role: Role
    password: str = Field(min_length=12, max_length=1024, repr=False)


class User(_Answer):
    email: str
    role: Role
    created_at: IsoTime


class TokenRef(_Request):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class NewToken(TokenRef):
    role: Role


class Token(_Answer):
    """A token as listed: never the token itself (only its hash is kept)."""

    name: str
    role: Role
    created_at: IsoTime
    last_used_at: IsoTime | None


class TokenCreated(_Answer):
    """``token create --json``: the only time the token is shown."""

    name: str
    role: Role
    token: str = Field(repr=False)


class Removed(_Answer):
    removed: bool
