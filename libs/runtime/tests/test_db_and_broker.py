from __future__ import annotations

import asyncio
from pathlib import Path

import aio_pika
import asyncpg
import orjson
import pytest
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts import rpc as ops
from recruit_sync.contracts import topology
from recruit_sync.contracts.events import Envelope, FetchFailed, MessageRejected
from recruit_sync.contracts.resources import RunRef
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import (
    EVENTS,
    any_event,
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


async def test_a_pooled_connection_is_released_without_a_round_trip_and_clean(database_url: str) -> None:
    """The pool's reset sends nothing (``db._keep_session``): the server's last statement on the
    connection is still ours after its release; asyncpg still ends a transaction left open."""
    pool = await create_pool(database_url, "public", min_size=1, max_size=1)
    monitor = await asyncpg.connect(database_url)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("SELECT 'the last statement'")
        last = "SELECT query FROM pg_stat_activity WHERE pid = $1"
        assert await monitor.fetchval(last, pid) == "SELECT 'the last statement'"
        conn = await pool.acquire()
        await conn.execute("BEGIN")
        await conn.execute("SELECT pg_advisory_xact_lock(42)")
        await pool.release(conn)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the same connection, reused
            assert not conn.is_in_transaction()
            held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1"
            assert not await conn.fetchval(held, pid)
    finally:
        await monitor.close()
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
    broker = make_broker(amqp_url, consumer="t")
    handled: list[FetchFailed] = []
    rejected: list[MessageRejected] = []

    @broker.subscriber(work_queue(topology.HISTORY_EVENTS), EVENTS, decoder=any_event)
    async def on_event(event: Envelope) -> None:
        (rejected if isinstance(event, MessageRejected) else handled).append(event)  # type: ignore[arg-type]

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
    assert rejected[0].run_id == "run-9" and "the body is not JSON" in rejected[0].reason
    assert rejected[0].queue == topology.HISTORY_EVENTS and rejected[0].consumer == "t"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(topology.dlq_name(topology.HISTORY_EVENTS), passive=True)
        message = await dlq.get(timeout=5)
        assert message.body == b"{broken"


async def test_rpc_answers_typed_names_unknown_operations_and_bad_arguments(amqp_url: str) -> None:
    await declare_topology(amqp_url)
    broker = make_broker(amqp_url, consumer="t")

    async def get_run(request: RunRef) -> object:
        raise rpc.RpcError(f"no run {request.run_id!r}", 404)

    table = rpc.operations([rpc.serve(ops.RUNS_GET, get_run)])  # type: ignore[arg-type]

    @broker.subscriber(rpc_queue(topology.HISTORY_RPC))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await rpc.dispatch(table, message.body)

    client = rpc.RpcClient(amqp_url)
    async with broker:
        await broker.start()
        await client.connect()
        missing, unknown_key, nope = await asyncio.gather(
            client.call_raw(topology.HISTORY_RPC, "runs.get", {"run_id": "r1"}),
            client.call_raw(topology.HISTORY_RPC, "runs.get", {"run_id": "r1", "zzz": 1}),
            client.call_raw(topology.HISTORY_RPC, "nope", {}),
        )
        with pytest.raises(rpc.RpcError) as refused:
            await client.call(ops.RUNS_GET, RunRef(run_id="r2"))
        with pytest.raises(TimeoutError):
            await client.call(ops.LIST_ALL, ops.LIST_ALL.request(), timeout=0.3)  # nobody serves it
        await client.close()
    assert (missing.ok, missing.status, missing.error) == (False, 404, "no run 'r1'")
    assert (unknown_key.status, unknown_key.error) == (400, "zzz: unknown key")
    assert (nope.status, nope.error) == (404, "unknown operation 'nope'")
    assert (refused.value.status, str(refused.value)) == (404, "no run 'r2'")
    assert orjson.loads(orjson.dumps(missing.model_dump()))["ok"] is False
