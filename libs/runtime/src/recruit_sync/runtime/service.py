"""The command line every service shares: ``python -m recruit_sync.<service> [run|migrate]``.

``migrate`` also declares the broker topology (idempotent), so publishes never find a queue missing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from faststream import FastStream

from recruit_sync.runtime.broker import declare_topology
from recruit_sync.runtime.db import migrate
from recruit_sync.runtime.logging import configure_logging
from recruit_sync.runtime.settings import Settings


def main(schema: str, build_app: Callable[[Settings], FastStream], migrations_dir: Path) -> None:
    """``run`` (default) serves the FastStream app; ``migrate`` applies this service's migrations."""
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    settings = Settings.from_env()
    configure_logging(schema)
    if command == "migrate":
        asyncio.run(_migrate(settings, schema, migrations_dir))
    elif command == "run":
        asyncio.run(build_app(settings).run())
    else:
        sys.exit(f"usage: python -m recruit_sync.{schema} [run|migrate]")


async def _migrate(settings: Settings, schema: str, migrations_dir: Path) -> None:
    """The database schema and the broker topology, so a fresh machine is ready after ``migrate``."""
    await migrate(settings.database_url, schema, migrations_dir)
    await declare_topology(settings.amqp_url)
