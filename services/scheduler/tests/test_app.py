"""The service as deployed: RPC over RabbitMQ, the tick loop, the relay and the RunCompleted consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import RunCompleted, RunState, RunSummary, Trigger
from recruit_sync.contracts.resources import CreateSync, NoArguments, SyncRef
from recruit_sync.contracts.sync_spec import SyncSpec
from recruit_sync.runtime.broker import publish_event
from recruit_sync.runtime.rpc import RpcClient
from recruit_sync.runtime.service import build_app
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler import app
from recruit_sync.scheduler.app import SERVICE
from recruit_sync.scheduler.deps import Deps

from .conftest import CLIENT_SECRET, REFRESH_TOKEN, EventTap, connection

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


def test_every_scheduler_rpc_operation_is_served() -> None:
    deps = Deps(pool=None, relay=None, settings=None)  # type: ignore[arg-type]  # bound, never called
    served = {item.operation for item in app.operations(deps)}
    assert served == {op for op in rpc.OPERATIONS if op.queue == topology.SCHEDULER_RPC}


@pytest.fixture
async def client(migrated: Settings) -> AsyncIterator[RpcClient]:
    client = RpcClient(migrated.amqp_url)
    await client.connect()
    yield client
    await client.close()


async def test_a_once_sync_is_scheduled_run_and_completed_end_to_end(
    migrated: Settings, tap: EventTap, client: RpcClient, publisher: RabbitBroker
) -> None:
    async with build_app(SERVICE, migrated):
        await client.call(rpc.CONNECTION_ADD, connection(base_url="http://127.0.0.1:8700"), timeout=10)
        spec = SyncSpec.model_validate({"name": "now", "connection": "acme", "list": "L"})
        created = await client.call(rpc.SYNC_CREATE, CreateSync(spec=spec), timeout=10)

        async def sync_due() -> list[dict[str, Any]]:
            return await tap.take(topology.SYNC_DUE)

        [due] = await eventually(sync_due)  # the tick found it due and the relay published it
        assert (due["sync_id"], due["trigger"]) == (created.id, "schedule")

        summary = RunSummary(
            run_id=due["run_id"],
            sync_id=created.id,
            state=RunState.SUCCEEDED,
            trigger=Trigger.SCHEDULE,
            started_at=datetime.now(UTC),
            finished_at=datetime.now(UTC),
        )
        await publish_event(publisher, RunCompleted(summary=summary, correlation_id=due["run_id"]))

        async def completed() -> bool:
            return (await client.call(rpc.SYNC_GET, SyncRef(id=created.id), timeout=10)).state == "completed"

        assert await eventually(completed)
        detail = await client.call(rpc.SYNC_GET, SyncRef(id="now"), timeout=10)
        assert detail.last_retrieval_kind == "full" and detail.run_in_flight is None

        # every answer on the wire leaves the secrets out
        for op, args in ((rpc.CONNECTION_LIST, {}), (rpc.SYNC_GET, {"id": "now"}), (rpc.SYNC_LIST, {})):
            reply = await client.call_raw(op.queue, op.name, args, timeout=10)
            assert reply.ok and CLIENT_SECRET not in reply.model_dump_json()
            assert REFRESH_TOKEN not in reply.model_dump_json()
        assert [c.name for c in await client.call(rpc.CONNECTION_LIST, NoArguments(), timeout=10)] == ["acme"]


async def test_malformed_requests_are_refused_on_the_wire_naming_the_key(
    migrated: Settings, client: RpcClient
) -> None:
    async with build_app(SERVICE, migrated):
        unknown = await client.call_raw(
            rpc.SYNC_GET.queue, rpc.SYNC_GET.name, {"id": "x", "bogus": 1}, timeout=10
        )
        assert (unknown.ok, unknown.status, unknown.error) == (False, 400, "bogus: unknown key")
        args = {**connection().model_dump(), "daily_credit_budget": 2**31}
        huge = await client.call_raw(rpc.CONNECTION_ADD.queue, rpc.CONNECTION_ADD.name, args, timeout=10)
        assert (huge.ok, huge.status) == (False, 400)
        assert huge.error is not None and huge.error.startswith("daily_credit_budget: ")
        missing = await client.call_raw(rpc.SYNC_GET.queue, rpc.SYNC_GET.name, {"id": "ghost"}, timeout=10)
        assert (missing.status, missing.error) == (404, "no sync with id or name 'ghost'")
