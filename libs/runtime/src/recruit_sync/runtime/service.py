"""How every service is put together and started: one skeleton, so each ``app.py`` says only what is
its own (docs/adr/0016).

A ``Service`` names the service (its consumer name, database schema and log name), its subscribers, its
RPC operations, whether it has an outbox, and its background loops. ``build_app`` turns it into a
FastStream app whose start-up is the same everywhere: declare the topology, open the pool, build the
outbox relay and the RPC table, then start the relay and the loops once the broker is up; shutdown
undoes it in reverse. ``main`` is the command line every service shares:
``python -m recruit_sync.<service> [run|migrate]``.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import structlog
import uvloop
from faststream import FastStream
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import declare_topology, make_broker, publish_event, rpc_queue
from recruit_sync.runtime.db import create_pool, migrate
from recruit_sync.runtime.logging import configure_logging
from recruit_sync.runtime.ops import OpsServer, latest_migration, ops_port_from_env, service_ready
from recruit_sync.runtime.outbox import OutboxRelay
from recruit_sync.runtime.settings import Settings
from recruit_sync.runtime.tracing import configure_tracing

log = structlog.get_logger()


@dataclass
class Resources:
    """What a service holds between start-up and shutdown. Subscribers, operations and loops read it
    when they run, which is always after start-up."""

    settings: Settings
    broker: RabbitBroker
    _pool: asyncpg.Pool | None = None
    _relay: OutboxRelay | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "the service has no database, or has not started"
        return self._pool

    @property
    def relay(self) -> OutboxRelay:
        assert self._relay is not None, "the service has no outbox, or has not started"
        return self._relay

    async def publish(self, event: Envelope) -> None:
        await publish_event(self.broker, event)


Loop = Callable[[Resources], Coroutine[Any, Any, None]]


def _no_subscribers(broker: RabbitBroker, resources: Resources) -> None:
    return None


@dataclass(frozen=True)
class Service:
    name: str  # consumer name (MessageRejected), database schema, log name
    migrations: Path | None = None  # None: the service keeps no database
    subscribe: Callable[[RabbitBroker, Resources], None] = _no_subscribers
    rpc_queue: str | None = None
    operations: Callable[[Resources], Iterable[rpc.Served]] | None = None
    outbox: bool = False
    # database connections: one per delivery in flight (the prefetch), plus RPC calls and loops
    extra_connections: int = 2
    loops: Sequence[Loop] = field(default_factory=tuple)
    on_start: Callable[[Resources], None] | None = None
    # the cycle collector's thresholds once built (None: CPython's own); see tune_garbage_collector
    gc_thresholds: tuple[int, int, int] | None = None


def build_app(service: Service, settings: Settings) -> FastStream:
    broker = make_broker(settings.amqp_url, consumer=service.name, prefetch=settings.prefetch)
    resources = Resources(settings, broker)
    service.subscribe(broker, resources)
    table: rpc.Operations = {}
    if service.rpc_queue is not None:

        @broker.subscriber(rpc_queue(service.rpc_queue))
        async def on_rpc(message: RabbitMessage) -> bytes:
            return await rpc.dispatch(table, message.body)

    app = FastStream(broker)
    tasks: list[asyncio.Task[None]] = []
    # the ops port (runtime.ops): /metrics and health, when RECRUIT_SYNC_OPS_PORT is set
    ops_port = ops_port_from_env()
    database_url = settings.database_url if service.migrations is not None else None
    ready = service_ready(broker.ping, database_url, service.name, latest_migration(service.migrations))
    ops = OpsServer(ops_port, ready) if ops_port is not None else None

    @app.on_startup
    async def open_resources() -> None:
        if ops is not None:
            await ops.start()
        await declare_topology(settings.amqp_url, settings.journal_retention)
        if service.migrations is not None:
            resources._pool = await create_pool(
                settings.database_url, service.name, max_size=settings.prefetch + service.extra_connections
            )
        if service.outbox:
            resources._relay = OutboxRelay(resources.pool, partial(publish_event, broker))
        if service.operations is not None:
            table.update(rpc.operations(service.operations(resources)))
        if service.on_start is not None:
            service.on_start(resources)

    @app.after_startup
    async def start_loops() -> None:
        if resources._relay is not None:
            resources._relay.start()  # its first pass sends what was left unsent
        tasks.extend(asyncio.create_task(loop(resources)) for loop in service.loops)

    @app.on_shutdown
    async def stop_loops() -> None:
        for task in tasks:
            task.cancel()
        if tasks:  # bounded: a loop stuck in a call that ignores cancellation must not hold up the exit
            _, stuck = await asyncio.wait(tasks, timeout=STOP_STEP_SECONDS)
            for task in stuck:
                log.warning("a background loop did not stop in time", loop=task.get_name())
        if resources._relay is not None:
            await _bounded(resources._relay.stop(), "the outbox relay")

    @app.after_shutdown
    async def close_pool() -> None:
        if resources._pool is not None:
            if not await _bounded(resources._pool.close(), "the database pool"):
                resources._pool.terminate()  # connections still held: closed by force
        if ops is not None:
            await _bounded(ops.stop(), "the ops server")

    return app


def tune_garbage_collector(thresholds: tuple[int, int, int] | None) -> None:
    """Objects alive once the service is built (its modules, app and broker) are frozen out of the cycle
    collector's scans: with CPython's defaults, every full collection rescanned them all, and history
    spent a third of its CPU there (a model per outcome, 2,000 a batch). ``thresholds`` make it run less
    often, for a service that makes few cycles (the importer): history does make some, per delivery,
    and with rare collections they held a run's events until its end (docs/adr/0027)."""
    gc.collect()
    gc.freeze()
    if thresholds is not None:
        gc.set_threshold(*thresholds)


STOP_STEP_SECONDS = 10.0  # how long each step of a shutdown may take before it is cut short


async def _bounded(step: Awaitable[None], what: str) -> bool:
    """Await one step of a shutdown for at most ``STOP_STEP_SECONDS``; False (and a warning) if cut short."""
    try:
        await asyncio.wait_for(step, STOP_STEP_SECONDS)
    except TimeoutError:
        log.warning("shutdown step cut short", step=what, seconds=STOP_STEP_SECONDS)
        return False
    return True


def main(service: Service, build: Callable[[Settings], FastStream] | None = None) -> None:
    """``run`` (default) serves the app; ``migrate`` applies this service's migrations and declares the
    broker topology, so a fresh machine is ready after it."""
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    settings = Settings.from_env()
    configure_logging(service.name)
    if command == "migrate":
        asyncio.run(_migrate(settings, service))
    elif command == "run":
        configure_tracing(service.name)  # off unless the OTEL_* variables configure it
        app = (build or partial(build_app, service))(settings)
        # here, not in build_app: tests start services inside their own process
        tune_garbage_collector(service.gc_thresholds)
        # uvloop's event loop (libuv, in C): docs/adr/0029
        uvloop.run(app.run())
    else:
        sys.exit(f"usage: python -m recruit_sync.{service.name} [run|migrate]")


async def _migrate(settings: Settings, service: Service) -> None:
    if service.migrations is not None:
        await migrate(settings.database_url, service.name, service.migrations)
    await declare_topology(settings.amqp_url, settings.journal_retention)
