from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

CLI = str(Path(sys.executable).parent / "recruit-sync")


def test_migrate_names_the_problem_when_the_database_is_unreachable() -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}
    result = subprocess.run([CLI, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: migrate failed: ")


@pytest.mark.integration
async def test_migrate_creates_every_schema_and_is_safe_twice(database_url: str, amqp_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            CLI, "migrate", "--json", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
    conn = await asyncpg.connect(database_url)
    try:
        schemas = {r["nspname"] for r in await conn.fetch("SELECT nspname FROM pg_namespace")}
        versions = await conn.fetchval("SELECT count(*) FROM scheduler.schema_migrations")
        accounts_versions = await conn.fetchval("SELECT array_agg(version) FROM accounts.schema_migrations")
    finally:
        await conn.close()
    assert {"scheduler", "fetcher", "importer", "history", "accounts"} <= schemas
    assert versions >= 1
    assert accounts_versions == ["0001_init"]
