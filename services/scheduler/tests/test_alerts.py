"""Alerts on the real database: notifications written with the run's completion, delivered to a local
webhook receiver (http.server in a thread) and a local SMTP server (aiosmtpd), once per change of state."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import queue
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from recruit_sync.contracts import rpc
from recruit_sync.contracts.events import RunCompleted, RunState, RunSummary, Trigger
from recruit_sync.contracts.resources import EditSync, PreviewRequest, Rekey, RunSync, SyncRef
from recruit_sync.contracts.sync_spec import SyncSpec, SyncSpecPatch
from recruit_sync.runtime import crypto
from recruit_sync.runtime.retention import prune
from recruit_sync.scheduler import notify, retention
from recruit_sync.scheduler.notify import SIGNATURE_HEADER, Sender, SmtpConfig, deliver_due
from recruit_sync.scheduler.runs import record_run_completed

from .conftest import Scheduler

pytestmark = pytest.mark.integration

SECRET = "whsec-plaintext-signing-value"
SMTP_PASSWORD = "smtp-pass-word"


@dataclass
class Hook:
    """A webhook receiver: answers with the queued statuses (then 200) and keeps every request."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: queue.Queue[int] = field(default_factory=queue.Queue)

    def bodies(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.requests]


@pytest.fixture
def hook() -> Iterator[Hook]:
    received: Hook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            try:
                status = received.statuses.get_nowait()
            except queue.Empty:
                status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received = Hook(f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == SMTP_PASSWORD.encode())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, SmtpConfig]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box, SmtpConfig.parse(f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:{port}", "rs@example.com")
    finally:
        controller.stop()


@pytest.fixture
async def sender(smtp: tuple[Mailbox, SmtpConfig]) -> AsyncIterator[Sender]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield Sender(http, smtp[1])


def alerts_for(hook: Hook, **webhook: Any) -> list[dict[str, Any]]:
    return [
        {
            "kind": "webhook",
            "url": hook.url,
            "secret": SECRET,
            "on": ["run_failed", "run_recovered", "ignored_above", "volume_drop", "sync_deactivated"],
            "ignored_above": 0.2,
            "volume_drop": 0.5,
            **webhook,
        },
        {"kind": "email", "to": ["ops@example.com"], "on": ["run_failed", "run_recovered"]},
    ]


async def finish(
    scheduler: Scheduler,
    sync_id: str,
    state: RunState = RunState.SUCCEEDED,
    *,
    total: int = 10,
    ignored: int = 0,
    auth_failed: bool = False,
) -> str:
    """Start a run now and complete it as history would."""
    started = await scheduler.call(rpc.SYNC_RUN, RunSync(id=sync_id))
    summary = RunSummary(
        run_id=started.run_id,
        sync_id=sync_id,
        state=state,
        trigger=Trigger.MANUAL,
        started_at=scheduler.clock.now,
        finished_at=scheduler.clock.advance(timedelta(minutes=1)),
        total=total,
        new=total - ignored,
        ignored=ignored,
        error="recruit: 500" if state is RunState.FAILED else None,
    )
    event = RunCompleted(summary=summary, auth_failed=auth_failed, correlation_id=started.run_id)
    await record_run_completed(scheduler.deps, event)
    await record_run_completed(scheduler.deps, event)  # a redelivery: handled once
    scheduler.clock.advance(timedelta(minutes=1))
    return started.run_id


def signature_ok(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers[SIGNATURE_HEADER.lower()], expected)


async def test_a_failure_notifies_once_by_each_channel_and_the_next_success_recovers(
    db_scheduler: Scheduler, hook: Hook, smtp: tuple[Mailbox, SmtpConfig], sender: Sender
) -> None:
    box, _ = smtp
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook))

    failed_run = await finish(db_scheduler, sync_id, RunState.FAILED)
    assert await deliver_due(db_scheduler.deps, sender) == 2
    assert len(hook.requests) == 1 and len(box.messages) == 1
    headers, body = hook.requests[0]
    assert signature_ok(headers, body)
    assert headers["content-type"] == "application/json"
    payload = orjson.loads(body)
    assert set(payload) == {"sync_id", "sync_name", "event", "run_id", "at", "detail"}
    assert payload["sync_id"] == sync_id and payload["sync_name"] == "IT graduates"
    assert payload["event"] == "run_failed" and payload["run_id"] == failed_run
    assert payload["detail"] == {"state": "failed", "error": "recruit: 500"}
    mail_from, rcpt, content = box.messages[0]
    mail = message_from_bytes(content)
    assert mail_from == "rs@example.com" and rcpt == ["ops@example.com"]
    assert mail["Subject"] == "[recruit-sync] IT graduates: run_failed"
    assert failed_run in mail.get_payload()
    assert box.logins == [(b"alerts", SMTP_PASSWORD.encode())]

    await finish(db_scheduler, sync_id, RunState.FAILED)  # still failing: nothing new
    assert await deliver_due(db_scheduler.deps, sender) == 0
    assert len(hook.requests) == 1 and len(box.messages) == 1

    recovered_run = await finish(db_scheduler, sync_id)
    assert await deliver_due(db_scheduler.deps, sender) == 2
    assert [b["event"] for b in hook.bodies()] == ["run_failed", "run_recovered"]
    assert hook.bodies()[1]["run_id"] == recovered_run
    assert message_from_bytes(box.messages[1][2])["Subject"].endswith(": run_recovered")

    await finish(db_scheduler, sync_id)  # still fine: nothing
    assert await deliver_due(db_scheduler.deps, sender) == 0
    assert len(hook.requests) == 2 and len(box.messages) == 2


