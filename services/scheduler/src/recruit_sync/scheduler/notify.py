"""Alert notifications: written with the run's completion, delivered by a loop with retries.

``after_run`` and ``after_deactivation`` run inside the transaction that records the run's completion:
they apply the rules (scheduler.alerts) to the stored state and write each notification to the
``notifications`` table, so none is lost if the process dies after the commit. ``deliver_due`` leases
the notifications due, sends each (a signed webhook POST through httpx, or an email through aiosmtplib)
and records the attempt: delivered, or the error and the next attempt after an exponential backoff,
until ``MAX_ATTEMPTS`` (then given up). Attempts are listed by ``recruit-sync alerts SYNC``.

Webhook secrets are stored encrypted (runtime.crypto) in the spec, and copied, still encrypted, into
each notification; they are decrypted only to sign a body, and never logged or shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import httpx
import orjson
import structlog

from recruit_sync.contracts.events import RunState, RunSummary
from recruit_sync.contracts.resources import SyncRef
from recruit_sync.contracts.sync_spec import AlertNotification, SyncSpec, WebhookAlert
from recruit_sync.runtime import crypto
from recruit_sync.runtime.rpc import RpcError
from recruit_sync.runtime.service import Resources
from recruit_sync.scheduler import alerts, store
from recruit_sync.scheduler.alerts import FinishedRun, Notification
from recruit_sync.scheduler.deps import Deps, transaction
from recruit_sync.scheduler.specs import SpecError
from recruit_sync.scheduler.store import Conn, StoredSync

log = structlog.get_logger()

SIGNATURE_HEADER = "X-Recruit-Sync-Signature"
MAX_ATTEMPTS = 8
MAX_DELAY = timedelta(hours=1)
LEASE = timedelta(minutes=2)  # a claimed notification is not claimed again for this long
CLAIM_LIMIT = 20
HTTP_TIMEOUT = 10.0


# secrets in the spec -------------------------------------------------------------------------------------


def seal_secrets(spec: SyncSpec, stored: dict[str, str]) -> dict[str, str]:
    """The encrypted signing secret of each webhook of ``spec``, by URL, for ``syncs.alert_secrets``.

    A webhook that gives a secret gets it (encrypted); one that leaves it out keeps the secret stored
    for its URL (the spec as shown, sent back by an edit), and a new URL without one is refused.
    """
    sealed: dict[str, str] = {}
    for index, alert in enumerate(spec.alerts):
        if not isinstance(alert, WebhookAlert):
            continue
        if alert.secret is not None:
            sealed[alert.url] = crypto.encrypt(alert.secret)
        elif alert.url in stored:
            sealed[alert.url] = stored[alert.url]
        else:
            raise SpecError(f"alerts.{index}.secret: a webhook needs its signing secret")
    return sealed


def without_secrets(spec: SyncSpec) -> SyncSpec:
    """The spec as stored, shown and sent in events: no webhook secret."""
    alerts = [
        a.model_copy(update={"secret": None}) if isinstance(a, WebhookAlert) else a for a in spec.alerts
    ]
    return spec.model_copy(update={"alerts": alerts})


def gives_secrets(spec: SyncSpec) -> bool:
    return any(isinstance(a, WebhookAlert) and a.secret is not None for a in spec.alerts)


def _unseal(secret_enc: str) -> str:
    return crypto.decrypt(secret_enc)


# writing notifications (inside the run's completion) ------------------------------------------------------


async def after_run(conn: Conn, sync: StoredSync, summary: RunSummary, now: datetime) -> int:
    """Apply the alert rules to a completed run; write what they notify; returns how many."""
    previous_total = await store.last_success_total(conn, sync.id)
    if summary.state is RunState.SUCCEEDED:
        await store.set_last_success_total(conn, sync.id, summary.total)
    if not sync.spec.alerts:
        return 0
    raised = alerts.forget_gone(alerts.from_rows(await store.alert_state(conn, sync.id)), sync.spec.alerts)
    run = FinishedRun(
        run_id=summary.run_id,
        state=summary.state,
        total=summary.total,
        ignored=summary.ignored,
        error=summary.error,
        previous_total=previous_total,
    )
    notifications, raised = alerts.after_run(sync.spec.alerts, raised, run)
    await store.set_alert_state(conn, sync.id, alerts.as_rows(raised))
    await _write(conn, sync, notifications, now)
    return len(notifications)


async def after_deactivation(conn: Conn, sync_ids: Iterable[uuid.UUID], reason: str, now: datetime) -> int:
    """The syncs just made inactive notify ``sync_deactivated``."""
    written = 0
    for sync_id in sync_ids:
        sync = await store.get_sync(conn, str(sync_id))
        if isinstance(sync, StoredSync) and sync.spec.alerts:
            notifications = alerts.on_deactivation(sync.spec.alerts, reason)
            await _write(conn, sync, notifications, now)
            written += len(notifications)
    return written


async def _write(conn: Conn, sync: StoredSync, notifications: list[Notification], now: datetime) -> None:
    secrets = await store.alert_secrets(conn, sync.id) if notifications else {}
    for n in notifications:
        payload = {
            "sync_id": str(sync.id),
            "sync_name": sync.name,
            "event": n.event.value,
            "run_id": n.run_id,
            "at": now.isoformat(),
            "detail": n.detail,
        }
        secret = secrets.get(n.alert.url) if isinstance(n.alert, WebhookAlert) else None
        await store.insert_notification(
            conn,
            sync_id=sync.id,
            run_id=n.run_id,
            event=n.event.value,
            channel=n.alert.kind,
            target=n.target,
            secret_enc=secret,
            payload=payload,
            at=now,
        )
        log.info(
            "alert notification written", sync_id=str(sync.id), notify=n.event.value, channel=n.alert.kind
        )


# delivery -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    """``RECRUIT_SYNC_SMTP_URL``: ``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://`` for
    TLS from the start; ``RECRUIT_SYNC_SMTP_FROM`` the sender."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool
    sender: str

    @classmethod
    def parse(cls, url: str, sender: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("RECRUIT_SYNC_SMTP_URL: use smtp://[user:password@]host[:port] or smtps://...")
        use_tls = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        start_tls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if use_tls else 587 if start_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=start_tls,
            sender=sender,
        )

    @classmethod
    def from_env(cls) -> SmtpConfig | None:
        url = os.environ.get("RECRUIT_SYNC_SMTP_URL")
        if not url:
            return None
        return cls.parse(url, os.environ.get("RECRUIT_SYNC_SMTP_FROM", "recruit-sync@localhost"))

    def __repr__(self) -> str:  # never the password
        return f"SmtpConfig(host={self.host!r}, port={self.port}, username={self.username!r})"


