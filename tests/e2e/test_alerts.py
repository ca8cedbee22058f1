"""Alerts through the real processes: a sync whose Recruit fails (the simulator's ``POST /_sim/faults``)
notifies a local webhook receiver and a local SMTP server (aiosmtpd) once; a second failure in a row
sends nothing; the next success sends one recovery each; ``recruit-sync alerts`` shows the deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import DATA
from tests.e2e.stack import Stack, free_port

pytestmark = [pytest.mark.e2e]

SECRET = "e2e-webhook-signing-secret"
LIST = "/recruit/v2/Candidates"
BOUND = 60.0  # seconds: generous, for a busy machine


@dataclass
class Received:
    webhooks: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    mails: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(envelope.content)
        return "250 OK"

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for _, body in self.webhooks]

    def subjects(self) -> list[str]:
        return [message_from_bytes(mail)["Subject"] for mail in self.mails]


@pytest.fixture(scope="module")
def received() -> Iterator[tuple[Received, str, int]]:
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.webhooks.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    smtp_port = free_port()
    smtp = Controller(got, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        yield got, f"http://127.0.0.1:{server.server_address[1]}/hook", smtp_port
    finally:
        smtp.stop()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, received: tuple[Received, str, int]) -> Iterator[Stack]:
    env = {
        "RECRUIT_SYNC_SMTP_URL": f"smtp://127.0.0.1:{received[2]}",
        "RECRUIT_SYNC_SMTP_FROM": "recruit-sync@example.com",
        "RECRUIT_SYNC_ALERT_RETRY_SECONDS": "1",
    }
    with Stack(
        tmp_path_factory.mktemp("alerts"), sim_data=str(DATA / "small.json"), extra_env=env
    ) as running:
        running.add_connection()
        yield running


def wait_for(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {BOUND:.0f}s: {what}")
        time.sleep(0.2)


def failed_run(stack: Stack, sync_id: str) -> dict[str, Any]:
    stack.sim("POST", "/_sim/faults", [{"status": 500, "count": 5, "path": LIST}])
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "failed", summary
    return summary


def test_a_failure_notifies_once_by_webhook_and_email_and_the_next_success_recovers(
    stack: Stack, received: tuple[Received, str, int]
) -> None:
    got, hook_url, _ = received
    suffix = uuid.uuid4().hex[:8]
    sync_id = stack.create_sync(
        {
            "name": f"alerts {suffix}",
            "connection": "acme-recruit",
            "list": f"List {suffix}",
            "alerts": [
                {"kind": "webhook", "url": hook_url, "secret": SECRET, "on": ["run_failed", "run_recovered"]},
                {"kind": "email", "to": ["ops@example.com"], "on": ["run_failed", "run_recovered"]},
            ],
        }
    )
    assert SECRET not in stack.run("sync", "show", sync_id, "--json").stdout

    first = failed_run(stack, sync_id)
    wait_for("one webhook call and one email", lambda: len(got.webhooks) == 1 and len(got.mails) == 1)
    headers, body = got.webhooks[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-recruit-sync-signature"], expected)
    payload = json.loads(body)
    assert (payload["sync_id"], payload["event"], payload["run_id"]) == (
        sync_id,
        "run_failed",
        first["run_id"],
    )
    assert got.subjects() == [f"[recruit-sync] alerts {suffix}: run_failed"]

    failed_run(stack, sync_id)  # still failing: nothing new
    recovered = stack.run_sync(sync_id)
    assert recovered["state"] == "succeeded", recovered
    # deliveries go oldest first: once the recovery is in, anything the second failure caused would be too
    wait_for("the recovery by both channels", lambda: len(got.webhooks) >= 2 and len(got.mails) >= 2)
    assert got.events() == ["run_failed", "run_recovered"]
    assert json.loads(got.webhooks[1][1])["run_id"] == recovered["run_id"]
    assert got.subjects()[1].endswith(": run_recovered") and len(got.mails) == 2

    listed = stack.json("alerts", sync_id)
    assert sorted((n["event"], n["channel"], n["status"], n["attempts"]) for n in listed) == [
        ("run_failed", "email", "delivered", 1),
        ("run_failed", "webhook", "delivered", 1),
        ("run_recovered", "email", "delivered", 1),
        ("run_recovered", "webhook", "delivered", 1),
    ]
    shown = stack.run("alerts", sync_id).stdout
    assert shown.startswith("alert notifications (newest first)") and SECRET not in shown
