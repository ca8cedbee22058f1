"""``recruit-sync migrate`` in one process: every schema's SQL files, then the broker topology.

Each schema's package ships its migrations as package data (``recruit_sync.<schema>/migrations/*.sql``:
each service's, and ``recruit_sync.accounts``'s); reading them through importlib.resources runs none of
the service's code, so no service is imported here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import aio_pika.exceptions
import asyncpg

from recruit_sync.cli.client import CliError
from recruit_sync.runtime.broker import declare_topology
from recruit_sync.runtime.db import migrate
from recruit_sync.runtime.settings import Settings


def migrate_all(schemas: Sequence[str]) -> dict[str, list[str]]:
    """{schema: migrations applied now}; a failure names the schema and the problem."""
    try:
        return asyncio.run(_migrate_all(schemas, Settings.from_env()))
    except (OSError, asyncpg.PostgresError, aio_pika.exceptions.AMQPError) as exc:
        raise CliError(f"migrate failed: {exc!s}") from exc


async def _migrate_all(schemas: Sequence[str], settings: Settings) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for schema in schemas:
        directory = Path(str(files(f"recruit_sync.{schema}") / "migrations"))
        try:
            applied[schema] = await migrate(settings.database_url, schema, directory)
        except asyncpg.PostgresError as exc:
            raise CliError(f"migrate failed for {schema}: {exc}") from exc
    await declare_topology(settings.amqp_url, settings.journal_retention)
    return applied
