"""The API token: sent as a bearer header when RECRUIT_SYNC_TOKEN is set, and a refusal's error line says
what to do about it, never showing the token."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from recruit_sync.cli.main import app

from .fake_api import FakeApi, ok, refused

TOKEN = "rs_Xy7-secret-token-value"


def sync_list(api: FakeApi) -> Result:
    return CliRunner().invoke(app, ["sync", "list", "--json"], obj=api.state())


def error_line(result: Result) -> str:
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert TOKEN not in result.stdout + result.stderr
    return line


def test_the_token_is_sent_as_a_bearer_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_TOKEN", TOKEN)
    api = FakeApi().on("GET", "/syncs", ok([]))

    assert sync_list(api).exit_code == 0
    assert [request.headers.get("Authorization") for request in api.requests] == [f"Bearer {TOKEN}"]
    assert TOKEN not in repr(api.state())


def test_without_a_token_no_authorization_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECRUIT_SYNC_TOKEN", raising=False)
    api = FakeApi().on("GET", "/syncs", ok([]))

    assert sync_list(api).exit_code == 0
    assert "Authorization" not in api.requests[0].headers


def test_a_401_without_a_token_says_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECRUIT_SYNC_TOKEN", raising=False)
    api = FakeApi().on("GET", "/syncs", refused(401, "a token or a session is needed"))

    assert error_line(sync_list(api)) == (
        "error: the API needs a token: set RECRUIT_SYNC_TOKEN "
        "(create one with 'recruit-sync token create --name NAME --role ROLE' on the server)"
    )


def test_a_401_with_a_token_says_it_was_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_TOKEN", TOKEN)
    api = FakeApi().on("GET", "/syncs", refused(401, "the token is unknown or revoked"))

    line = error_line(sync_list(api))
    assert line.startswith("error: the API refused RECRUIT_SYNC_TOKEN (unknown or revoked)")
    assert "recruit-sync token create" in line


def test_a_403_keeps_the_apis_reason_and_names_the_tokens_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_TOKEN", TOKEN)
    detail = "this needs the editor role; token 'ci' is a viewer"
    api = FakeApi().on("GET", "/syncs", refused(403, detail))

    assert error_line(sync_list(api)) == (
        f"error: {detail} (the role of the token in RECRUIT_SYNC_TOKEN may not do this)"
    )
