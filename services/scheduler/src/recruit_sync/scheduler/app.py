"""The scheduler's FastStream app: RPC for the API, RunCompleted from history, the tick and the relay."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from pathlib import Path

import structlog
from faststream import FastStream
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import RunCompleted
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
from recruit_sync.runtime.db import create_pool
from recruit_sync.runtime.outbox import OutboxRelay
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler import handlers

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CONSUMER = "scheduler"

log = structlog.get_logger()


async def scheduler_loop(deps: handlers.Deps) -> None:
    """Emit due runs every ``scheduler_tick_seconds`` until cancelled; a failed tick is retried next time."""
    while True:
        try:
            await handlers.emit_due_runs(deps)
        except Exception:
            log.exception("scheduler tick failed")
        await asyncio.sleep(deps.settings.scheduler_tick_seconds)


class _Running:
    """What startup builds (the pool needs the event loop). Subscribers start after it, so never see None."""

    def __init__(self, settings: Settings, broker: RabbitBroker) -> None:
        self.settings = settings
        self.broker = broker
        self.deps: handlers.Deps | None = None
        self.operations: dict[str, rpc.Operation] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await declare_topology(self.settings.amqp_url)
        pool = await create_pool(self.settings.database_url, "scheduler")
        self.relay = OutboxRelay(pool, partial(publish_event, self.broker))
        self.deps = handlers.Deps(pool=pool, relay=self.relay, settings=self.settings)
        self.operations.update(handlers.operations(self.deps))

    async def start_loops(self) -> None:
        assert self.deps is not None
        self.relay.start()
        self.tasks = [asyncio.create_task(scheduler_loop(self.deps), name="scheduler-tick")]

    async def stop(self) -> None:
        await self.relay.stop()
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.deps is not None:
            await self.deps.pool.close()

    async def record_run_completed(self, event: RunCompleted) -> None:
        assert self.deps is not None
        await handlers.record_run_completed(self.deps, event)


def build_app(settings: Settings) -> FastStream:
    broker = make_broker(settings.amqp_url, settings.prefetch)
    app = FastStream(broker)
    running = _Running(settings, broker)

    @broker.subscriber(rpc_queue(topology.SCHEDULER_RPC))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await rpc.dispatch(running.operations, message.body)

    @broker.subscriber(work_queue(topology.SCHEDULER_RUN_COMPLETED), EVENTS)
    async def on_run_completed(message: RabbitMessage) -> None:
        await consume(
            broker,
            message,
            RunCompleted,
            consumer=CONSUMER,
            queue=topology.SCHEDULER_RUN_COMPLETED,
            handler=running.record_run_completed,
        )

    app.on_startup(running.start)
    app.after_startup(running.start_loops)
    app.on_shutdown(running.stop)
    return app
