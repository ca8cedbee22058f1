"""The access layer's pure parts: the sign-in limiter and the remembered verdicts."""

from __future__ import annotations

from recruit_sync.api.auth import SignInLimiter, Verdicts
from recruit_sync.contracts.access import Principal, Role


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_a_key_out_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    limiter = SignInLimiter(attempts=5, window=300, clock=clock)
    keys = ("client:10.0.0.1", "email:jane@example.com")
    for _ in range(4):
        limiter.failed(keys)
        clock.now += 10
    assert limiter.wait(keys) == 0
    limiter.failed(keys)
    assert limiter.wait(keys) == 300 - 40  # the first failure was 40 s ago
    assert limiter.wait(("client:10.0.0.2", "email:other@example.com")) == 0  # others are not held up
    assert limiter.wait(("client:10.0.0.2", "email:jane@example.com")) > 0  # the email is, from anywhere
    clock.now += 261
    assert limiter.wait(keys) == 0


def test_a_success_forgets_the_failures_of_its_keys() -> None:
    limiter = SignInLimiter(attempts=2, window=300, clock=Clock())
    limiter.failed(("email:a@b.co",))
    limiter.succeeded(("email:a@b.co",))
    limiter.failed(("email:a@b.co",))
    assert limiter.wait(("email:a@b.co",)) == 0


def test_a_verdict_is_remembered_for_its_time_only_refusals_too() -> None:
    clock = Clock()
    verdicts = Verdicts(ttl=10, clock=clock)
    admin = Principal(kind="user", name="a@b.co", role=Role.ADMIN)
    verdicts.put("user:a@b.co", admin)
    verdicts.put("token:bad", None)
    assert verdicts.get("user:a@b.co") == (True, admin)
    assert verdicts.get("token:bad") == (True, None)
    assert verdicts.get("token:unknown") == (False, None)
    clock.now += 11
    assert verdicts.get("user:a@b.co") == (False, None)


def test_each_role_may_what_the_roles_below_it_may() -> None:
    assert Role.ADMIN.may(Role.EDITOR) and Role.EDITOR.may(Role.VIEWER) and Role.VIEWER.may(Role.VIEWER)
    assert not Role.VIEWER.may(Role.EDITOR) and not Role.EDITOR.may(Role.ADMIN)