@dataclass
class Sender:
    http: httpx.AsyncClient
    smtp: SmtpConfig | None

    async def send(self, row: Any) -> None:
        """Deliver one notification; raises with a message safe to store when it was not accepted."""
        body = orjson.dumps(row["payload"])
        if row["channel"] == "webhook":
            signature = hmac.new(_unseal(row["secret_enc"]).encode(), body, hashlib.sha256).hexdigest()
            response = await self.http.post(
                row["target"],
                content=body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: f"sha256={signature}"},
            )
            if not response.is_success:
                raise DeliveryError(f"HTTP {response.status_code}")
        else:
            if self.smtp is None:
                raise DeliveryError("RECRUIT_SYNC_SMTP_URL is not set")
            await aiosmtplib.send(
                email_of(row["payload"], row["target"].split(", "), self.smtp.sender),
                hostname=self.smtp.host,
                port=self.smtp.port,
                username=self.smtp.username,
                password=self.smtp.password,
                use_tls=self.smtp.use_tls,
                start_tls=self.smtp.start_tls,
                timeout=HTTP_TIMEOUT,
            )


class DeliveryError(Exception):
    pass


def email_of(payload: dict[str, Any], to: list[str], sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = f"[recruit-sync] {payload['sync_name']}: {payload['event']}"
    lines = [f"{key}: {payload[key]}" for key in ("sync_name", "sync_id", "event", "run_id", "at")]
    lines += [f"{key}: {value}" for key, value in payload["detail"].items()]
    message.set_content("\n".join(lines) + "\n")
    return message


def retry_delay(attempts: int, base: float) -> timedelta:
    """After the ``attempts``-th failed attempt: base, 2 x base, 4 x base, ... at most MAX_DELAY."""
    return min(timedelta(seconds=base * 2 ** (attempts - 1)), MAX_DELAY)


def retry_base() -> float:
    return float(os.environ.get("RECRUIT_SYNC_ALERT_RETRY_SECONDS", "10"))


async def deliver_due(deps: Deps, sender: Sender, *, base: float | None = None) -> int:
    """Send every notification due now; returns how many were delivered."""
    now = deps.clock()
    base = retry_base() if base is None else base
    async with transaction(deps) as conn:
        rows = await store.lease_notifications(conn, now, now + LEASE, CLAIM_LIMIT)
    delivered = 0
    for row in rows:
        attempts = row["attempts"] + 1
        error: str | None = None
        try:
            await sender.send(row)
        except Exception as exc:  # any failure is an attempt, recorded and retried
            error = _describe(exc)
        gave_up = error is not None and attempts >= MAX_ATTEMPTS
        async with transaction(deps) as conn:
            await store.record_attempt(
                conn,
                row["id"],
                attempts=attempts,
                error=error,
                delivered_at=deps.clock() if error is None else None,
                next_attempt_at=now if error is None else now + retry_delay(attempts, base),
                gave_up_at=now if gave_up else None,
            )
        if error is None:
            delivered += 1
            log.info("alert delivered", notification=row["id"], channel=row["channel"], attempts=attempts)
        else:
            log.warning(
                "alert delivery failed",
                notification=row["id"],
                channel=row["channel"],
                attempts=attempts,
                error=error,
                gave_up=gave_up,
            )
    return delivered


def _describe(exc: Exception) -> str:
    """What is stored and logged of a failure: its kind and message (no request, no credentials)."""
    if isinstance(exc, DeliveryError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:300]


POLL_SECONDS = 1.0


async def delivery_loop(resources: Resources) -> None:
    """Deliver due notifications every ``POLL_SECONDS`` until cancelled; a failed round is retried."""
    deps = Deps.of(resources)
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False) as http:
        sender = Sender(http, SmtpConfig.from_env())
        while True:
            try:
                await deliver_due(deps, sender)
            except Exception:
                log.exception("alert delivery round failed")
            await asyncio.sleep(POLL_SECONDS)


# the listing --------------------------------------------------------------------------------------------

LIST_LIMIT = 50


async def list_notifications(deps: Deps, request: SyncRef) -> list[AlertNotification]:
    """The sync's latest notifications, newest first, with their delivery attempts (no secrets)."""
    async with deps.pool.acquire() as conn:
        sync = await store.get_sync(conn, request.id)
        if sync is None:
            raise RpcError(f"no sync with id or name {request.id!r}", 404)
        rows = await store.notifications_of(conn, sync.id, LIST_LIMIT)
    return [_listed(row) for row in rows]


def _listed(row: Any) -> AlertNotification:
    status = "delivered" if row["delivered_at"] else "gave_up" if row["gave_up_at"] else "pending"
    return AlertNotification(
        id=row["id"],
        sync_id=row["payload"]["sync_id"],
        run_id=row["run_id"],
        event=row["event"],
        channel=row["channel"],
        target=row["target"],
        created_at=row["created_at"],
        status=status,
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"] if status == "pending" else None,
        delivered_at=row["delivered_at"],
    )
