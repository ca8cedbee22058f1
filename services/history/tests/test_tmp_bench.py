"""ad-hoc: history service end to end through the broker, 200 x 1000 outcomes."""
import asyncio, dataclasses, time
import aio_pika, orjson, pytest
from faststream import TestApp
from recruit_sync.contracts import topology
from recruit_sync.contracts.events import Outcome, RunCompleted
from recruit_sync.history.app import build_app
from recruit_sync.runtime.broker import declare_topology, make_broker, publish_event
from recruit_sync.runtime.settings import Settings

async def test_bench(pool, database_url, amqp_url, run):
    await declare_topology(amqp_url)
    conn = await aio_pika.connect(amqp_url); ch = await conn.channel()
    q = await ch.declare_queue(exclusive=True); await q.bind(topology.EVENTS_EXCHANGE, routing_key="run.completed")
    client = make_broker(amqp_url); await client.connect()
    batches = [run.batch(s, [run.record(str(s*1000+i), f"P{s*1000+i}@x.com", Outcome.NEW) for i in range(1000)]) for s in range(200)]
    await publish_event(client, run.sync_due()); await publish_event(client, run.fetch_completed(200, 200000))
    sem = asyncio.Semaphore(8)
    async def pub(b):
        async with sem: await publish_event(client, b)
    await asyncio.gather(*(pub(b) for b in batches))  # queued before the service starts
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)
    t = time.perf_counter()
    async with TestApp(build_app(settings)):
        async with q.iterator(timeout=120) as it:
            async for m in it:
                ev = RunCompleted.model_validate(orjson.loads(m.body)); break
        e = time.perf_counter() - t
    print(f"\nE2E history service: {ev.summary.total} outcomes in {e:.2f}s = {ev.summary.total/e:,.0f}/s")
    await client.stop(); await conn.close()
