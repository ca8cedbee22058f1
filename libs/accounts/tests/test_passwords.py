"""Password hashing (argon2id) and API tokens: pure functions, no database."""

from __future__ import annotations

from argon2 import PasswordHasher

from recruit_sync.accounts import passwords
from recruit_sync.accounts.tokens import PREFIX, new_token, token_hash
from recruit_sync.contracts.access import TokenCheck

PASSWORD = "correct horse battery staple"


def test_a_hash_is_argon2id_and_keeps_nothing_of_the_password() -> None:
    hashed = passwords.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert passwords.hash_password(PASSWORD) != hashed  # salted


def test_only_the_right_password_verifies() -> None:
    hashed = passwords.hash_password(PASSWORD)
    assert passwords.verify(hashed, PASSWORD)
    assert not passwords.verify(hashed, PASSWORD.upper())
    assert not passwords.verify(hashed, "")


def test_no_user_and_a_broken_hash_never_verify() -> None:
    assert not passwords.verify(None, PASSWORD)
    assert not passwords.verify(None, "no user has this password")  # not even the dummy's own password
    assert not passwords.verify("not-a-hash", PASSWORD)


def test_a_hash_made_with_other_parameters_needs_rehashing() -> None:
    assert not passwords.needs_rehash(passwords.hash_password(PASSWORD))
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert passwords.needs_rehash(weaker)
    assert passwords.verify(weaker, PASSWORD)  # still accepted until it is replaced


def test_a_new_token_is_prefixed_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert token.startswith(PREFIX)
        body = token.removeprefix(PREFIX)
        assert len(body) == 43  # 32 random bytes, base64url without padding
        assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_token_is_kept_as_its_sha256_in_hex() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = new_token()
    assert TokenCheck(token_hash=token_hash(token)).token_hash == token_hash(token)  # the API's request
    assert token not in token_hash(token)
