"""The operator commands ``user`` and ``token``: straight to the database (``DATABASE_URL``) through
``recruit_sync.accounts``, like ``migrate``, so that the first admin and the first API token can be made
on the server before anyone can sign in or call the API (INTERFACE.md "Access").

Every refusal and every database failure becomes one ``CliError`` line; none carries a password, a hash
or a token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError

from recruit_sync.accounts import store
from recruit_sync.cli.client import CliError
from recruit_sync.contracts.access import NewToken, NewUser, Token, TokenCreated, User
from recruit_sync.contracts.envelope import utc_now
from recruit_sync.contracts.sync_spec import describe_validation_error
from recruit_sync.runtime.settings import Settings

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def valid(model: type[M], **fields: Any) -> M:
    """``model`` of ``fields``; a refusal names the key and the rule (never the value: it may be a
    password)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise CliError(describe_validation_error(exc)) from None


def add_user(new: NewUser) -> User:
    return _on_database(lambda conn: store.add_user(conn, new, utc_now()))


def list_users() -> list[User]:
    return _on_database(store.list_users)


def remove_user(email: str) -> None:
    _on_database(lambda conn: store.remove_user(conn, email))


def create_token(new: NewToken) -> TokenCreated:
    return _on_database(lambda conn: store.create_token(conn, new, utc_now()))


def list_tokens() -> list[Token]:
    return _on_database(store.list_tokens)


def revoke_token(name: str) -> None:
    _on_database(lambda conn: store.revoke_token(conn, name))


def _on_database(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_connected(work, Settings.from_env().database_url))
    except store.AccountError as exc:
        raise CliError(str(exc)) from None
    except (asyncpg.InvalidCatalogNameError, asyncpg.UndefinedTableError) as exc:
        raise CliError(f"{exc}: run 'recruit-sync migrate' first") from None
    except (OSError, asyncpg.PostgresError) as exc:
        # the message, not the DATABASE_URL: that may hold the database password
        raise CliError(f"database: {exc}") from None


async def _connected(work: Callable[[asyncpg.Connection], Awaitable[T]], dsn: str) -> T:
    conn = await asyncpg.connect(dsn)
    try:
        return await work(conn)
    finally:
        await conn.close()
