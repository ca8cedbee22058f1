"""The accounts store on a real database (schema ``accounts`` migrated as ``migrate`` does it)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from argon2 import PasswordHasher

from recruit_sync.accounts import MIGRATIONS_DIR, SCHEMA, passwords, store
from recruit_sync.accounts.tokens import token_hash
from recruit_sync.contracts.access import NewToken, NewUser, Principal, Role
from recruit_sync.runtime.db import migrate

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection whose search_path is not ``accounts``: the store must name its schema."""
    await migrate(database_url, SCHEMA, MIGRATIONS_DIR)
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


def user(email: str, role: Role = Role.EDITOR, password: str = PASSWORD) -> NewUser:
    return NewUser(email=email, role=role, password=password)


async def stored_hash(conn: asyncpg.Connection, email: str) -> str:
    hashed: str = await conn.fetchval("SELECT password_hash FROM accounts.users WHERE email = $1", email)
    return hashed


# --- users -------------------------------------------------------------------------------------------


async def test_users_are_kept_by_the_key_of_their_address_with_a_hashed_password(
    conn: asyncpg.Connection,
) -> None:
    added = await store.add_user(conn, user("Jane@BÜCHER.de", Role.ADMIN), NOW)
    await store.add_user(conn, user("ali@example.com", Role.VIEWER), NOW)

    assert added.email == "jane@xn--bcher-kva.de"
    assert [(u.email, u.role, u.created_at) for u in await store.list_users(conn)] == [
        ("ali@example.com", Role.VIEWER, NOW),
        ("jane@xn--bcher-kva.de", Role.ADMIN, NOW),
    ]
    hashed = await stored_hash(conn, "jane@xn--bcher-kva.de")
    assert PASSWORD not in hashed and passwords.verify(hashed, PASSWORD)


async def test_an_email_is_taken_whatever_its_case(conn: asyncpg.Connection) -> None:
    await store.add_user(conn, user("jane@example.com"), NOW)
    with pytest.raises(store.Taken, match=r"^email: a user 'jane@example.com' already exists$"):
        await store.add_user(conn, user("JANE@Example.COM", Role.ADMIN), NOW)
    assert [u.role for u in await store.list_users(conn)] == [Role.EDITOR]


async def test_a_user_needs_an_email_address(conn: asyncpg.Connection) -> None:
    with pytest.raises(store.NotAnAddress, match=r"^email: 'jane@aol' is not an email address$"):
        await store.add_user(conn, user("jane@aol"), NOW)
    assert await store.list_users(conn) == []


async def test_a_sign_in_needs_the_right_email_and_password(conn: asyncpg.Connection) -> None:
    await store.add_user(conn, user("jane@example.com", Role.ADMIN), NOW)

    assert await store.check_sign_in(conn, " Jane@EXAMPLE.com ", PASSWORD) == Principal(
        kind="user", name="jane@example.com", role=Role.ADMIN
    )
    assert await store.check_sign_in(conn, "jane@example.com", PASSWORD + "!") is None
    assert await store.check_sign_in(conn, "john@example.com", PASSWORD) is None


async def test_an_unknown_email_takes_as_long_to_refuse_as_a_wrong_password(conn: asyncpg.Connection) -> None:
    """Timing must not tell which emails have accounts: no user still costs one argon2 verification."""
    await store.add_user(conn, user("jane@example.com"), NOW)
    await store.check_sign_in(conn, "nobody@example.com", PASSWORD)  # the dummy hash is made on first use

    async def seconds(email: str) -> float:
        start = time.perf_counter()
        assert await store.check_sign_in(conn, email, "wrong password!") is None
        return time.perf_counter() - start

    known = statistics.median([await seconds("jane@example.com") for _ in range(3)])
    unknown = statistics.median([await seconds("nobody@example.com") for _ in range(3)])
    assert unknown > known / 2, (known, unknown)


async def test_a_sign_in_replaces_a_hash_made_with_older_parameters(conn: asyncpg.Connection) -> None:
    await store.add_user(conn, user("jane@example.com"), NOW)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await conn.execute("UPDATE accounts.users SET password_hash = $1", weak)

    assert await store.check_sign_in(conn, "jane@example.com", "wrong password!") is None
    assert await stored_hash(conn, "jane@example.com") == weak  # only a right password is rehashed
    assert await store.check_sign_in(conn, "jane@example.com", PASSWORD) is not None

    rehashed = await stored_hash(conn, "jane@example.com")
    assert rehashed != weak and not passwords.needs_rehash(rehashed)
    assert passwords.verify(rehashed, PASSWORD)