async def test_forty_percent_ignored_over_a_twenty_percent_threshold_alerts_once(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook))
    await finish(db_scheduler, sync_id, total=10, ignored=4)
    await finish(db_scheduler, sync_id, total=10, ignored=4)
    await deliver_due(db_scheduler.deps, sender)
    assert [(b["event"], b["detail"]) for b in hook.bodies()] == [
        ("ignored_above", {"ignored": 4, "total": 10, "share": 0.4, "threshold": 0.2})
    ]
    await finish(db_scheduler, sync_id, total=10, ignored=1)  # back under: cleared, silently
    await finish(db_scheduler, sync_id, total=10, ignored=5)  # above again: a new change of state
    await deliver_due(db_scheduler.deps, sender)
    assert [b["event"] for b in hook.bodies()] == ["ignored_above", "ignored_above"]


async def test_a_total_below_half_of_the_previous_success_alerts(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook))
    await finish(db_scheduler, sync_id, total=100)
    await finish(db_scheduler, sync_id, RunState.FAILED, total=3)  # a failure is not a success to compare
    dropped = await finish(db_scheduler, sync_id, total=40)
    await deliver_due(db_scheduler.deps, sender)
    assert [(b["event"], b["run_id"]) for b in hook.bodies()] == [
        ("run_failed", hook.bodies()[0]["run_id"]),
        ("run_recovered", dropped),
        ("volume_drop", dropped),
    ]
    assert hook.bodies()[2]["detail"] == {"total": 40, "previous_total": 100, "threshold": 0.5}


async def test_a_deactivation_by_failed_credentials_notifies(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook))
    await finish(db_scheduler, sync_id, RunState.FAILED, auth_failed=True)
    await deliver_due(db_scheduler.deps, sender)
    assert sorted(b["event"] for b in hook.bodies()) == ["run_failed", "sync_deactivated"]
    deactivated = next(b for b in hook.bodies() if b["event"] == "sync_deactivated")
    assert deactivated["detail"] == {"reason": "auth_failed"} and deactivated["run_id"] is None


