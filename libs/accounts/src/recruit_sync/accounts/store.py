"""The ``accounts`` schema: console users and API tokens (asyncpg).

Every statement names its tables with the schema (``accounts.users``), so any connection can use the
store whatever its search_path: the scheduler's pool, and the CLI's direct connection. Refusals are
``AccountError``s whose message is one line naming the problem; the scheduler turns them into RPC
statuses, the CLI into its error line. Nothing here logs, and nothing returned carries a password, a
password hash or a token, except ``create_token``'s one showing of the new token.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg

from recruit_sync.accounts import passwords
from recruit_sync.accounts.tokens import new_token, token_hash
from recruit_sync.addresses import email_key, normalise
from recruit_sync.contracts.access import NewToken, NewUser, Principal, Role, Token, TokenCreated, User

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

# A token's last use is written at most this often: checking a token is on every API request, and a
# write per request would make reads cost a row lock and a WAL record each.
TOUCH_EVERY = timedelta(minutes=1)


class AccountError(Exception):
    """A refused change; the message names the problem in one line."""


class NotAnAddress(AccountError):
    pass


class Taken(AccountError):
    pass


class Missing(AccountError):
    pass


class LastAdmin(AccountError):
    pass


def _key(email: str) -> str:
    """The key a user is stored and found by (``addresses.email_key``); a blank email finds no one."""
    return email_key(email) or ""


# --- users -------------------------------------------------------------------------------------------


async def add_user(conn: Conn, new: NewUser, now: datetime) -> User:
    if normalise(new.email) is None:
        raise NotAnAddress(f"email: {new.email!r} is not an email address")
    key = _key(new.email)
    password_hash = await asyncio.to_thread(passwords.hash_password, new.password)
    try:
        await conn.execute(
            "INSERT INTO accounts.users (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4)",
            key,
            password_hash,
            new.role.value,
            now,
        )
    except asyncpg.UniqueViolationError:
        raise Taken(f"email: a user {key!r} already exists") from None
    return User(email=key, role=new.role, created_at=now)


async def list_users(conn: Conn) -> list[User]:
    rows = await conn.fetch("SELECT email, role, created_at FROM accounts.users ORDER BY email")
    return [User.model_validate(dict(row)) for row in rows]


async def remove_user(conn: Conn, email: str) -> None:
    """Remove a user, unless it is the last admin: with none left, no one could manage access from the
    console (the operator commands still could, on the server)."""
    key = _key(email)
    async with conn.transaction():
        # Locking every admin row makes two removals of the last two admins wait for each other: the
        # second then sees one admin left and is refused.
        admins = await conn.fetch("SELECT email FROM accounts.users WHERE role = 'admin' FOR UPDATE")
        if [row["email"] for row in admins] == [key]:
            raise LastAdmin(f"{key!r} is the last admin: add another admin before removing it")
        if await conn.execute("DELETE FROM accounts.users WHERE email = $1", key) == "DELETE 0":
            raise Missing(f"no user {key!r}")


async def check_sign_in(conn: Conn, email: str, password: str) -> Principal | None:
    """The user whose email and password these are, or None (whichever of the two is wrong).

    A hash made with older argon2 parameters is replaced while the password is at hand.
    """
    row = await conn.fetchrow(
        "SELECT email, role, password_hash FROM accounts.users WHERE email = $1", _key(email)
    )
    if row is None:
        await asyncio.to_thread(passwords.verify, None, password)  # as slow as a known email's check
        return None
    stored: str = row["password_hash"]
    if not await asyncio.to_thread(passwords.verify, stored, password):
        return None
    if passwords.needs_rehash(stored):
        rehashed = await asyncio.to_thread(passwords.hash_password, password)
        await conn.execute(
            "UPDATE accounts.users SET password_hash = $3 WHERE email = $1 AND password_hash = $2",
            row["email"],
            stored,
            rehashed,
        )
    return Principal(kind="user", name=row["email"], role=Role(row["role"]))


async def user_principal(conn: Conn, email: str) -> Principal | None:
    """Who a console session acts for now: its user's current role, or None once the user is removed."""
    row = await conn.fetchrow("SELECT email, role FROM accounts.users WHERE email = $1", _key(email))
    return None if row is None else Principal(kind="user", name=row["email"], role=Role(row["role"]))


# --- tokens ------------------------------------------------------------------------------------------


async def create_token(conn: Conn, new: NewToken, now: datetime) -> TokenCreated:
    token = new_token()
    try:
        await conn.execute(
            "INSERT INTO accounts.tokens (name, token_hash, role, created_at) VALUES ($1, $2, $3, $4)",
            new.name,
            token_hash(token),
            new.role.value,
            now,
        )
    except asyncpg.UniqueViolationError:
        raise Taken(f"name: a token named {new.name!r} already exists") from None
    return TokenCreated(name=new.name, role=new.role, token=token)


async def list_tokens(conn: Conn) -> list[Token]:
    rows = await conn.fetch("SELECT name, role, created_at, last_used_at FROM accounts.tokens ORDER BY name")
    return [Token.model_validate(dict(row)) for row in rows]


async def revoke_token(conn: Conn, name: str) -> None:
    """Forget the token: its next request is refused, and its name may be used again."""
    if await conn.execute("DELETE FROM accounts.tokens WHERE name = $1", name) == "DELETE 0":
        raise Missing(f"no token named {name!r}")


async def token_principal(conn: Conn, hashed: str, now: datetime) -> Principal | None:
    """The token whose sha256 is ``hashed``, or None (unknown or revoked); notes its use (at most once
    every ``TOUCH_EVERY``) in the same round trip."""
    row = await conn.fetchrow(
        "WITH touched AS ("
        "  UPDATE accounts.tokens SET last_used_at = $2"
        "  WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamptz - $3::interval)"
        ") "
        "SELECT name, role FROM accounts.tokens WHERE token_hash = $1",
        hashed,
        now,
        TOUCH_EVERY,
    )
    return None if row is None else Principal(kind="token", name=row["name"], role=Role(row["role"]))
