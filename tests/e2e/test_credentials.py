"""Credentials on the real stack: token refresh, auth failure and rekey deactivating a connection's syncs,
inactive syncs that do not run, and secrets that never reach a log line or the CLI's output."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parent / "data"
# Distinctive values, so that finding one anywhere can only mean it leaked.
CLIENT_SECRET = f"cs-leak-canary-{uuid.uuid4().hex}"
REFRESH_TOKEN = f"rt-leak-canary-{uuid.uuid4().hex}"
NEW_REFRESH_TOKEN = f"rt-leak-canary-new-{uuid.uuid4().hex}"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, NEW_REFRESH_TOKEN)

CLI_OUTPUT: list[str] = []  # everything every CLI call of this module printed, stdout and stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack")
    data = json.loads((DATA / "small.json").read_text())
    data["oauth"] = {
        "client_id": "cid-canary",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    (workdir / "sim-data.json").write_text(json.dumps(data))
    with Stack(workdir, sim_data=str(workdir / "sim-data.json")) as running:
        yield running


def cli(stack: Stack, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = stack.run(*args, check=False)
    CLI_OUTPUT.extend((result.stdout, result.stderr))
    assert (result.returncode == 0) == ok, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def cli_json(stack: Stack, *args: str) -> Any:
    return json.loads(cli(stack, *args, "--json").stdout)


def run_sync(stack: Stack, sync_id: str) -> dict[str, Any]:
    """Run now and wait; its summary whether it succeeded or failed (the exit code says which)."""
    result = stack.run("sync", "run", sync_id, "--wait", "--json", check=False)
    CLI_OUTPUT.extend((result.stdout, result.stderr))
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def states(stack: Stack) -> dict[str, tuple[str, str | None]]:
    return {s["id"]: (s["state"], s["state_reason"]) for s in cli_json(stack, "sync", "list")}


def eventually_states(stack: Stack, expected: dict[str, tuple[str, str | None]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (current := {k: v for k, v in states(stack).items() if k in expected}) != expected:
        assert time.monotonic() < deadline, current
        time.sleep(0.5)


def create_sync(stack: Stack, name: str) -> str:
    path = stack.workdir / f"{name}.json"
    schedule = {"kind": "weekly", "weekday": "monday", "at": "09:00", "timezone": "Europe/London"}
    spec = {"name": name, "connection": "canary", "module": "Candidates", "list": name, "schedule": schedule}
    path.write_text(json.dumps(spec))
    return str(cli_json(stack, "sync", "create", "--file", str(path))["id"])


@pytest.fixture(scope="module")
def syncs(stack: Stack) -> tuple[str, str]:
    cli_json(
        stack, "connection", "add", "--name", "canary", "--base-url", stack.sim_url,
        "--accounts-url", stack.sim_url, "--client-id", "cid-canary",
        "--client-secret", CLIENT_SECRET, "--refresh-token", REFRESH_TOKEN,
    )  # fmt: skip
    return create_sync(stack, "alpha"), create_sync(stack, "beta")


def test_expired_access_tokens_are_refreshed_once_and_the_call_retried(
    stack: Stack, syncs: tuple[str, str]
) -> None:
    alpha, _ = syncs
    assert run_sync(stack, alpha)["state"] == "succeeded"
    issued = stack.sim("GET", "/_sim/stats")["tokens_issued"]
    stack.sim("POST", "/_sim/oauth", {"expire_access_tokens": True})  # the fetcher's cached token dies
    summary = run_sync(stack, alpha)
    assert summary["state"] == "succeeded", summary
    assert stack.sim("GET", "/_sim/stats")["tokens_issued"] == issued + 1


def test_a_refused_refresh_token_fails_the_run_and_deactivates_every_sync(
    stack: Stack, syncs: tuple[str, str]
) -> None:
    alpha, beta = syncs
    stack.sim("POST", "/_sim/oauth", {"refresh_token": NEW_REFRESH_TOKEN, "expire_access_tokens": True})
    summary = run_sync(stack, alpha)
    assert summary["state"] == "failed" and "token refused" in summary["error"], summary
    eventually_states(stack, {alpha: ("inactive", "auth_failed"), beta: ("inactive", "auth_failed")})

    refused = cli(stack, "sync", "run", beta, ok=False)
    assert refused.stdout == ""
    assert "inactive (auth_failed)" in refused.stderr and "activate" in refused.stderr, refused.stderr


def test_rekey_keeps_syncs_inactive_and_nothing_runs_until_activated(
    stack: Stack, syncs: tuple[str, str]
) -> None:
    alpha, beta = syncs
    rekeyed = cli_json(stack, "connection", "rekey", "canary", "--refresh-token", NEW_REFRESH_TOKEN)
    assert sorted(rekeyed["deactivated"]) == sorted(syncs)
    eventually_states(
        stack, {alpha: ("inactive", "credentials_changed"), beta: ("inactive", "credentials_changed")}
    )

    # a schedule that is due at once makes no run while the sync is inactive ...
    patch = stack.workdir / "once.json"
    patch.write_text(json.dumps({"schedule": {"kind": "once"}}))
    assert cli_json(stack, "sync", "edit", alpha, "--file", str(patch))["next_due_at"] is None
    runs_before = len(cli_json(stack, "runs", "list", alpha))
    time.sleep(3)  # three scheduler ticks
    assert len(cli_json(stack, "runs", "list", alpha)) == runs_before
    refused = cli(stack, "sync", "run", alpha, ok=False)
    assert "inactive (credentials_changed)" in refused.stderr

    # ... and runs by itself, with the new credentials, once activated
    assert cli_json(stack, "sync", "activate", alpha)["state"] == "active"
    eventually_states(stack, {alpha: ("completed", None), beta: ("inactive", "credentials_changed")})
    latest = cli_json(stack, "runs", "list", alpha)[0]
    assert (latest["trigger"], latest["state"]) == ("schedule", "succeeded")
    cli_json(stack, "sync", "activate", beta)
    assert run_sync(stack, beta)["state"] == "succeeded"


def test_secrets_never_reach_a_log_line_or_the_cli(stack: Stack, syncs: tuple[str, str]) -> None:
    listed = cli(stack, "connection", "list").stdout + cli(stack, "connection", "list", "--json").stdout
    assert "canary" in listed
    cli(stack, "sync", "show", syncs[0])
    logs = {path.name: path.read_text(errors="replace") for path in stack.workdir.glob("*.log")}
    assert {"services.log", "sim.log"} <= set(logs) and "token refused" in logs["services.log"]
    for secret in SECRETS:
        assert not [name for name, text in logs.items() if secret in text], secret
        assert not [output for output in CLI_OUTPUT if secret in output], secret
