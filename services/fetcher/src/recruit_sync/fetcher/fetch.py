"""One run's fetch: SyncDue in, RecordBatch* then FetchCompleted out, streaming.

Memory stays flat whatever the run's size: records go out in batches of ``due.batch_size`` and nothing
outlives its batch. Listing the next page overlaps with publishing the current batch (one page is read
ahead), because both wait on the network.

Order: the module's records (the selection), then one deleted-records pass whose items fill the last
batch and, if needed, batches of their own. A batch never holds more than ``batch_size`` items in all.
Records are selected on all their fields and sent with only those the import reads (``slim``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import structlog
from pydantic import TypeAdapter, ValidationError

from recruit_sync.contracts.envelope import Envelope, utc_now
from recruit_sync.contracts.events import DeletedRecord, FetchCompleted, RecordBatch, SyncDue, caused_by
from recruit_sync.contracts.ids import fetch_completed_id, record_batch_id
from recruit_sync.fetcher.modules import UnknownModule, resolve_module
from recruit_sync.fetcher.recruit_client import RecruitClient
from recruit_sync.fetcher.selection import fields_to_read, plan_selection, selected_pages
from recruit_sync.fetcher.slim import batch_fields, slim

log = structlog.get_logger()

Publish = Callable[[Envelope], Awaitable[None]]
Room = Callable[[int], Awaitable[None]]
"""Awaited before batch ``seq`` is made and published: flow control (``flow.py``) waits there."""


async def _always_room(seq: int) -> None:
    return None


T = TypeVar("T")

_DELETED_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)


async def fetch_run(
    due: SyncDue, client: RecruitClient, publish: Publish, room: Room = _always_room
) -> FetchCompleted:
    """Fetch the run's records and deletions, publish them as batches, each once ``room`` lets it go;
    return (not publish) the summary."""
    started_at = utc_now()
    plan = plan_selection(due.selection)  # bad criteria fail the run before any call
    try:
        module = resolve_module(due.module, await client.modules())
    except UnknownModule:
        # the cached list may predate a module created in Recruit since: ask once more, uncached
        module = resolve_module(due.module, await client.modules(fresh=True))
    # Recruit hides converted candidates unless asked; exclude_converted must see them to act on them.
    converted: Literal["both"] | None = "both" if module.lower() == "candidates" else None
    log.info(
        "fetch started",
        module=module,
        selection=due.selection.kind,
        endpoint=plan.endpoint,
        search_criteria=plan.search_criteria,
        why_not_search=plan.why_not_search,
        since=due.since.isoformat() if due.since else None,
        deleted_since=due.deleted_since.isoformat() if due.deleted_since else None,
    )

    fields = batch_fields(due.settings)
    read = fields_to_read(plan, fields)
    # records are read with only the fields the batch carries, and those the criteria name: those go
    # once the criteria have read them
    batches = _Batches(due, module, publish, room, fields if read != fields else None)
    pages = selected_pages(client, module, plan, converted=converted, since=due.since, fields=read)
    async with contextlib.aclosing(read_ahead(pages)) as pages_ahead:
        async for page in pages_ahead:
            await batches.add_records(page)
    async for item in client.deleted_records(module, since=due.deleted_since):
        deleted = to_deleted_record(item)
        if deleted is None:
            log.warning("deleted-record item without an id skipped", item_keys=sorted(item)[:10])
            continue
        await batches.add_deleted(deleted)
    await batches.flush()

    completed = FetchCompleted(
        event_id=fetch_completed_id(due.run_id),
        **caused_by(due),
        batch_count=batches.seq,
        record_count=batches.record_count,
        deleted_count=batches.deleted_count,
        api_calls=client.api_calls,
        credits=client.credits,
        started_at=started_at,
    )
    log.info("fetch finished", module=module, **completed.model_dump(include=_FINISHED))
    return completed


_FINISHED = {"batch_count", "record_count", "deleted_count", "api_calls", "credits"}


def to_deleted_record(item: dict[str, Any]) -> DeletedRecord | None:
    """The id and deletion time of a deleted-records item; None without an id (nothing to act on)."""
    raw_id = item.get("id")
    if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or str(raw_id) == "":
        return None
    try:
        deleted_time = _DELETED_TIME.validate_python(item.get("deleted_time"))
    except ValidationError:
        deleted_time = None  # the time is informative only; the id is what the importer acts on
    return DeletedRecord(id=str(raw_id), deleted_time=deleted_time)


@dataclass
class _Batches:
    """Fills and publishes one batch at a time: the only records a run holds in memory."""

    due: SyncDue
    module: str
    publish: Publish
    room: Room
    fields: frozenset[str] | None  # what of each record the batch carries; None: records have just that
    seq: int = 0
    record_count: int = 0
    deleted_count: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[DeletedRecord] = field(default_factory=list)

    def _room(self) -> int:
        return self.due.batch_size - len(self.records) - len(self.deleted)

    async def add_records(self, page: list[dict[str, Any]]) -> None:
        start = 0
        while start < len(page):
            taken = page[start : start + self._room()]
            self.records.extend(taken if self.fields is None else slim(taken, self.fields))
            self.record_count += len(taken)
            start += len(taken)
            if self._room() == 0:
                await self.flush()

    async def add_deleted(self, item: DeletedRecord) -> None:
        self.deleted.append(item)
        self.deleted_count += 1
        if self._room() == 0:
            await self.flush()

    async def flush(self) -> None:
        if not self.records and not self.deleted:
            return
        await self.room(self.seq)  # (the batch's time is when it goes, after any wait for room)
        due = self.due
        batch = RecordBatch(
            event_id=record_batch_id(due.run_id, self.seq),
            **caused_by(due),
            seq=self.seq,
            module=self.module,
            settings=due.settings,
            records=self.records,
            deleted=self.deleted,
        )
        # New lists rather than clear(): the published batch must not change under anyone holding it.
        self.records, self.deleted = [], []
        await self.publish(batch)
        self.seq += 1


@dataclass
class _End(Generic[T]):
    error: Exception | None = None


async def read_ahead(source: AsyncIterator[T], depth: int = 1) -> AsyncGenerator[T, None]:
    """Iterate ``source`` in a task, ``depth`` items ahead of the consumer (overlaps their waits).

    Close it with ``contextlib.aclosing`` so the reading task stops when the consumer does.
    """
    queue: asyncio.Queue[T | _End[T]] = asyncio.Queue(maxsize=depth)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
        except Exception as exc:  # handed to the consumer, raised there
            await queue.put(_End(exc))
        else:
            await queue.put(_End())
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()

    task = asyncio.create_task(pump())
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
