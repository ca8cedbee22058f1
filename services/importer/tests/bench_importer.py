"""Throughput of the importer's hot paths; prints rates. Not a test (pytest does not collect it).

    .venv/bin/python services/importer/tests/bench_importer.py [--batches 30] [--size 1000]

Uses a scratch database on DATABASE_URL's server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import string
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from recruit_sync.contracts.events import ImportSettings, RecordBatch
from recruit_sync.contracts.sync_spec import FieldMapping, Options
from recruit_sync.importer import handlers
from recruit_sync.importer.app import MIGRATIONS_DIR, SCHEMA
from recruit_sync.importer.email_rules import classify_email
from recruit_sync.runtime.db import create_pool, migrate
from recruit_sync.runtime.settings import Settings

MAPPING = [
    FieldMapping(**{"from": "First_Name", "to": "first_name"}),
    FieldMapping(**{"from": "Last_Name", "to": "last_name"}),
    FieldMapping(**{"from": "Current_Employer", "to": "company"}),
    FieldMapping(**{"from": "Skill_Set", "to": "skills"}),
]


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9)))


def records(rng: random.Random, start: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "id": str(100_000_000 + start + i),
            "Email": f"{_word(rng)}.{_word(rng)}{start + i}@{rng.choice(['gmail.com', 'Zylker.com', 'acme.io'])}",
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


async def bench_import(database_url: str, batches: int, size: int, rng: random.Random) -> None:
    await migrate(database_url, SCHEMA, MIGRATIONS_DIR)
    pool = await create_pool(database_url, SCHEMA, max_size=4)
    settings = ImportSettings(list_name="Bench", options=Options(), mapping=MAPPING, settings_version=1)
    data = [records(rng, n * size, size) for n in range(batches)]

    async def run(label: str, run_id: str, mutate: bool = False) -> None:
        started = time.perf_counter()
        for seq, recs in enumerate(data):
            if mutate:
                recs = [{**r, "Last_Name": str(r["Last_Name"]) + "x"} for r in recs]
            batch = RecordBatch(
                run_id=run_id, sync_id="s1", seq=seq, module="Candidates", settings=settings, records=recs
            )
            await handlers.import_batch(pool, batch)
        rate = batches * size / (time.perf_counter() - started)
        print(f"import_batch, {label}: {rate:,.0f} records/s ({batches} batches of {size})")

    try:
        await run("all new", "run-new")
        await run("all unchanged", "run-unchanged")
        await run("all updated", "run-updated", mutate=True)
        started = time.perf_counter()
        for seq, recs in enumerate(data):
            batch = RecordBatch(
                run_id="run-new", sync_id="s1", seq=seq, module="Candidates", settings=settings, records=recs
            )
            await handlers.import_batch(pool, batch)
        rate = batches * size / (time.perf_counter() - started)
        print(f"import_batch, redelivered: {rate:,.0f} records/s")
    finally:
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(7)
    bench_classify(rng)
    server = Settings.from_env().database_url
    name = f"rs_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(urlunsplit(urlsplit(server)._replace(path="/postgres")))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await bench_import(urlunsplit(urlsplit(server)._replace(path=f"/{name}")), args.batches, args.size, rng)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
