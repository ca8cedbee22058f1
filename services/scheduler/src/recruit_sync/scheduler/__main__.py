"""``python -m recruit_sync.scheduler [run|migrate]``: the shared service command line; ``migrate`` also
migrates the ``accounts`` schema, which the scheduler serves (``Service`` migrates one schema)."""

import asyncio
import sys

from recruit_sync import accounts
from recruit_sync.runtime.db import migrate
from recruit_sync.runtime.service import main
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler.app import SERVICE

main(SERVICE)
if sys.argv[1:2] == ["migrate"]:
    asyncio.run(migrate(Settings.from_env().database_url, accounts.SCHEMA, accounts.MIGRATIONS_DIR))
