"""``user`` and ``token``: operator commands straight on a real database (no API, no token)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import asyncpg
import pytest
from typer.testing import CliRunner, Result

from recruit_sync import accounts
from recruit_sync.accounts import passwords
from recruit_sync.accounts.tokens import token_hash
from recruit_sync.cli.main import CliState, app
from recruit_sync.runtime.db import migrate

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def migrated(database_url: str) -> str:
    await migrate(database_url, accounts.SCHEMA, accounts.MIGRATIONS_DIR)
    return database_url


@pytest.fixture
def on_database(migrated: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.delenv("RECRUIT_SYNC_TOKEN", raising=False)
    yield migrated


def invoke(*args: str, stdin: str | None = None) -> Result:
    # CliState(api_url=...) pointing nowhere: these commands must not need the API
    return CliRunner().invoke(app, list(args), input=stdin, obj=CliState(api_url="http://127.0.0.1:1"))


def error_line(result: Result) -> str:
    assert result.exit_code == 1, result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line.removeprefix("error: ")


def fetch(database_url: str, query: str) -> list[dict[str, object]]:
    """The rows of ``query`` (the tests are not coroutines: the commands run their own event loop)."""

    async def rows() -> list[dict[str, object]]:
        conn = await asyncpg.connect(database_url)
        try:
            return [dict(row) for row in await conn.fetch(query)]
        finally:
            await conn.close()

    return asyncio.run(rows())


def add(email: str, role: str = "admin", password: str = PASSWORD) -> Result:
    return invoke("user", "add", email, "--role", role, "--password-stdin", stdin=password + "\n")


# --- users -------------------------------------------------------------------------------------------


def test_a_user_is_added_with_the_password_from_stdin(on_database: str) -> None:
    result = add("Jane@Example.com")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "user jane@example.com added (admin)\n"
    [row] = fetch(on_database, "SELECT email, role, password_hash FROM accounts.users")
    assert (row["email"], row["role"]) == ("jane@example.com", "admin")
    assert passwords.verify(str(row["password_hash"]), PASSWORD)  # the line, without its newline
    assert PASSWORD not in result.stdout + result.stderr


def test_users_are_listed_without_their_passwords(on_database: str) -> None:
    add("jane@example.com")
    add("ali@example.com", "viewer")

    listed = invoke("user", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    users = json.loads(listed.stdout)
    assert [(u["email"], u["role"]) for u in users] == [
        ("ali@example.com", "viewer"),
        ("jane@example.com", "admin"),
    ]
    assert {key for user in users for key in user} == {"email", "role", "created_at"}
    table = invoke("user", "list")
    assert "ali@example.com" in table.stdout and "argon2" not in table.stdout


def test_a_short_password_is_refused_naming_the_rule(on_database: str) -> None:
    short = "tooshort1"
    result = add("jane@example.com", password=short)

    assert error_line(result) == "password: String should have at least 12 characters"
    assert short not in result.stderr
    assert fetch(on_database, "SELECT email FROM accounts.users") == []


def test_the_password_comes_only_from_stdin(on_database: str) -> None:
    result = invoke("user", "add", "jane@example.com", "--role", "admin", stdin=PASSWORD + "\n")
    assert "--password-stdin" in error_line(result)
    assert fetch(on_database, "SELECT email FROM accounts.users") == []


def test_user_refusals_are_one_line(on_database: str) -> None:
    add("boss@example.com")

    assert error_line(add("BOSS@example.com", "viewer")) == "email: a user 'boss@example.com' already exists"
    assert error_line(add("boss@aol")) == "email: 'boss@aol' is not an email address"
    assert error_line(invoke("user", "remove", "nobody@example.com")) == "no user 'nobody@example.com'"
    assert "is the last admin" in error_line(invoke("user", "remove", "boss@example.com"))


def test_a_user_is_removed(on_database: str) -> None:
    add("boss@example.com")
    add("jane@example.com", "editor")

    result = invoke("user", "remove", "jane@example.com", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"removed": True}
    assert fetch(on_database, "SELECT email FROM accounts.users") == [{"email": "boss@example.com"}]


# --- tokens ------------------------------------------------------------------------------------------


def test_a_created_token_is_printed_alone_with_a_warning(on_database: str) -> None:
    result = invoke("token", "create", "--name", "ci", "--role", "editor")

    assert result.exit_code == 0, result.stderr
    token = result.stdout.removesuffix("\n")
    assert token.startswith("rs_") and "\n" not in token
    assert "shown this once" in result.stderr and token not in result.stderr
    assert fetch(on_database, "SELECT name, role, token_hash FROM accounts.tokens") == [
        {"name": "ci", "role": "editor", "token_hash": token_hash(token)}
    ]


def test_token_create_json_is_exactly_name_role_token(on_database: str) -> None:
    result = invoke("token", "create", "--name", "ci", "--role", "viewer", "--json")

    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    assert list(created) == ["name", "role", "token"]
    assert (created["name"], created["role"]) == ("ci", "viewer")
    [row] = fetch(on_database, "SELECT token_hash FROM accounts.tokens")
    assert row["token_hash"] == token_hash(created["token"])


def test_tokens_are_listed_never_shown_and_revoked(on_database: str) -> None:
    token = json.loads(invoke("token", "create", "--name", "ci", "--role", "admin", "--json").stdout)["token"]

    listed = invoke("token", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [(t["name"], t["role"], t["last_used_at"]) for t in json.loads(listed.stdout)] == [
        ("ci", "admin", None)
    ]
    assert token not in listed.stdout + invoke("token", "list").stdout

    revoked = invoke("token", "revoke", "ci")
    assert (revoked.exit_code, revoked.stdout) == (0, "token ci revoked\n")
    assert fetch(on_database, "SELECT name FROM accounts.tokens") == []
    assert error_line(invoke("token", "revoke", "ci")) == "no token named 'ci'"


def test_token_refusals_are_one_line(on_database: str) -> None:
    invoke("token", "create", "--name", "ci", "--role", "viewer")

    assert error_line(invoke("token", "create", "--name", "ci", "--role", "admin")) == (
        "name: a token named 'ci' already exists"
    )
    assert error_line(invoke("token", "create", "--name", "has space", "--role", "admin")).startswith(
        "name: "
    )
    assert invoke("token", "create", "--name", "x", "--role", "root").exit_code == 2


# --- without a migrated database ---------------------------------------------------------------------


@pytest.fixture
def unmigrated(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)


def test_an_unmigrated_database_says_to_run_migrate(unmigrated: None) -> None:
    message = error_line(invoke("user", "list"))
    assert message == "relation \"accounts.users\" does not exist: run 'recruit-sync migrate' first"


def test_an_unreachable_database_is_one_line_without_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:hunter2-secret@127.0.0.1:1/nowhere")
    message = error_line(invoke("token", "list"))
    assert message.startswith("database: ") and "hunter2-secret" not in message
