from __future__ import annotations

import asyncio
from pathlib import Path

import aio_pika
import asyncpg
import orjson
import pytest
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import FetchFailed, MessageRejected
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import (
    EVENTS,
    consume,
    declare_topology,
    make_broker,
    publish_event,
    rpc_queue,
    work_queue,
)
from recruit_sync.runtime.db import create_pool, migrate

pytestmark = pytest.mark.integration


async def test_migrations_apply_once_into_their_own_schema(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (tmp_path / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    assert await migrate(database_url, "svc", tmp_path) == ["0001_init", "0002_more"]
    assert await migrate(database_url, "svc", tmp_path) == []
    pool = await create_pool(database_url, "svc")
    try:
        await pool.execute("INSERT INTO things VALUES (1, 'x')")  # search_path is the service's schema
        assert await pool.fetchval("SELECT name FROM svc.things") == "x"
        assert await pool.fetchval("SELECT '{\"a\": 1}'::jsonb") == {"a": 1}
    finally:
        await pool.close()


async def test_migrate_creates_a_missing_database(database_url: str, tmp_path: Path) -> None:
    missing = database_url.rsplit("/", 1)[0] + "/" + database_url.rsplit("/", 1)[1] + "_new"
    (tmp_path / "0001.sql").write_text("SELECT 1;")
    try:
        await migrate(missing, "svc", tmp_path)
        conn = await asyncpg.connect(missing)
        await conn.close()
    finally:
        admin = await asyncpg.connect(database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{missing.rsplit("/", 1)[1]}" WITH (FORCE)')
        await admin.close()


async def test_poison_is_dead_lettered_and_announced_good_messages_flow(amqp_url: str) -> None:
    await declare_topology(amqp_url)
    broker = make_broker(amqp_url)
    handled: list[FetchFailed] = []
    rejected: list[MessageRejected] = []

    @broker.subscriber(work_queue(topology.HISTORY_EVENTS), EVENTS)
    async def on_event(message: RabbitMessage) -> None:
        if message.raw_message.routing_key == topology.MESSAGE_REJECTED:
            await consume(
                broker, message, MessageRejected, consumer="t", queue="q", handler=_append(rejected)
            )
        else:
            await consume(broker, message, FetchFailed, consumer="t", queue="q", handler=_append(handled))

    async with broker:
        await broker.start()
        await broker.publish(
            b"{broken", exchange=EVENTS, routing_key=topology.FETCH_FAILED, correlation_id="run-9"
        )
        await publish_event(
            broker, FetchFailed(run_id="run-1", sync_id="s", error="boom", correlation_id="run-1")
        )
        for _ in range(50):
            if handled and rejected:
                break
            await asyncio.sleep(0.1)
    assert [e.run_id for e in handled] == ["run-1"]
    assert rejected[0].run_id == "run-9" and "cannot read FetchFailed" in rejected[0].reason
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(topology.dlq_name(topology.HISTORY_EVENTS), passive=True)
        message = await dlq.get(timeout=5)
        assert message.body == b"{broken"


def _append(into: list):  # type: ignore[no-untyped-def, type-arg]
    async def handler(event) -> None:  # type: ignore[no-untyped-def]
        into.append(event)

    return handler


async def test_rpc_replies_and_names_unknown_operations(amqp_url: str) -> None:
    await declare_topology(amqp_url)
    broker = make_broker(amqp_url)

    async def echo(args: dict) -> dict:  # type: ignore[type-arg]
        if "fail" in args:
            raise rpc.RpcError("no such thing", 404)
        return {"echo": args}

    @broker.subscriber(rpc_queue(topology.HISTORY_RPC))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await rpc.dispatch({"echo": echo}, message.body)

    client = rpc.RpcClient(amqp_url)
    async with broker:
        await broker.start()
        await client.connect()
        ok, missing, failed = await asyncio.gather(
            client.call(topology.HISTORY_RPC, "echo", {"a": 1}),
            client.call(topology.HISTORY_RPC, "nope", {}),
            client.call(topology.HISTORY_RPC, "echo", {"fail": 1}),
        )
        with pytest.raises(TimeoutError):
            await client.call(topology.IMPORTER_RPC, "echo", {}, timeout=0.3)  # nobody serves it
        await client.close()
    assert (ok.ok, ok.result) == (True, {"echo": {"a": 1}})
    assert (missing.ok, missing.status) == (False, 404) and "nope" in (missing.error or "")
    assert (failed.status, failed.error) == (404, "no such thing")
    assert orjson.loads(orjson.dumps(ok.model_dump()))["ok"] is True
