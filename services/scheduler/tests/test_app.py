"""The app as deployed: RPC over RabbitMQ, the tick loop, the relay and the RunCompleted consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import RunCompleted, RunState, RunSummary, Trigger
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import make_broker, publish_event
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler.app import build_app

from .conftest import CLIENT_SECRET, REFRESH_TOKEN, EventTap

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def test_a_once_sync_is_scheduled_run_and_completed_end_to_end(
    migrated: Settings, tap: EventTap
) -> None:
    client = rpc.RpcClient(migrated.amqp_url)
    await client.connect()
    publisher = make_broker(migrated.amqp_url)
    await publisher.connect()
    replies: list[str] = []

    async def call(op: str, args: dict[str, Any]) -> Any:
        reply = await client.call(topology.SCHEDULER_RPC, op, args, timeout=10)
        replies.append(reply.model_dump_json())
        assert reply.ok, reply
        return reply.result

    try:
        async with build_app(migrated):
            await call(
                "connection.add",
                {
                    "name": "acme",
                    "base_url": "http://127.0.0.1:8700",
                    "accounts_url": "http://127.0.0.1:8700",
                    "client_id": "cid",
                    "client_secret": CLIENT_SECRET,
                    "refresh_token": REFRESH_TOKEN,
                },
            )
            created = await call("sync.create", {"spec": {"name": "now", "connection": "acme", "list": "L"}})

            async def sync_due() -> list[dict[str, Any]]:
                return await tap.take(topology.SYNC_DUE)

            [due] = await eventually(sync_due)  # the tick found it due and the relay published it
            assert (due["sync_id"], due["trigger"]) == (created["id"], "schedule")

            summary = RunSummary(
                run_id=due["run_id"],
                sync_id=created["id"],
                state=RunState.SUCCEEDED,
                trigger=Trigger.SCHEDULE,
                started_at=datetime.now(UTC),
                finished_at=datetime.now(UTC),
            )
            await publish_event(publisher, RunCompleted(summary=summary, correlation_id=due["run_id"]))

            async def completed() -> bool:
                return bool((await call("sync.get", {"id": created["id"]}))["state"] == "completed")

            assert await eventually(completed)
            detail = await call("sync.get", {"id": "now"})
            assert detail["last_retrieval_kind"] == "full" and detail["run_in_flight"] is None
            await call("connection.list", {})
    finally:
        await client.close()
        await publisher.stop()
    assert replies and not any(CLIENT_SECRET in r or REFRESH_TOKEN in r for r in replies)