async def test_a_refused_webhook_is_retried_with_backoff_and_its_attempts_recorded(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook)[:1])
    hook.statuses.put(500)
    await finish(db_scheduler, sync_id, RunState.FAILED)
    assert await deliver_due(db_scheduler.deps, sender, base=30) == 0
    row = await _notification(db_scheduler)
    assert row["attempts"] == 1 and row["last_error"] == "HTTP 500" and row["delivered_at"] is None
    assert row["next_attempt_at"] == db_scheduler.clock.now + timedelta(seconds=30)

    assert await deliver_due(db_scheduler.deps, sender, base=30) == 0  # not due yet: not sent
    assert len(hook.requests) == 1
    db_scheduler.clock.advance(timedelta(seconds=30))
    assert await deliver_due(db_scheduler.deps, sender, base=30) == 1
    row = await _notification(db_scheduler)
    assert row["attempts"] == 2 and row["delivered_at"] == db_scheduler.clock.now
    assert row["last_error"] == "HTTP 500"  # the failed attempt stays on record
    assert len(hook.requests) == 2 and hook.requests[0][1] == hook.requests[1][1]
    assert all(signature_ok(headers, body) for headers, body in hook.requests)

    # the attempts are visible through the scheduler's RPC
    listed = await db_scheduler.call(rpc.ALERT_LIST, SyncRef(id=sync_id))
    assert [(n.event, n.attempts, n.status, n.last_error) for n in listed] == [
        ("run_failed", 2, "delivered", "HTTP 500")
    ]


async def test_an_unreachable_webhook_is_given_up_after_the_last_attempt(
    db_scheduler: Scheduler, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    dead = f"http://127.0.0.1:{_free_port()}/nobody"
    sync_id = await db_scheduler.create_sync(alerts=[{"kind": "webhook", "url": dead, "secret": SECRET}])
    await finish(db_scheduler, sync_id, RunState.FAILED)
    for attempt in range(1, notify.MAX_ATTEMPTS + 1):
        assert await deliver_due(db_scheduler.deps, sender, base=1) == 0
        row = await _notification(db_scheduler)
        assert row["attempts"] == attempt and row["last_error"].startswith("ConnectError")
        db_scheduler.clock.advance(notify.MAX_DELAY)
    assert row["gave_up_at"] is not None
    assert await deliver_due(db_scheduler.deps, sender, base=1) == 0
    assert (await _notification(db_scheduler))["attempts"] == notify.MAX_ATTEMPTS
    listed = await db_scheduler.call(rpc.ALERT_LIST, SyncRef(id=sync_id))
    assert listed[0].status == "gave_up"


async def test_the_secret_is_stored_encrypted_never_shown_and_kept_by_an_edit_that_leaves_it_out(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook))
    async with db_scheduler.deps.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT spec::text || alert_secrets::text || "
            "(SELECT string_agg(spec::text, ' ') FROM sync_versions) "
            "FROM syncs"
        )
        sealed = await conn.fetchval("SELECT alert_secrets FROM syncs")
    assert SECRET not in stored and crypto.decrypt(sealed[hook.url]) == SECRET

    detail = await db_scheduler.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    shown = detail.model_dump(mode="json")
    assert "secret" not in shown["spec"]["alerts"][0] and shown["spec"]["alerts"][0]["url"] == hook.url

    # the spec as shown, sent back with a changed threshold: the stored secret is kept
    alerts = shown["spec"]["alerts"]
    alerts[0]["ignored_above"] = 0.3
    patch = SyncSpecPatch.model_validate({"alerts": alerts})
    edited = await db_scheduler.call(rpc.SYNC_EDIT, EditSync(id=sync_id, patch=patch))
    assert edited.settings_version == 2 and edited.spec.alerts[0].ignored_above == 0.3
    await finish(db_scheduler, sync_id, RunState.FAILED)
    await deliver_due(db_scheduler.deps, sender)
    assert signature_ok(*hook.requests[0])

    # a new webhook without a secret is refused, naming the key
    new_hook = [{"kind": "webhook", "url": "https://elsewhere.example/h"}]
    error = await db_scheduler.refused(rpc.SYNC_EDIT, {"id": sync_id, "patch": {"alerts": new_hook}}, 400)
    assert error.startswith("alerts.0.secret: ")
    error = await db_scheduler.refused(
        rpc.SYNC_CREATE,
        {"spec": {"name": "other", "connection": "acme", "list": "l", "alerts": new_hook}},
        400,
    )
    assert error.startswith("alerts.0.secret: ")
    # nor does it travel with a run or a preview's plan
    spec = SyncSpec.model_validate(
        {"name": "p", "connection": "acme", "list": "l", "alerts": alerts_for(hook)}
    )
    plan = await db_scheduler.call(rpc.SYNC_PREVIEW_PLAN, PreviewRequest(spec=spec))
    assert plan.sync_name == "p"
    assert all(SECRET not in reply.decode() for reply in db_scheduler.replies)
    async with db_scheduler.deps.pool.acquire() as conn:
        events = await conn.fetchval("SELECT string_agg(payload::text, ' ') FROM outbox")
    assert "sync.due" in events and SECRET not in events

    # a new secret replaces the stored one
    alerts[0]["secret"] = "rotated-secret"
    patch = SyncSpecPatch.model_validate({"alerts": alerts})
    await db_scheduler.call(rpc.SYNC_EDIT, EditSync(id=sync_id, patch=patch))
    async with db_scheduler.deps.pool.acquire() as conn:
        sealed = await conn.fetchval("SELECT alert_secrets FROM syncs")
    assert crypto.decrypt(sealed[hook.url]) == "rotated-secret"


