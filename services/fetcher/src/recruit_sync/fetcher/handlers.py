"""What the fetcher does with a SyncDue: fetch the run, or say why it could not (FetchFailed).

A run that cannot be fetched (credentials refused, Recruit errors or unreachable after retries, unknown
module, criteria that cannot be used, undecryptable secrets) is a *failed run*, not a bad message: it is
answered with FetchFailed and the SyncDue is acked. Broker errors while publishing propagate, so the
SyncDue is redelivered and the run re-fetched with the same deterministic event ids.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import httpx
import structlog

from recruit_sync.contracts.events import ConnectionSnapshot, FetchFailed, SyncDue, caused_by
from recruit_sync.contracts.ids import fetch_failed_id
from recruit_sync.criteria import CriteriaError
from recruit_sync.fetcher.fetch import Publish, fetch_run
from recruit_sync.fetcher.flow import FlowControl
from recruit_sync.fetcher.modules import UnknownModule
from recruit_sync.fetcher.recruit_auth import Credentials, TokenCache
from recruit_sync.fetcher.recruit_client import ModuleCache, RecruitClient
from recruit_sync.fetcher.recruit_http import AuthFailed, RecruitError, RetryPolicy
from recruit_sync.runtime import metrics
from recruit_sync.runtime.crypto import decrypt

log = structlog.get_logger()

ClientFactory = Callable[[ConnectionSnapshot], RecruitClient]


def recruit_client_factory(
    *,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> ClientFactory:
    """Clients for a connection snapshot, its secrets decrypted; tests and the simulator pass a transport.

    The clients share one token cache and one module-list cache: the process makes one factory, so a
    connection's access token and module list serve every run until they expire.
    """
    tokens, module_lists = TokenCache(), ModuleCache()

    def connect(connection: ConnectionSnapshot) -> RecruitClient:
        credentials = Credentials(
            connection.accounts_url,
            connection.client_id,
            decrypt(connection.client_secret_enc),
            decrypt(connection.refresh_token_enc),
        )
        return RecruitClient(
            connection.base_url,
            credentials,
            transport,
            tokens=tokens,
            module_lists=module_lists,
            timeout=timeout,
            retry=retry,
        )

    return connect


async def fetch_sync(
    due: SyncDue, *, connect: ClientFactory, publish: Publish, flow: FlowControl | None = None
) -> None:
    """Fetch ``due``'s run and publish its batches and FetchCompleted, or FetchFailed; with ``flow``,
    never more than its bound of batches ahead of their import (``flow.py``)."""
    try:
        client = connect(due.connection)
    except ValueError as exc:  # a secret that does not decrypt: the message says which key is wrong
        await publish(_failed(due, f"connection {due.connection.name!r}: {exc}"))
        return
    flow = flow or FlowControl(ahead=0, patience=0)
    async with client, flow.run(due.run_id) as window:
        try:
            completed = await fetch_run(due, client, publish, partial(flow.room_for, window))
        except AuthFailed as exc:
            failed = _failed(due, str(exc), client, auth_failed=True)
        except (RecruitError, UnknownModule, CriteriaError) as exc:
            failed = _failed(due, str(exc), client)
        else:
            await publish(completed)
            return
        finally:  # the calls were made (and billed) whatever became of the fetch
            metrics.RECRUIT_CALLS.labels(connection=due.connection.name).inc(client.api_calls)
            metrics.RECRUIT_CREDITS.labels(connection=due.connection.name).inc(client.credits)
    log.warning("fetch failed", error=failed.error, auth_failed=failed.auth_failed)
    await publish(failed)


def _failed(
    due: SyncDue, error: str, client: RecruitClient | None = None, *, auth_failed: bool = False
) -> FetchFailed:
    return FetchFailed(
        event_id=fetch_failed_id(due.run_id),
        **caused_by(due),
        error=error,
        auth_failed=auth_failed,
        api_calls=client.api_calls if client else 0,
        credits=client.credits if client else 0,
    )
