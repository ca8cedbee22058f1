"""A service with one slow handler, run as its own process by ``test_graceful_shutdown``.

``python slow_worker.py``: the runtime's skeleton (``runtime.service.main``) with a database schema of its
own (``$SLOW_WORKER_MIGRATIONS``). Its handler of ``FetchCompleted`` on history's work queue does what
every real handler does, its effect in a transaction, but slowly: it records the run in ``handled``,
writes ``started <run>`` to ``$SLOW_WORKER_LOG``, sleeps ``$SLOW_WORKER_SECONDS`` holding the transaction
open, commits, and writes ``done <run>``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import FetchCompleted
from recruit_sync.runtime.broker import EVENTS, decoder, work_queue
from recruit_sync.runtime.service import Resources, Service, main


def _note(line: str) -> None:
    with Path(os.environ["SLOW_WORKER_LOG"]).open("a") as log:
        log.write(line + "\n")


def subscribe(broker: RabbitBroker, resources: Resources) -> None:
    @broker.subscriber(work_queue(topology.HISTORY_EVENTS), EVENTS, decoder=decoder(FetchCompleted))
    async def slowly(event: FetchCompleted) -> None:
        async with resources.pool.acquire() as connection, connection.transaction():
            await connection.execute("INSERT INTO handled (run_id) VALUES ($1)", event.run_id)
            _note(f"started {event.run_id}")
            await asyncio.sleep(float(os.environ["SLOW_WORKER_SECONDS"]))
        _note(f"done {event.run_id}")


SERVICE = Service(
    name="slow_worker", migrations=Path(os.environ.get("SLOW_WORKER_MIGRATIONS", ".")), subscribe=subscribe
)

if __name__ == "__main__":
    main(SERVICE)
