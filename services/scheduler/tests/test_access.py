"""The access operations (users, tokens, and who a request acts for) through RPC dispatch, on a real
database; and ``python -m recruit_sync.scheduler migrate`` making the ``accounts`` schema."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from recruit_sync import accounts
from recruit_sync.accounts.tokens import token_hash
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import (
    NewToken,
    NewUser,
    Principal,
    Role,
    SignIn,
    TokenCheck,
    TokenRef,
    UserRef,
)
from recruit_sync.contracts.resources import NoArguments
from recruit_sync.runtime.db import migrate

from .conftest import START, Scheduler

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
Logs = list[MutableMapping[str, Any]]
NOTHING = NoArguments()


@pytest.fixture
async def access(db_scheduler: Scheduler, database_url: str) -> Scheduler:
    """The scheduler's pool (search_path ``scheduler``) serving the ``accounts`` schema beside it."""
    await migrate(database_url, accounts.SCHEMA, accounts.MIGRATIONS_DIR)
    return db_scheduler


@pytest.fixture
def logs() -> Iterator[Logs]:
    with capture_logs() as captured:
        yield captured


async def add(scheduler: Scheduler, email: str, role: Role = Role.ADMIN) -> None:
    await scheduler.call(rpc.USER_ADD, NewUser(email=email, role=role, password=PASSWORD))


def nothing_secret_in(said: list[bytes], logs: Logs, *secrets: str) -> None:
    """None of the replies ``said`` and no log line carries any of ``secrets``."""
    text = b"".join(said).decode() + repr(logs)
    for secret in secrets:
        assert secret not in text


async def test_users_are_added_listed_and_signed_in(access: Scheduler, logs: Logs) -> None:
    added = await access.call(
        rpc.USER_ADD, NewUser(email="Jane@Example.com", role=Role.EDITOR, password=PASSWORD)
    )
    await add(access, "boss@example.com")

    assert (added.email, added.role, added.created_at) == ("jane@example.com", Role.EDITOR, START)
    assert [(u.email, u.role) for u in await access.call(rpc.USER_LIST, NOTHING)] == [
        ("boss@example.com", Role.ADMIN),
        ("jane@example.com", Role.EDITOR),
    ]
    signed_in = await access.call(rpc.AUTH_SIGN_IN, SignIn(email="JANE@example.com", password=PASSWORD))
    assert signed_in == Principal(kind="user", name="jane@example.com", role=Role.EDITOR)
    assert await access.call(rpc.AUTH_USER, UserRef(email="jane@example.com")) == signed_in
    nothing_secret_in(access.replies, logs, PASSWORD, "$argon2")


async def test_a_wrong_password_and_an_unknown_email_are_refused_alike(access: Scheduler, logs: Logs) -> None:
    await add(access, "jane@example.com")

    wrong_password = await access.refused(
        rpc.AUTH_SIGN_IN, SignIn(email="jane@example.com", password="not the password"), 401
    )
    unknown_email = await access.refused(
        rpc.AUTH_SIGN_IN, SignIn(email="john@example.com", password=PASSWORD), 401
    )
    assert wrong_password == unknown_email == "the email or password is wrong"
    nothing_secret_in(access.replies, logs, PASSWORD, "not the password")


async def test_a_removed_user_is_signed_out(access: Scheduler) -> None:
    await add(access, "boss@example.com")
    await add(access, "jane@example.com", Role.VIEWER)

    assert (await access.call(rpc.USER_REMOVE, UserRef(email="Jane@example.com"))).removed
    jane = UserRef(email="jane@example.com")
    assert await access.refused(rpc.AUTH_USER, jane, 401) == "the user no longer exists"
    await access.refused(rpc.AUTH_SIGN_IN, SignIn(email="jane@example.com", password=PASSWORD), 401)
    assert await access.refused(rpc.USER_REMOVE, jane, 404) == "no user 'jane@example.com'"


async def test_user_changes_that_are_refused(access: Scheduler, logs: Logs) -> None:
    await add(access, "boss@example.com")

    taken = await access.refused(
        rpc.USER_ADD, NewUser(email="BOSS@example.com", role=Role.VIEWER, password=PASSWORD), 409
    )
    assert taken == "email: a user 'boss@example.com' already exists"
    last = await access.refused(rpc.USER_REMOVE, UserRef(email="boss@example.com"), 409)
    assert "is the last admin" in last
    not_an_address = await access.refused(
        rpc.USER_ADD, NewUser(email="boss@aol", role=Role.VIEWER, password=PASSWORD), 400
    )
    assert not_an_address == "email: 'boss@aol' is not an email address"
    short = "only eleven"
    refused = await access.refused(
        rpc.USER_ADD, {"email": "jane@example.com", "role": "viewer", "password": short}, 400
    )
    assert refused.startswith("password: ") and "12" in refused
    nothing_secret_in(access.replies, logs, short)


async def test_a_token_is_created_checked_listed_and_revoked(access: Scheduler, logs: Logs) -> None:
    created = await access.call(rpc.TOKEN_CREATE, NewToken(name="ci", role=Role.EDITOR))
    check = TokenCheck(token_hash=token_hash(created.token))

    assert (created.name, created.role) == ("ci", Role.EDITOR)
    assert await access.call(rpc.AUTH_TOKEN, check) == Principal(kind="token", name="ci", role=Role.EDITOR)
    [listed] = await access.call(rpc.TOKEN_LIST, NOTHING)
    assert (listed.name, listed.role, listed.created_at, listed.last_used_at) == (
        "ci",
        Role.EDITOR,
        START,
        START,
    )

    assert (await access.call(rpc.TOKEN_REVOKE, TokenRef(name="ci"))).removed
    assert await access.refused(rpc.AUTH_TOKEN, check, 401) == "the token is unknown or revoked"
    assert await access.call(rpc.TOKEN_LIST, NOTHING) == []

    # the token is in TOKEN_CREATE's reply, the first, and in no other reply nor in a log line
    assert created.token.encode() in access.replies[0]
    nothing_secret_in(access.replies[1:], logs, created.token, check.token_hash)
    assert [(log["event"], log.get("token")) for log in logs] == [
        ("token created", "ci"),
        ("token revoked", "ci"),
    ]


async def test_token_changes_that_are_refused(access: Scheduler) -> None:
    await access.call(rpc.TOKEN_CREATE, NewToken(name="ci", role=Role.VIEWER))

    assert await access.refused(rpc.TOKEN_CREATE, NewToken(name="ci", role=Role.ADMIN), 409) == (
        "name: a token named 'ci' already exists"
    )
    assert await access.refused(rpc.TOKEN_REVOKE, TokenRef(name="gone"), 404) == "no token named 'gone'"
    assert await access.refused(rpc.AUTH_TOKEN, TokenCheck(token_hash=token_hash("rs_guess")), 401)
    assert (await access.refused(rpc.TOKEN_CREATE, {"name": "no spaces", "role": "viewer"}, 400)).startswith(
        "name: "
    )


async def test_the_scheduler_migrate_command_makes_the_accounts_schema(
    database_url: str, amqp_url: str
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "recruit_sync.scheduler", "migrate", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    conn = await asyncpg.connect(database_url)
    try:
        versions: dict[str, Any] = {
            schema: await conn.fetchval(f"SELECT array_agg(version) FROM {schema}.schema_migrations")
            for schema in ("scheduler", "accounts")
        }
    finally:
        await conn.close()
    assert versions["accounts"] == ["0001_init"]
    assert "0001_init" in versions["scheduler"]
