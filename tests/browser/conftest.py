"""One running stack (simulator, services, API) per test module, with a console user of each role, and a
fresh headless Chromium per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.person import Person, chromium
from tests.e2e.stack import Stack

DATA = Path(__file__).parent / "data"
PASSWORD = "a long enough password"
USERS = {role: f"{role}@console.example" for role in ("admin", "editor", "viewer")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack, a connection to its simulator, and the users of ``USERS`` (password ``PASSWORD``)."""
    with Stack(tmp_path_factory.mktemp("stack"), sim_data=str(DATA / "candidates.json")) as running:
        running.add_connection("acme-recruit")
        for role, email in USERS.items():
            running.add_user(email, role, PASSWORD)
        yield running


@pytest.fixture
def person(stack: Stack) -> Iterator[Person]:
    """Someone at a fresh browser, not signed in."""
    with chromium() as driver:
        yield Person(driver, f"http://127.0.0.1:{stack.api_port}")


def _signed_in(person: Person, role: str) -> Person:
    person.sign_in(USERS[role], PASSWORD)
    person.wait_until_sees("Sign out", timeout=10)
    return person


@pytest.fixture
def admin(person: Person) -> Person:
    return _signed_in(person, "admin")


@pytest.fixture
def editor(person: Person) -> Person:
    return _signed_in(person, "editor")


@pytest.fixture
def viewer(person: Person) -> Person:
    return _signed_in(person, "viewer")
