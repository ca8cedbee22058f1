"""Connection operations: add a Recruit account, change its credentials, list them (never the secrets).

Secrets are encrypted before they are stored (runtime.crypto) and only ever leave the scheduler
encrypted, inside a run's SyncDue.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from recruit_sync.contracts.resources import Connection, Created, NewConnection, NoArguments, Rekey, Rekeyed
from recruit_sync.runtime import crypto
from recruit_sync.runtime.rpc import RpcError
from recruit_sync.scheduler import budget, notify, store
from recruit_sync.scheduler.deps import Deps, transaction

log = structlog.get_logger()


async def add_connection(deps: Deps, new: NewConnection) -> Created:
    fields = new.model_dump(exclude={"client_secret", "refresh_token"})
    fields["client_secret_enc"] = crypto.encrypt(new.client_secret)
    fields["refresh_token_enc"] = crypto.encrypt(new.refresh_token)
    fields["created_at"] = deps.clock()
    try:
        async with transaction(deps) as conn:
            connection_id = await store.insert_connection(conn, fields)
    except asyncpg.UniqueViolationError:
        raise RpcError(f"name: a connection named {new.name!r} already exists", 409) from None
    log.info("connection added", connection=new.name, connection_id=str(connection_id))
    return Created(id=str(connection_id))


async def rekey_connection(deps: Deps, rekey: Rekey) -> Rekeyed:
    """New credentials or primary email: every sync of the connection waits for a manual re-activation
    (SPEC section 7), and a run still in flight with the old ones cannot deactivate them again."""
    changes: dict[str, Any] = {}
    if rekey.refresh_token is not None:
        changes["refresh_token_enc"] = crypto.encrypt(rekey.refresh_token)
    if rekey.client_secret is not None:
        changes["client_secret_enc"] = crypto.encrypt(rekey.client_secret)
    if rekey.client_id is not None:
        changes["client_id"] = rekey.client_id
    if rekey.primary_email is not None:
        changes["primary_email"] = rekey.primary_email
    async with transaction(deps) as conn:
        connection = await store.connection_by_name(conn, rekey.name, for_update=True)
        if connection is None:
            raise RpcError(f"no connection named {rekey.name!r}", 404)
        await store.update_credentials(conn, connection["id"], changes)
        deactivated = await store.deactivate_syncs(conn, connection["id"], "credentials_changed")
        await notify.after_deactivation(conn, deactivated, "credentials_changed", deps.clock())
    log.info("connection rekeyed", connection=rekey.name, deactivated=len(deactivated))
    return Rekeyed(id=str(connection["id"]), deactivated=[str(sync_id) for sync_id in deactivated])


async def list_connections(deps: Deps, _: NoArguments) -> list[Connection]:
    """Each connection (no secrets) with ``credits_spent``: its runs' credits in the last 24 hours."""
    async with deps.pool.acquire() as conn:
        rows = await store.list_connections(conn, deps.clock() - budget.WINDOW)
    return [Connection.model_validate({**dict(row), "id": str(row["id"])}) for row in rows]
