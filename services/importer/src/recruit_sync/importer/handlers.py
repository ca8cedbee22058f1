"""One function per message and RPC operation; ``app.py`` wires them to the broker."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import structlog

from recruit_sync.contracts.events import (
    BatchImported,
    IgnoreReason,
    RecordBatch,
    batch_imported_id,
)
from recruit_sync.contracts.sync_spec import OnRecruitDelete
from recruit_sync.importer import store
from recruit_sync.importer.decide import (
    MalformedRecord,
    ParsedRecord,
    decide,
    read_records,
    records_to_look_up,
)
from recruit_sync.importer.email_rules import classify_email, email_key
from recruit_sync.runtime.rpc import RpcError

log = structlog.get_logger()

SUPPRESSION_REASONS = (IgnoreReason.BOUNCED.value, IgnoreReason.DO_NOT_MAIL.value)
PARSE_SLICE = 100  # records parsed between two yields to the event loop (about half a millisecond)


async def import_batch(pool: asyncpg.Pool, batch: RecordBatch) -> BatchImported:
    """Apply one batch in one transaction and return the BatchImported to publish.

    A batch already imported (a redelivery) changes nothing and yields the event recorded then, so the
    republished event carries the same id and content.
    """
    settings = batch.settings
    parsed = await _read_records(batch)
    records = records_to_look_up(parsed)
    async with pool.acquire() as conn, conn.transaction():
        applied_at = await store.lock_list(conn, settings.list_name)
        done = await store.imported_batch(conn, batch.run_id, batch.seq)
        if done is not None:
            log.info("batch already imported, republishing", seq=batch.seq)
            return done
        list_id = await store.ensure_list(conn, settings.list_name)
        facts = await store.read_facts(
            conn,
            list_id=list_id,
            run_id=batch.run_id,
            module=batch.module,
            records=records,
            deleted_ids=[d.id for d in batch.deleted],
            other_lists=settings.options.on_recruit_delete is OnRecruitDelete.REMOVE_FROM_ORG,
        )
        decision = decide(parsed, batch.deleted, sync_id=batch.sync_id, settings=settings, facts=facts)
        created_elsewhere = await store.apply(
            conn,
            decision,
            list_id=list_id,
            sync_id=batch.sync_id,
            run_id=batch.run_id,
            seq=batch.seq,
            module=batch.module,
            settings_version=settings.settings_version,
        )
        event = BatchImported(
            event_id=batch_imported_id(batch.run_id, batch.seq),
            occurred_at=applied_at,  # orders the batches of a list for history (docs/adr/0007)
            correlation_id=batch.run_id,
            causation_id=str(batch.event_id),
            run_id=batch.run_id,
            sync_id=batch.sync_id,
            seq=batch.seq,
            outcomes=decision.counted_as_existing(created_elsewhere),
        )
        await store.record_batch(conn, event)
    log.info("batch imported", seq=batch.seq, records=len(batch.records), deleted=len(batch.deleted))
    return event


async def _read_records(batch: RecordBatch) -> list[ParsedRecord | MalformedRecord]:
    """Parse the records before taking the list's lock, in slices: batches of one list run one at a
    time, and a batch parsing in one go would hold up the event loop, and so the batch holding the
    lock, for as long as the whole parse takes."""
    parsed: list[ParsedRecord | MalformedRecord] = []
    for start in range(0, len(batch.records), PARSE_SLICE):
        parsed += read_records(batch.records[start : start + PARSE_SLICE], batch.settings, batch.module)
        await asyncio.sleep(0)
    return parsed


# ------------------------------------------------------------------------------------ RPC operations


async def list_members(pool: asyncpg.Pool, args: dict[str, Any]) -> list[dict[str, Any]]:
    name = _text_arg(args, "list")
    async with pool.acquire() as conn:
        members = await store.list_members(conn, name)
    if members is None:
        raise RpcError(f"no mailing list named {name!r}", 404)
    return members


async def list_all(pool: asyncpg.Pool, args: dict[str, Any]) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return await store.all_lists(conn)


async def suppress_add(pool: asyncpg.Pool, args: dict[str, Any]) -> dict[str, Any]:
    reason = args.get("reason")
    if reason not in SUPPRESSION_REASONS:
        raise RpcError(f"reason must be one of {', '.join(SUPPRESSION_REASONS)}, not {reason!r}")
    valid, invalid = _addresses(args)
    added = 0
    if valid:
        async with pool.acquire() as conn:
            added = await store.add_suppressions(conn, reason, [(email_key(e), e) for e in valid])
    return {"added": added, "invalid": invalid}


async def suppress_remove(pool: asyncpg.Pool, args: dict[str, Any]) -> dict[str, Any]:
    valid, invalid = _addresses(args)
    removed = 0
    if valid:
        async with pool.acquire() as conn:
            removed = await store.remove_suppressions(conn, [email_key(e) for e in valid])
    return {"removed": removed, "invalid": invalid}


async def suppress_list(pool: asyncpg.Pool, args: dict[str, Any]) -> list[dict[str, Any]]:
    reason = args.get("reason")
    if reason is not None and reason not in SUPPRESSION_REASONS:
        raise RpcError(f"reason must be one of {', '.join(SUPPRESSION_REASONS)}, not {reason!r}")
    async with pool.acquire() as conn:
        return await store.list_suppressions(conn, reason)


def _text_arg(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise RpcError(f"'{name}' must be a non-empty string")
    return value.strip()


def _addresses(args: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """(normalised addresses, entries that are not addresses) of ``args["emails"]``.

    A role address is still an address: it can be suppressed (imports ignore it earlier anyway).
    """
    emails = args.get("emails")
    if not isinstance(emails, list):
        raise RpcError("'emails' must be a list of email addresses")
    valid: list[str] = []
    invalid: list[Any] = []
    for entry in emails:
        normalised, reason = classify_email(entry) if isinstance(entry, str) else (None, None)
        if normalised is None or reason in (IgnoreReason.EMPTY_EMAIL, IgnoreReason.INVALID_PATTERN):
            invalid.append(entry)
        else:
            valid.append(normalised)
    return valid, invalid
