"""The scheduler service: RPC for the API (its own data and the accounts), RunCompleted from history,
the tick, and its outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import structlog
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import RunCompleted
from recruit_sync.runtime.broker import EVENTS, decoder, work_queue
from recruit_sync.runtime.retention import pruning
from recruit_sync.runtime.rpc import Served, serve
from recruit_sync.runtime.service import Resources, Service
from recruit_sync.scheduler import access, connections, notify, retention, runs, syncs
from recruit_sync.scheduler.deps import Deps
from recruit_sync.scheduler.gauges import refresh_gauges

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

log = structlog.get_logger()


def subscribe(broker: RabbitBroker, resources: Resources) -> None:
    @broker.subscriber(work_queue(topology.SCHEDULER_RUN_COMPLETED), EVENTS, decoder=decoder(RunCompleted))
    async def on_run_completed(event: RunCompleted) -> None:
        await runs.record_run_completed(Deps.of(resources), event)


def operations(deps: Deps) -> Iterable[Served]:
    """Every door into the scheduler (contracts.rpc), bound to its dependencies.

    Built without a declared element type, so that mypy checks each handler against its operation's
    request and answer (an ``Any`` context would let any handler through).
    """
    served = (
        serve(rpc.CONNECTION_ADD, _bound(connections.add_connection, deps)),
        serve(rpc.CONNECTION_REKEY, _bound(connections.rekey_connection, deps)),
        serve(rpc.CONNECTION_LIST, _bound(connections.list_connections, deps)),
        serve(rpc.SYNC_CREATE, _bound(syncs.create_sync, deps)),
        serve(rpc.SYNC_GET, _bound(syncs.get_sync, deps)),
        serve(rpc.SYNC_LIST, _bound(syncs.list_syncs, deps)),
        serve(rpc.SYNC_EDIT, _bound(syncs.edit_sync, deps)),
        serve(rpc.SYNC_ACTIVATE, _bound(syncs.activate_sync, deps)),
        serve(rpc.SYNC_PAUSE, _bound(syncs.pause_sync, deps)),
        serve(rpc.SYNC_RUN, _bound(syncs.run_sync, deps)),
        serve(rpc.SYNC_PREVIEW_PLAN, _bound(syncs.preview_plan, deps)),
        serve(rpc.FAVOURITE_SAVE, _bound(syncs.save_favourite, deps)),
        serve(rpc.FAVOURITE_LIST, _bound(syncs.list_favourites, deps)),
        serve(rpc.AUTH_TOKEN, _bound(access.principal_of_token, deps)),
        serve(rpc.AUTH_SIGN_IN, _bound(access.sign_in, deps)),
        serve(rpc.AUTH_USER, _bound(access.principal_of_user, deps)),
        serve(rpc.USER_LIST, _bound(access.list_users, deps)),
        serve(rpc.USER_ADD, _bound(access.add_user, deps)),
        serve(rpc.USER_REMOVE, _bound(access.remove_user, deps)),
        serve(rpc.TOKEN_LIST, _bound(access.list_tokens, deps)),
        serve(rpc.TOKEN_CREATE, _bound(access.create_token, deps)),
        serve(rpc.TOKEN_REVOKE, _bound(access.revoke_token, deps)),
        serve(rpc.ALERT_LIST, _bound(notify.list_notifications, deps)),
    )
    return served


def _bound(
    handler: Callable[[Deps, rpc.Req], Awaitable[rpc.Res]], deps: Deps
) -> Callable[[rpc.Req], Awaitable[rpc.Res]]:
    return lambda request: handler(deps, request)


async def tick(resources: Resources) -> None:
    """Emit due runs every ``scheduler_tick_seconds`` until cancelled; a failed tick is retried next time."""
    deps = Deps.of(resources)
    while True:
        try:
            await runs.emit_due_runs(deps)
        except Exception:
            log.exception("scheduler tick failed")
        await asyncio.sleep(deps.settings.scheduler_tick_seconds)


SERVICE = Service(
    name="scheduler",
    migrations=MIGRATIONS_DIR,
    subscribe=subscribe,
    rpc_queue=topology.SCHEDULER_RPC,
    operations=lambda resources: operations(Deps.of(resources)),
    outbox=True,
    loops=(tick, pruning(retention.prunes), refresh_gauges, notify.delivery_loop),
)
