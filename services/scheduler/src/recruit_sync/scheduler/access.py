"""Access operations (docs/adr/0018): who an API token or a console user is, for the API's every
request, and the management of users and tokens (``recruit_sync.accounts``, schema ``accounts``).

Refusals: 401 for an unknown or revoked token, a wrong sign-in and a removed user (one text for a wrong
email and a wrong password, so the answer does not tell which emails exist); 409 for a taken email or
token name and for removing the last admin; 404 for removing what does not exist. Logs name users and
tokens, never a password, a hash or a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from recruit_sync.accounts import store
from recruit_sync.contracts.access import (
    NewToken,
    NewUser,
    Principal,
    Removed,
    SignIn,
    Token,
    TokenCheck,
    TokenCreated,
    TokenRef,
    User,
    UserRef,
)
from recruit_sync.contracts.resources import NoArguments
from recruit_sync.runtime.rpc import RpcError
from recruit_sync.scheduler.deps import Deps

log = structlog.get_logger()

WRONG_SIGN_IN = "the email or password is wrong"

_STATUS: dict[type[store.AccountError], int] = {
    store.NotAnAddress: 400,
    store.Missing: 404,
    store.Taken: 409,
    store.LastAdmin: 409,
}


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except store.AccountError as exc:
        raise RpcError(str(exc), _STATUS[type(exc)]) from None


def _known(principal: Principal | None, refusal: str) -> Principal:
    if principal is None:
        raise RpcError(refusal, 401)
    return principal


async def principal_of_token(deps: Deps, check: TokenCheck) -> Principal:
    async with deps.pool.acquire() as conn:
        principal = await store.token_principal(conn, check.token_hash, deps.clock())
    return _known(principal, "the token is unknown or revoked")


async def sign_in(deps: Deps, request: SignIn) -> Principal:
    async with deps.pool.acquire() as conn:
        principal = await store.check_sign_in(conn, request.email, request.password)
    return _known(principal, WRONG_SIGN_IN)


async def principal_of_user(deps: Deps, ref: UserRef) -> Principal:
    """A session's user as they are now: a changed role counts at once, a removed user is signed out."""
    async with deps.pool.acquire() as conn:
        principal = await store.user_principal(conn, ref.email)
    return _known(principal, "the user no longer exists")


async def list_users(deps: Deps, _: NoArguments) -> list[User]:
    async with deps.pool.acquire() as conn:
        return await store.list_users(conn)


async def add_user(deps: Deps, new: NewUser) -> User:
    with _refusals():
        async with deps.pool.acquire() as conn:
            user = await store.add_user(conn, new, deps.clock())
    log.info("user added", user=user.email, role=user.role.value)
    return user


async def remove_user(deps: Deps, ref: UserRef) -> Removed:
    with _refusals():
        async with deps.pool.acquire() as conn:
            await store.remove_user(conn, ref.email)
    log.info("user removed", user=ref.email)
    return Removed(removed=True)


async def list_tokens(deps: Deps, _: NoArguments) -> list[Token]:
    async with deps.pool.acquire() as conn:
        return await store.list_tokens(conn)


async def create_token(deps: Deps, new: NewToken) -> TokenCreated:
    with _refusals():
        async with deps.pool.acquire() as conn:
            created = await store.create_token(conn, new, deps.clock())
    log.info("token created", token=created.name, role=created.role.value)
    return created


async def revoke_token(deps: Deps, ref: TokenRef) -> Removed:
    with _refusals():
        async with deps.pool.acquire() as conn:
            await store.revoke_token(conn, ref.name)
    log.info("token revoked", token=ref.name)
    return Removed(removed=True)
