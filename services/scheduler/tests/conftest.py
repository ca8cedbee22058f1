"""A scheduler wired to a fresh database and vhost, a controllable clock, and a tap on the events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aio_pika
import orjson
import pytest
from pydantic import BaseModel

from recruit_sync.contracts import rpc
from recruit_sync.contracts.events import RunCompleted, RunState, RunSummary, Trigger
from recruit_sync.contracts.resources import CreateSync, NewConnection
from recruit_sync.contracts.rpc import Operation, Req, Res, RpcReply
from recruit_sync.contracts.sync_spec import SyncSpec
from recruit_sync.runtime.broker import make_broker, publish_event
from recruit_sync.runtime.db import create_pool, migrate
from recruit_sync.runtime.outbox import OutboxRelay
from recruit_sync.runtime.rpc import Operations, RpcError, dispatch, operations
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler import app
from recruit_sync.scheduler.app import MIGRATIONS_DIR
from recruit_sync.scheduler.deps import Deps

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
    """A private queue bound to every event: what the scheduler published, in order."""

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


def connection(name: str = "acme", **changes: Any) -> NewConnection:
    return NewConnection.model_validate(
        {
            "name": name,
            "base_url": "https://recruit.zoho.com",
            "accounts_url": "https://accounts.zoho.com",
            "client_id": "cid",
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            **changes,
        }
    )


@dataclass
class Scheduler:
    """The scheduler's RPC operations, called as the API calls them (``RpcClient.call``/``call_raw``)
    but in process: the request goes through ``rpc.dispatch`` as bytes, and every reply is kept."""

    deps: Deps
    clock: Clock
    tap: EventTap | None = None
    replies: list[bytes] = field(default_factory=list)
    table: Operations = field(init=False)

    def __post_init__(self) -> None:
        self.table = operations(app.operations(self.deps))

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """The events still waiting in the outbox (not yet published), oldest first."""
        async with self.deps.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT payload FROM outbox WHERE routing_key = $1 AND sent_at IS NULL ORDER BY id",
                routing_key,
            )
        return [row["payload"] for row in rows]

    async def call_raw(self, op: str, args: dict[str, Any] | None = None) -> RpcReply:
        reply = await dispatch(self.table, orjson.dumps({"op": op, "args": args or {}}))
        self.replies.append(reply)
        return RpcReply.model_validate(orjson.loads(reply))

    async def call(self, operation: Operation[Req, Res], request: Req) -> Res:
        """The typed answer; RpcError when the scheduler refuses."""
        reply = await self.call_raw(operation.name, _args(request))
        if not reply.ok:
            raise RpcError(reply.error or "", reply.status)
        return operation.answers.validate_python(reply.result)

    async def refused(
        self, operation: Operation[Any, Any], request: BaseModel | dict[str, Any], status: int
    ) -> str:
        """The error of a refused request (a model, or raw arguments to send as they are)."""
        args = _args(request) if isinstance(request, BaseModel) else request
        reply = await self.call_raw(operation.name, args)
        assert not reply.ok and reply.status == status, reply
        return reply.error or ""

    async def add_connection(self, name: str = "acme", *, daily_credit_budget: int | None = None) -> str:
        created = await self.call(
            rpc.CONNECTION_ADD, connection(name, daily_credit_budget=daily_credit_budget)
        )
        return created.id

    async def create_sync(self, **spec: Any) -> str:
        base = {"name": "IT graduates", "connection": "acme", "list": "IT talent"}
        created = await self.call(rpc.SYNC_CREATE, CreateSync(spec=SyncSpec.model_validate({**base, **spec})))
        return created.id


def _args(request: BaseModel) -> dict[str, Any]:
    # as RpcClient sends a request: unset keys left out (a patch says only what changes)
    return request.model_dump(mode="json", by_alias=True, exclude_unset=True)


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
    """What the service builds at start-up: a pool and a relay publishing on a started broker."""
    broker = make_broker(settings.amqp_url, consumer="scheduler")
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
    return make_settings(database_url, amqp_url)


@pytest.fixture
async def tap(event_queue: Callable[[str], Awaitable[aio_pika.abc.AbstractQueue]]) -> EventTap:
    return EventTap(await event_queue("#"))


@pytest.fixture
async def scheduler(migrated: Settings, tap: EventTap) -> AsyncIterator[Scheduler]:
    clock = Clock(START)
    async with open_deps(migrated, clock) as deps:
        yield Scheduler(deps=deps, clock=clock, tap=tap)


def completed(
    run_id: str,
    sync_id: str,
    state: RunState = RunState.SUCCEEDED,
    *,
    started_at: datetime,
    trigger: Trigger = Trigger.MANUAL,
    auth_failed: bool = False,
    credits: int = 0,
) -> RunCompleted:
    """The run's RunCompleted as history sends it; the run finished a minute after ``started_at``."""
    summary = RunSummary(
        run_id=run_id,
        sync_id=sync_id,
        state=state,
        trigger=trigger,
        started_at=started_at,
        finished_at=started_at + timedelta(minutes=1),
        credits=credits,
    )
    return RunCompleted(summary=summary, auth_failed=auth_failed, correlation_id=run_id)
