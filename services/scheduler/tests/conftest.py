"""A scheduler wired to a fresh database and vhost, a controllable clock, and a tap on the events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aio_pika
import orjson
import pytest

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import RunCompleted, RunState, RunSummary, Trigger
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import declare_topology, make_broker, publish_event
from recruit_sync.runtime.db import create_pool, migrate
from recruit_sync.runtime.outbox import OutboxRelay
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler.app import MIGRATIONS_DIR
from recruit_sync.scheduler.handlers import Deps, operations

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CLIENT_SECRET = "s3cr3t-client-value"
REFRESH_TOKEN = "rt-plaintext-refresh-token"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@dataclass
class EventTap:
    """An exclusive queue bound to every event: what the scheduler published, in order."""

    queue: aio_pika.abc.AbstractQueue

    async def take(self, routing_key: str | None = None) -> list[dict[str, Any]]:
        taken = []
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            if routing_key is None or message.routing_key == routing_key:
                body = orjson.loads(message.body)
                assert message.message_id == body["event_id"]  # publish_event's contract, via the outbox
                taken.append(body)
        return taken


class HeldOutbox:
    """A relay that publishes nothing: events stay in the outbox table for the test to read."""

    async def publish_pending(self) -> int:
        return 0


@dataclass
class Scheduler:
    deps: Deps
    clock: Clock
    tap: EventTap | None = None
    replies: list[bytes] = field(default_factory=list)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """The events still waiting in the outbox (not yet published), oldest first."""
        async with self.deps.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT payload FROM outbox WHERE routing_key = $1 AND sent_at IS NULL ORDER BY id",
                routing_key,
            )
        return [row["payload"] for row in rows]

    async def call(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Through rpc.dispatch, as the API's request would arrive; every reply is kept."""
        body = orjson.dumps({"op": op, "args": args or {}})
        reply = await rpc.dispatch(operations(self.deps), body)
        self.replies.append(reply)
        decoded: dict[str, Any] = orjson.loads(reply)
        return decoded

    async def ok(self, op: str, args: dict[str, Any] | None = None) -> Any:
        reply = await self.call(op, args)
        assert reply["ok"], reply
        return reply["result"]

    async def fails(self, op: str, args: dict[str, Any], status: int) -> str:
        reply = await self.call(op, args)
        assert not reply["ok"] and reply["status"] == status, reply
        error: str = reply["error"]
        return error

    async def add_connection(self, name: str = "acme", *, daily_credit_budget: int | None = None) -> str:
        result = await self.ok(
            "connection.add",
            {
                "name": name,
                "base_url": "https://recruit.zoho.com",
                "accounts_url": "https://accounts.zoho.com",
                "client_id": "cid",
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
                "daily_credit_budget": daily_credit_budget,
            },
        )
        sync_id: str = result["id"]
        return sync_id

    async def create_sync(self, **spec: Any) -> str:
        base = {"name": "IT graduates", "connection": "acme", "list": "IT talent"}
        result = await self.ok("sync.create", {"spec": {**base, **spec}})
        sync_id: str = result["id"]
        return sync_id


def make_settings(database_url: str, amqp_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        amqp_url=amqp_url,
        api_url="http://127.0.0.1:8000",
        batch_size=500,
        prefetch=4,
        scheduler_tick_seconds=0.2,
        retrieval_max_age_days=30,
    )


@asynccontextmanager
async def open_deps(settings: Settings, clock: Clock) -> AsyncIterator[Deps]:
    """What the app builds at startup: a pool and a relay publishing on a started broker."""
    broker = make_broker(settings.amqp_url)
    await broker.start()
    pool = await create_pool(settings.database_url, "scheduler")
    try:
        yield Deps(
            pool=pool, relay=OutboxRelay(pool, partial(publish_event, broker)), settings=settings, clock=clock
        )
    finally:
        await pool.close()
        await broker.stop()


@pytest.fixture
async def db_scheduler(database_url: str) -> AsyncIterator[Scheduler]:
    """Database only (quick): events are left in the outbox instead of being published."""
    await migrate(database_url, "scheduler", MIGRATIONS_DIR)
    settings = make_settings(database_url, "amqp://unused/")
    pool = await create_pool(database_url, "scheduler")
    clock = Clock(START)
    try:
        yield Scheduler(Deps(pool=pool, relay=HeldOutbox(), settings=settings, clock=clock), clock)
    finally:
        await pool.close()


@pytest.fixture
async def migrated(database_url: str, amqp_url: str) -> Settings:
    await migrate(database_url, "scheduler", MIGRATIONS_DIR)
    await declare_topology(amqp_url)
    return make_settings(database_url, amqp_url)


@pytest.fixture
async def tap(amqp_url: str) -> AsyncIterator[EventTap]:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(topology.EVENTS_EXCHANGE, routing_key="#")
    yield EventTap(queue)
    await connection.close()


@pytest.fixture
async def scheduler(migrated: Settings, tap: EventTap) -> AsyncIterator[Scheduler]:
    clock = Clock(START)
    async with open_deps(migrated, clock) as deps:
        yield Scheduler(deps=deps, clock=clock, tap=tap)


def completed(
    run: dict[str, Any],
    sync_id: str,
    state: RunState = RunState.SUCCEEDED,
    *,
    started_at: datetime,
    trigger: Trigger = Trigger.MANUAL,
    auth_failed: bool = False,
    credits: int = 0,
) -> RunCompleted:
    """``run``'s RunCompleted as history sends it; the run finished a minute after ``started_at``."""
    summary = RunSummary(
        run_id=run["run_id"],
        sync_id=sync_id,
        state=state,
        trigger=trigger,
        started_at=started_at,
        finished_at=started_at + timedelta(minutes=1),
        credits=credits,
    )
    return RunCompleted(summary=summary, auth_failed=auth_failed, correlation_id=run["run_id"])