async def test_a_users_principal_follows_the_user(conn: asyncpg.Connection) -> None:
    await store.add_user(conn, user("jane@example.com", Role.VIEWER), NOW)
    await store.add_user(conn, user("boss@example.com", Role.ADMIN), NOW)
    assert await store.user_principal(conn, "JANE@example.com") == Principal(
        kind="user", name="jane@example.com", role=Role.VIEWER
    )
    await store.remove_user(conn, "jane@example.com")
    assert await store.user_principal(conn, "jane@example.com") is None
    assert await store.check_sign_in(conn, "jane@example.com", PASSWORD) is None


async def test_removing_what_is_not_there_is_refused(conn: asyncpg.Connection) -> None:
    with pytest.raises(store.Missing, match=r"^no user 'nobody@example.com'$"):
        await store.remove_user(conn, "Nobody@example.com")


async def test_the_last_admin_cannot_be_removed(conn: asyncpg.Connection) -> None:
    await store.add_user(conn, user("first@example.com", Role.ADMIN), NOW)
    await store.add_user(conn, user("second@example.com", Role.ADMIN), NOW)
    await store.add_user(conn, user("viewer@example.com", Role.VIEWER), NOW)

    await store.remove_user(conn, "first@example.com")
    with pytest.raises(store.LastAdmin, match=r"^'second@example.com' is the last admin"):
        await store.remove_user(conn, "second@example.com")
    await store.remove_user(conn, "viewer@example.com")  # the last admin does not protect the others

    assert [u.email for u in await store.list_users(conn)] == ["second@example.com"]


async def test_two_removals_of_the_last_two_admins_cannot_both_succeed(
    conn: asyncpg.Connection, database_url: str
) -> None:
    await store.add_user(conn, user("first@example.com", Role.ADMIN), NOW)
    await store.add_user(conn, user("second@example.com", Role.ADMIN), NOW)
    other = await asyncpg.connect(database_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await store.remove_user(conn, "first@example.com")  # not committed yet
        racing = asyncio.create_task(store.remove_user(other, "second@example.com"))
        await asyncio.sleep(0.3)
        assert not racing.done()  # waits for the first removal's lock on the admins
        await transaction.commit()
        with pytest.raises(store.LastAdmin):
            await racing
    finally:
        await other.close()
    assert [u.email for u in await store.list_users(conn)] == ["second@example.com"]


# --- tokens ------------------------------------------------------------------------------------------


async def test_a_token_is_shown_once_and_kept_only_as_its_hash(conn: asyncpg.Connection) -> None:
    created = await store.create_token(conn, NewToken(name="ci", role=Role.EDITOR), NOW)

    assert (created.name, created.role) == ("ci", Role.EDITOR)
    assert created.token.startswith("rs_")
    rows = await conn.fetch("SELECT * FROM accounts.tokens")
    assert [dict(row) for row in rows] == [
        {
            "name": "ci",
            "token_hash": token_hash(created.token),
            "role": "editor",
            "created_at": NOW,
            "last_used_at": None,
        }
    ]
    listed = await store.list_tokens(conn)
    assert [(t.name, t.role, t.created_at, t.last_used_at) for t in listed] == [
        ("ci", Role.EDITOR, NOW, None)
    ]
    assert created.token not in str([t.model_dump() for t in listed])


async def test_a_token_name_is_taken_until_the_token_is_revoked(conn: asyncpg.Connection) -> None:
    first = await store.create_token(conn, NewToken(name="ci", role=Role.VIEWER), NOW)
    with pytest.raises(store.Taken, match=r"^name: a token named 'ci' already exists$"):
        await store.create_token(conn, NewToken(name="ci", role=Role.ADMIN), NOW)

    await store.revoke_token(conn, "ci")
    second = await store.create_token(conn, NewToken(name="ci", role=Role.ADMIN), NOW)

    assert await store.token_principal(conn, token_hash(first.token), NOW) is None
    assert await store.token_principal(conn, token_hash(second.token), NOW) == Principal(
        kind="token", name="ci", role=Role.ADMIN
    )
    with pytest.raises(store.Missing, match=r"^no token named 'gone'$"):
        await store.revoke_token(conn, "gone")


async def test_an_unknown_token_has_no_principal(conn: asyncpg.Connection) -> None:
    await store.create_token(conn, NewToken(name="ci", role=Role.VIEWER), NOW)
    assert await store.token_principal(conn, token_hash("rs_guessed"), NOW) is None


async def test_a_tokens_use_is_noted_at_most_once_a_minute(conn: asyncpg.Connection) -> None:
    created = await store.create_token(conn, NewToken(name="ci", role=Role.VIEWER), NOW)
    hashed = token_hash(created.token)

    async def last_used() -> datetime | None:
        return (await store.list_tokens(conn))[0].last_used_at

    await store.token_principal(conn, hashed, NOW)
    assert await last_used() == NOW
    await store.token_principal(conn, hashed, NOW + timedelta(seconds=59))
    assert await last_used() == NOW
    await store.token_principal(conn, hashed, NOW + timedelta(seconds=60))
    assert await last_used() == NOW + timedelta(seconds=60)
