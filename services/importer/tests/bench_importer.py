"""Throughput of the importer's hot paths; prints rates. Not a test (pytest does not collect it).

    .venv/bin/python services/importer/tests/bench_importer.py [--batches 30] [--size 1000] [--broker]

Uses a scratch database on DATABASE_URL's server (and with --broker a scratch vhost on the local
RabbitMQ, made with rabbitmqctl), dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import string
import subprocess
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
from faststream import TestApp

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import ImportSettings, RecordBatch
from recruit_sync.contracts.sync_spec import FieldMapping, Options
from recruit_sync.importer import handlers
from recruit_sync.importer.app import SERVICE
from recruit_sync.importer.email_rules import classify_email
from recruit_sync.runtime.broker import declare_topology, make_broker, publish_event
from recruit_sync.runtime.db import create_pool, migrate
from recruit_sync.runtime.logging import configure_logging
from recruit_sync.runtime.service import build_app
from recruit_sync.runtime.settings import Settings

assert SERVICE.migrations is not None
MIGRATIONS = SERVICE.migrations

MAPPING = [
    FieldMapping(**{"from": "First_Name", "to": "first_name"}),
    FieldMapping(**{"from": "Last_Name", "to": "last_name"}),
    FieldMapping(**{"from": "Current_Employer", "to": "company"}),
    FieldMapping(**{"from": "Skill_Set", "to": "skills"}),
]
DOMAINS = ("gmail.com", "Zylker.com", "acme.io")


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9)))


def records(rng: random.Random, start: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "id": str(100_000_000 + start + i),
            "Email": f"{_word(rng)}.{_word(rng)}{start + i}@{rng.choice(DOMAINS)}",
            "First_Name": _word(rng).title(),
            "Last_Name": _word(rng).title(),
            "Current_Employer": _word(rng).title(),
            "Skill_Set": "Python, SQL",
            "Email_Opt_Out": False,
            "Updated_On": "2026-10-02T10:00:00+05:30",
        }
        for i in range(count)
    ]


def bench_classify(rng: random.Random) -> None:
    addresses = [str(r["Email"]) for r in records(rng, 0, 200_000)]
    started = time.perf_counter()
    for address in addresses:
        classify_email(address)
    rate = len(addresses) / (time.perf_counter() - started)
    print(f"classify_email: {rate:,.0f} plain addresses/s")


async def bench_import(
    database_url: str, batches: int, size: int, concurrency: int, rng: random.Random
) -> None:
    await migrate(database_url, SERVICE.name, MIGRATIONS)
    pool = await create_pool(database_url, SERVICE.name, max_size=concurrency)
    settings = ImportSettings(list_name="Bench", options=Options(), mapping=MAPPING, settings_version=1)
    data = [records(rng, n * size, size) for n in range(batches)]

    async def run(label: str, run_id: str, mutate: bool = False) -> None:
        """Like the service: up to ``concurrency`` batches of the run in flight (they share one list)."""
        slots = asyncio.Semaphore(concurrency)

        async def one(seq: int, recs: list[dict[str, object]]) -> None:
            async with slots:
                if mutate:
                    recs = [{**r, "Last_Name": str(r["Last_Name"]) + "x"} for r in recs]
                batch = RecordBatch(
                    run_id=run_id, sync_id="s1", seq=seq, module="Candidates", settings=settings, records=recs
                )
                await handlers.import_batch(pool, batch)

        started = time.perf_counter()
        await asyncio.gather(*(one(seq, recs) for seq, recs in enumerate(data)))
        rate = batches * size / (time.perf_counter() - started)
        print(f"import_batch, {label}: {rate:,.0f} records/s ({batches} batches of {size})")

    try:
        await run("all new", "run-new")
        await run("all unchanged", "run-unchanged")
        await run("all updated", "run-updated", mutate=True)
        await run("redelivered", "run-new")
    finally:
        await pool.close()


async def bench_service(database_url: str, batches: int, size: int, rng: random.Random) -> None:
    """The whole service in this process: batches queued on RabbitMQ, drained, BatchImported out."""
    vhost = f"rs_bench_{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(_rabbitmqctl, "add_vhost", vhost)
    await asyncio.to_thread(_rabbitmqctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    base = Settings.from_env()
    amqp_url = urlunsplit(urlsplit(base.amqp_url)._replace(path=f"/{vhost}"))
    try:
        await migrate(database_url, SERVICE.name, MIGRATIONS)
        await declare_topology(amqp_url)
        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()
        imported = await channel.declare_queue(exclusive=True)
        await imported.bind(topology.EVENTS_EXCHANGE, routing_key=topology.BATCH_IMPORTED)
        settings = ImportSettings(list_name="Bench", options=Options(), mapping=MAPPING, settings_version=1)
        client = make_broker(amqp_url, consumer="importer-bench")
        await client.connect()
        for seq in range(batches):
            recs = records(rng, seq * size, size)
            batch = RecordBatch(
                run_id="run", sync_id="s1", seq=seq, module="Candidates", settings=settings, records=recs
            )
            await publish_event(client, batch)
        await client.stop()
        app = build_app(SERVICE, dataclasses.replace(base, database_url=database_url, amqp_url=amqp_url))
        received = 0
        async with TestApp(app):
            started = time.perf_counter()
            async with imported.iterator(timeout=60) as messages:
                async for message in messages:
                    await message.ack()
                    received += 1
                    if received == batches:
                        break
            rate = batches * size / (time.perf_counter() - started)
        print(f"service (consume, import, publish; prefetch {base.prefetch}): {rate:,.0f} records/s")
        await connection.close()
    finally:
        await asyncio.to_thread(_rabbitmqctl, "delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4, help="batches in flight (the prefetch)")
    parser.add_argument("--broker", action="store_true", help="also run the service through RabbitMQ")
    args = parser.parse_args()
    configure_logging("importer-bench", level="WARNING")
    rng = random.Random(7)
    bench_classify(rng)
    server = Settings.from_env().database_url
    name = f"rs_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(urlunsplit(urlsplit(server)._replace(path="/postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
        await bench_import(url, args.batches, args.size, args.concurrency, rng)
        if args.broker:
            await admin.execute(f'CREATE DATABASE "{name}_svc"')
            service_url = urlunsplit(urlsplit(server)._replace(path=f"/{name}_svc"))
            await bench_service(service_url, args.batches, args.size, rng)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}_svc" WITH (FORCE)')
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
