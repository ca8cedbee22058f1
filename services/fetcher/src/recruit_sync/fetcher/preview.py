"""A preview (``sync preview``): fetch as the run would, have the importer decide every batch in a scratch
copy of the contact store, and answer what the run would do; nothing is published, nothing kept
(docs/adr/0020).

The fetch is the run's own (``fetch.fetch_run``), so the records, their batches and the batches' order,
the API calls and the credits are those of the run the preview stands for; only where the batches go
differs: to the importer's PREVIEW_BATCH (two at a time: decisions do not depend on the batch order,
docs/adr/0007), instead of the broker. The scratch store is closed whatever
happens, a failed fetch included, so that no scratch copy is left for nobody to close.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import structlog

from recruit_sync.contracts import rpc
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import RecordBatch, SyncDue
from recruit_sync.contracts.resources import NoArguments, Preview, PreviewBatch, Scratch
from recruit_sync.contracts.rpc import Operation, Req, Res
from recruit_sync.criteria import CriteriaError
from recruit_sync.fetcher.fetch import fetch_run
from recruit_sync.fetcher.handlers import ClientFactory
from recruit_sync.fetcher.modules import UnknownModule
from recruit_sync.fetcher.recruit_http import RecruitError
from recruit_sync.runtime.rpc import RpcError

log = structlog.get_logger()

# Seconds the importer may take: to open a scratch store, its usual answer time (the operation names no
# longer one); to decide a batch or count a whole preview, as long as a long operation may take.
OPEN_TIMEOUT = 30.0
DECIDE_TIMEOUT = rpc.LONG
IN_FLIGHT = 2  # batches sent to the importer and not yet decided

# What makes a run fail (handlers.fetch_sync) makes a preview fail, with the same message. AuthFailed is
# a RecruitError; a preview deactivates nothing: it only says so.
FETCH_FAILURES = (RecruitError, UnknownModule, CriteriaError)

# The fetch failed upstream (Recruit, or a sync it cannot serve): the API answers a bad gateway.
FETCH_FAILED_STATUS = 502


class Importer(Protocol):
    """The importer's RPC operations as the fetcher calls them (``runtime.rpc.RpcClient.call``)."""

    async def call(self, operation: Operation[Req, Res], request: Req, timeout: float) -> Res: ...


async def preview_sync(due: SyncDue, *, connect: ClientFactory, importer: Importer) -> Preview:
    """What ``due``'s run would do now, and what fetching for it cost in Recruit.

    RpcError 502 naming the problem when the fetch fails (as the run's FetchFailed would name it), 503
    when the importer does not answer; a refusal by the importer is passed on as it is.
    """
    try:
        client = connect(due.connection)
    except ValueError as exc:  # a secret that does not decrypt: the message says which key is wrong
        raise RpcError(f"connection {due.connection.name!r}: {exc}", FETCH_FAILED_STATUS) from None
    async with client:
        scratch = await _call(importer, rpc.PREVIEW_OPEN, NoArguments(), OPEN_TIMEOUT)
        deciding = _Deciding(importer, scratch)
        try:
            await fetch_run(due, client, deciding.send)
            await deciding.drain()
        except BaseException as exc:
            await deciding.cancel()
            await _discard(importer, scratch)
            if isinstance(exc, FETCH_FAILURES):
                log.warning("preview fetch failed", run_id=due.run_id, error=str(exc))
                raise RpcError(str(exc), FETCH_FAILED_STATUS) from None
            raise
        outcomes = await _call(importer, rpc.PREVIEW_CLOSE, scratch, DECIDE_TIMEOUT)
    log.info(
        "preview done",
        run_id=due.run_id,
        total=outcomes.summary.total,
        api_calls=client.api_calls,
        credits=client.credits,
    )
    return Preview(
        summary=outcomes.summary,
        samples=outcomes.samples,
        api_calls=client.api_calls,
        credits=client.credits,
    )


class _Deciding:
    """Where the fetch sends its batches: the importer decides each in the scratch store, up to
    ``IN_FLIGHT`` at a time, so a batch's trip and parse overlap the decision before it (the outcomes do
    not depend on the order batches are decided in: docs/adr/0007). The answers (BatchImported) are not
    needed: the scratch store counts the outcomes."""

    def __init__(self, importer: Importer, scratch: Scratch) -> None:
        self.importer = importer
        self.scratch = scratch
        self.pending: list[asyncio.Task[Any]] = []

    async def send(self, event: Envelope) -> None:
        assert isinstance(event, RecordBatch), event  # fetch_run publishes batches, returns its summary
        if len(self.pending) >= IN_FLIGHT:
            await self.pending.pop(0)  # (its failure, if any, is the preview's)
        request = PreviewBatch(scratch=self.scratch.scratch, batch=event)
        self.pending.append(
            asyncio.create_task(_call(self.importer, rpc.PREVIEW_BATCH, request, DECIDE_TIMEOUT))
        )

    async def drain(self) -> None:
        while self.pending:
            await self.pending.pop(0)

    async def cancel(self) -> None:
        for task in self.pending:
            task.cancel()
        await asyncio.gather(*self.pending, return_exceptions=True)
        self.pending.clear()


async def _discard(importer: Importer, scratch: Scratch) -> None:
    """Close the scratch store of a preview that failed; a failure to close is logged, so that the error
    the caller hears is the preview's own."""
    try:
        await _call(importer, rpc.PREVIEW_CLOSE, scratch, DECIDE_TIMEOUT)
    except Exception as exc:
        log.warning("scratch store of a failed preview not closed", scratch=scratch.scratch, error=str(exc))


async def _call(importer: Importer, operation: Operation[Req, Res], request: Req, timeout: float) -> Res:
    try:
        return await importer.call(operation, request, timeout)
    except TimeoutError:
        raise RpcError(f"the importer service is not answering ({operation.name})", 503) from None