async def test_the_smtp_url_is_parsed_and_its_password_never_shown() -> None:
    config = SmtpConfig.parse("smtp://me%40x.example:p%3Ass@mail.example:2525?starttls=true", "a@b.example")
    assert (config.host, config.port, config.username, config.password) == (
        "mail.example",
        2525,
        "me@x.example",
        "p:ss",
    )
    assert config.start_tls and not config.use_tls
    assert "p:ss" not in repr(config)
    assert SmtpConfig.parse("smtps://mail.example", "a@b.example").port == 465
    with pytest.raises(ValueError, match="RECRUIT_SYNC_SMTP_URL"):
        SmtpConfig.parse("http://mail.example", "a@b.example")


async def _notification(scheduler: Scheduler) -> Any:
    async with scheduler.deps.pool.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM notifications ORDER BY id DESC LIMIT 1")


async def test_new_credentials_deactivate_the_sync_and_notify(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    await db_scheduler.create_sync(alerts=alerts_for(hook))
    await db_scheduler.call(rpc.CONNECTION_REKEY, Rekey(name="acme", refresh_token="rt-new-token"))
    await deliver_due(db_scheduler.deps, sender)
    assert [(b["event"], b["detail"]) for b in hook.bodies()] == [
        ("sync_deactivated", {"reason": "credentials_changed"})
    ]
    assert all(signature_ok(headers, body) for headers, body in hook.requests)


async def test_old_finished_notifications_are_pruned_pending_ones_stay(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook)[:1])
    await finish(db_scheduler, sync_id, RunState.FAILED)
    await deliver_due(db_scheduler.deps, sender)  # delivered
    hook.statuses.put(500)
    await finish(db_scheduler, sync_id)
    await deliver_due(db_scheduler.deps, sender)  # refused: pending
    settings = db_scheduler.deps.settings
    later = db_scheduler.clock.now + settings.keep_outcomes + timedelta(days=1)
    pruned = await prune(db_scheduler.deps.pool, retention.prunes(settings), later)
    assert pruned["notifications"] == 1
    listed = await db_scheduler.call(rpc.ALERT_LIST, SyncRef(id=sync_id))
    assert [(n.event, n.status) for n in listed] == [("run_recovered", "pending")]


async def test_a_delivery_cut_short_is_retried_once_its_lease_runs_out(
    db_scheduler: Scheduler, hook: Hook, sender: Sender
) -> None:
    """A sender that dies mid-delivery (here: cancelled) leaves its notification leased, not lost."""
    await db_scheduler.add_connection()
    sync_id = await db_scheduler.create_sync(alerts=alerts_for(hook)[:1])
    await finish(db_scheduler, sync_id, RunState.FAILED)

    class Dying(Sender):
        async def send(self, row: Any) -> None:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await deliver_due(db_scheduler.deps, Dying(sender.http, None))
    assert await deliver_due(db_scheduler.deps, sender) == 0  # leased: not sent twice at once
    db_scheduler.clock.advance(notify.LEASE)
    assert await deliver_due(db_scheduler.deps, sender) == 1
    assert [b["event"] for b in hook.bodies()] == ["run_failed"]
    listed = await db_scheduler.call(rpc.ALERT_LIST, SyncRef(id=sync_id))
    assert [(n.status, n.attempts) for n in listed] == [("delivered", 1)]
