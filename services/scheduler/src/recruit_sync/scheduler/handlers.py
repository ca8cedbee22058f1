"""One function per RPC operation and per incoming event, plus the tick that emits due runs.

Every handler does its work in one transaction; events it causes go to the outbox in that same
transaction and are published right after the commit (see outbox.py).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from pydantic import BaseModel, ValidationError

from recruit_sync.contracts.envelope import utc_now
from recruit_sync.contracts.events import (
    ConnectionSnapshot,
    RunCompleted,
    RunState,
    RunSummary,
    SyncDeactivated,
    Trigger,
    run_id_for_schedule,
)
from recruit_sync.contracts.sync_spec import SyncSpec, SyncSpecPatch, describe_validation_error
from recruit_sync.runtime import crypto, outbox
from recruit_sync.runtime.rpc import Operation, RpcError
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler import budget, store
from recruit_sync.scheduler.connections import NewConnection, Rekey
from recruit_sync.scheduler.due import SyncSnapshot, Window, WindowKind, build_sync_due, retrieval_window
from recruit_sync.scheduler.schedule import next_due_at
from recruit_sync.scheduler.specs import (
    SpecError,
    apply_patch,
    check_retrieval_age,
    dump_spec,
    load_favourite,
    needs_full_window,
    options_enabled_at,
    validate_favourite,
    validate_spec,
)

log = structlog.get_logger()

CLAIM_LIMIT = 50

M = TypeVar("M", bound=BaseModel)
DeactivationReason = Literal["auth_failed", "credentials_changed"]


class Relay(Protocol):
    """Publishes what the outbox holds (runtime.outbox.OutboxRelay); called right after each commit."""

    async def publish_pending(self) -> int: ...


@dataclass(frozen=True)
class Deps:
    pool: asyncpg.Pool
    relay: Relay
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)


@asynccontextmanager
async def _transaction(deps: Deps) -> AsyncIterator[store.Conn]:
    async with deps.pool.acquire() as conn, conn.transaction():
        yield conn


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RpcError(describe_validation_error(exc), 400) from None


def _key(args: dict[str, Any]) -> str:
    key = args.get("id")
    if not isinstance(key, str) or not key:
        raise RpcError("id: required (a sync id or name)", 400)
    return key


# connections --------------------------------------------------------------------------------------------


async def add_connection(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    new = _parse(NewConnection, args)
    fields = new.model_dump(exclude={"client_secret", "refresh_token"})
    fields["client_secret_enc"] = crypto.encrypt(new.client_secret)
    fields["refresh_token_enc"] = crypto.encrypt(new.refresh_token)
    fields["created_at"] = deps.clock()
    try:
        async with _transaction(deps) as conn:
            connection_id = await store.insert_connection(conn, fields)
    except asyncpg.UniqueViolationError:
        raise RpcError(f"name: a connection named {new.name!r} already exists", 409) from None
    log.info("connection added", connection=new.name, connection_id=str(connection_id))
    return {"id": str(connection_id)}


async def rekey_connection(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    """New credentials or primary email: every sync of the connection waits for a manual re-activation."""
    rekey = _parse(Rekey, args)
    changes: dict[str, Any] = {}
    if rekey.refresh_token is not None:
        changes["refresh_token_enc"] = crypto.encrypt(rekey.refresh_token)
    if rekey.client_secret is not None:
        changes["client_secret_enc"] = crypto.encrypt(rekey.client_secret)
    if rekey.client_id is not None:
        changes["client_id"] = rekey.client_id
    if rekey.primary_email is not None:
        changes["primary_email"] = rekey.primary_email
    async with _transaction(deps) as conn:
        connection = await store.connection_by_name(conn, rekey.name, for_update=True)
        if connection is None:
            raise RpcError(f"no connection named {rekey.name!r}", 404)
        await store.update_credentials(conn, connection["id"], changes)
        deactivated = await _deactivate(conn, connection["id"], "credentials_changed")
    await deps.relay.publish_pending()
    log.info("connection rekeyed", connection=rekey.name, deactivated=len(deactivated))
    return {"id": str(connection["id"]), "deactivated": deactivated}


async def list_connections(deps: Deps, args: dict[str, Any]) -> list[dict[str, Any]]:
    """Each connection (no secrets) with ``credits_spent``: its runs' credits in the last 24 hours."""
    async with deps.pool.acquire() as conn:
        rows = await store.list_connections(conn, deps.clock() - budget.WINDOW)
    return [{**dict(row), "id": str(row["id"]), "created_at": row["created_at"].isoformat()} for row in rows]


async def _deactivate(conn: store.Conn, connection_id: uuid.UUID, reason: DeactivationReason) -> list[str]:
    sync_ids = [str(sync_id) for sync_id in await store.deactivate_syncs(conn, connection_id, reason)]
    for sync_id in sync_ids:
        await outbox.enqueue(conn, SyncDeactivated(sync_id=sync_id, reason=reason))
    return sync_ids


# syncs --------------------------------------------------------------------------------------------------


async def create_sync(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    now = deps.clock()
    try:
        spec = validate_spec(args.get("spec"))
        async with _transaction(deps) as conn:
            if spec.favourite is not None:
                spec = validate_spec(load_favourite(dump_spec(spec), await store.favourites(conn)))
            connection = await store.connection_by_name(conn, spec.connection)
            if connection is None:
                raise RpcError(f"connection: no connection named {spec.connection!r}", 400)
            check_retrieval_age(spec, now, deps.settings.retrieval_max_age_days)
            sync_id = await store.insert_sync(
                conn,
                name=spec.name,
                connection_id=connection["id"],
                spec=dump_spec(spec),
                created_at=now,
                next_due_at=next_due_at(spec.schedule, now),
                options_enabled_at=_iso_map(options_enabled_at(None, spec.options, {}, now)),
            )
    except SpecError as exc:
        raise RpcError(str(exc), 400) from None
    except asyncpg.UniqueViolationError:
        raise RpcError(f"name: a sync named {spec.name!r} already exists", 409) from None
    log.info("sync created", sync_id=str(sync_id), sync=spec.name)
    return {"id": str(sync_id)}


async def get_sync(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    async with deps.pool.acquire() as conn:
        return describe_sync(await _existing_sync(conn, _key(args)))


async def list_syncs(deps: Deps, args: dict[str, Any]) -> list[dict[str, Any]]:
    async with deps.pool.acquire() as conn:
        return [describe_sync(row) for row in await store.list_syncs(conn)]


async def edit_sync(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    """New settings version; options newly on take effect now; a new schedule recomputes the due time.

    A new selection or retrieval window resets the watermark: the next run reads the whole window
    again, since records that newly match were not necessarily modified since the last run.
    """
    key = _key(args)
    if not isinstance(args.get("patch"), dict):
        raise RpcError("patch: required (the keys to change)", 400)
    patch = _parse(SyncSpecPatch, args["patch"])
    now = deps.clock()
    try:
        async with _transaction(deps) as conn:
            row = await _existing_sync(conn, key, for_update=True)
            current = SyncSpec.model_validate(row["spec"])
            data = apply_patch(current, patch)
            if patch.favourite is not None:
                data = load_favourite(data, await store.favourites(conn))
            new = validate_spec(data)
            if new == current:
                return describe_sync(row)
            if new.retrieval != current.retrieval:
                check_retrieval_age(new, row["created_at"], deps.settings.retrieval_max_age_days)
            due = row["next_due_at"]
            if new.schedule != current.schedule and row["state"] == "active":
                due = next_due_at(new.schedule, now)
            enabled = options_enabled_at(current.options, new.options, _parse_iso_map(row), now)
            await store.update_settings(
                conn,
                row["id"],
                name=new.name,
                spec=dump_spec(new),
                version=row["settings_version"] + 1,
                next_due_at=due,
                options_enabled_at=_iso_map(enabled),
                reset_watermark=needs_full_window(current, new),
                at=now,
            )
            row = await _existing_sync(conn, str(row["id"]))
    except SpecError as exc:
        raise RpcError(str(exc), 400) from None
    except asyncpg.UniqueViolationError:
        raise RpcError(f"name: a sync named {patch.name!r} already exists", 409) from None
    log.info("sync edited", sync_id=str(row["id"]), settings_version=row["settings_version"])
    return describe_sync(row)


async def activate_sync(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    """Active again, first due at the schedule's next occurrence from now (an active sync is left as is)."""
    async with _transaction(deps) as conn:
        row = await _existing_sync(conn, _key(args), for_update=True)
        if row["state"] != "active":
            spec = SyncSpec.model_validate(row["spec"])
            await store.set_state(conn, row["id"], "active", None, next_due_at(spec.schedule, deps.clock()))
            row = await _existing_sync(conn, str(row["id"]))
    log.info("sync activated", sync_id=str(row["id"]))
    return describe_sync(row)


async def pause_sync(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    async with _transaction(deps) as conn:
        row = await _existing_sync(conn, _key(args), for_update=True)
        await store.set_state(conn, row["id"], "paused", None, None)
        row = await _existing_sync(conn, str(row["id"]))
    log.info("sync paused", sync_id=str(row["id"]))
    return describe_sync(row)


async def run_sync(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    """Run now (``full``: re-import everything); a run already in flight is returned, not doubled."""
    full = args.get("full", False)
    if not isinstance(full, bool):
        raise RpcError("full: must be true or false", 400)
    now = deps.clock()
    async with _transaction(deps) as conn:
        row = await _existing_sync(conn, _key(args), for_update=True)
        if row["state"] == "inactive":
            raise RpcError(
                f"sync {row['name']!r} is inactive ({row['state_reason']}); activate it before running it",
                409,
            )
        if row["run_in_flight"] is not None:
            return {"run_id": row["run_in_flight"], "started": False}
        window = retrieval_window(
            SyncSpec.model_validate(row["spec"]), row["last_success_started_at"], full=full
        )
        check = await _check_budget(conn, row, window.kind, now)
        if check.fits_from is not None:
            raise RpcError(_over_budget(row, check), 409)
        run_id = str(uuid.uuid4())
        trigger = Trigger.FULL_RESYNC if full else Trigger.MANUAL
        await _start_run(
            deps,
            conn,
            row,
            run_id=run_id,
            trigger=trigger,
            due_at=now,
            window=window,
            estimate=check.estimate,
        )
    await deps.relay.publish_pending()
    log.info("run started", sync_id=str(row["id"]), run_id=run_id, trigger=trigger.value)
    return {"run_id": run_id, "started": True}


async def _existing_sync(conn: store.Conn, key: str, *, for_update: bool = False) -> asyncpg.Record:
    row = await store.get_sync(conn, key, for_update=for_update)
    if row is None:
        raise RpcError(f"no sync with id or name {key!r}", 404)
    return row


# favourites ---------------------------------------------------------------------------------------------


async def save_favourite(deps: Deps, args: dict[str, Any]) -> dict[str, Any]:
    try:
        favourite = validate_favourite(args)
    except SpecError as exc:
        raise RpcError(str(exc), 400) from None
    mapping = [entry.model_dump(by_alias=True) for entry in favourite.mapping]
    async with _transaction(deps) as conn:
        await store.save_favourite(conn, favourite.name, mapping)
    return {"name": favourite.name}


async def list_favourites(deps: Deps, args: dict[str, Any]) -> list[dict[str, Any]]:
    async with deps.pool.acquire() as conn:
        saved = await store.favourites(conn)
    return [{"name": name, "mapping": mapping} for name, mapping in saved.items()]


# runs ---------------------------------------------------------------------------------------------------


async def emit_due_runs(deps: Deps) -> int:
    """One scheduler tick: emit a SyncDue for every due active sync without a run in flight.

    The next due time is the first occurrence after *now*, so a sync that missed several periods
    (downtime) runs once on recovery. Replicas claim with SKIP LOCKED, and scheduled run ids derive
    from (sync, due time), so each due run is emitted once. A run its connection's credit budget has
    no room for stays due, later: when enough credits will have freed up.
    """
    now = deps.clock()
    emitted = 0
    async with _transaction(deps) as conn:
        rows = await store.claim_due_syncs(conn, now, CLAIM_LIMIT)
        # Budget checks lock their connection; taken in one order, replicas never wait in a cycle.
        for row in sorted(rows, key=lambda row: row["connection_id"]):
            try:
                spec = SyncSpec.model_validate(row["spec"])
            except ValidationError as exc:
                # Settings stored under an older contract that this one refuses: park this sync
                # with the reason, so one unreadable sync never holds up the others.
                reason = f"invalid_settings: {describe_validation_error(exc)}"
                log.error(
                    "stored sync settings unreadable, sync paused", sync_id=str(row["id"]), reason=reason
                )
                await store.set_state(conn, row["id"], "paused", reason, None)
                continue
            window = retrieval_window(spec, row["last_success_started_at"], full=False)
            check = await _check_budget(conn, row, window.kind, now)
            if check.fits_from is not None:
                await store.defer_for_credits(conn, row["id"], check.fits_from)
                log.info(
                    "due run waits for the credit budget",
                    sync_id=str(row["id"]),
                    until=check.fits_from.isoformat(),
                    spent=check.spent,
                    estimate=check.estimate,
                )
                continue
            due_at = row["next_due_at"]
            run_id = run_id_for_schedule(str(row["id"]), due_at)
            started = await _start_run(
                deps,
                conn,
                row,
                run_id=run_id,
                trigger=Trigger.SCHEDULE,
                due_at=due_at,
                window=window,
                estimate=check.estimate,
            )
            if started:  # else a manual run got in first: stay due, run once it has finished
                emitted += 1
                await store.set_next_due(conn, row["id"], next_due_at(spec.schedule, now, ran=True))
    if emitted:
        log.info("due runs emitted", count=emitted)
        await deps.relay.publish_pending()
    return emitted


async def _start_run(
    deps: Deps,
    conn: store.Conn,
    row: asyncpg.Record,
    *,
    run_id: str,
    trigger: Trigger,
    due_at: datetime,
    window: Window,
    estimate: int,
) -> bool:
    """Record the run in flight (with the credits it is expected to spend) and put its SyncDue, with
    the full snapshot, in the outbox.

    False (nothing emitted) when another run of the sync is in flight.
    """
    snapshot = _snapshot(row)
    event = build_sync_due(
        snapshot,
        run_id=run_id,
        trigger=trigger,
        due_at=due_at,
        window=window,
        batch_size=deps.settings.batch_size,
    )
    started = await store.insert_run_in_flight(
        conn,
        sync_id=row["id"],
        run_id=run_id,
        trigger=trigger.value,
        window_kind=window.kind,
        credentials_version=row["credentials_version"],
        started_at=deps.clock(),
        estimated_credits=estimate,
    )
    if started:
        await outbox.enqueue(conn, event)
    return started


async def record_run_completed(deps: Deps, event: RunCompleted) -> None:
    """Clear the run in flight and book its credits; on success move the watermark and keep the
    run's cost as the estimate of the next; on an auth failure deactivate.

    Idempotent: the event id is recorded in the inbox in the same transaction.
    """
    summary = event.summary
    now = deps.clock()
    async with _transaction(deps) as conn:
        if not await store.mark_processed(conn, event.event_id):
            return
        row = await store.get_sync(conn, summary.sync_id, for_update=True)
        if row is None:
            log.warning("run completed for an unknown sync", sync_id=summary.sync_id)
            return
        in_flight = await store.finish_run_in_flight(conn, row["id"], summary.run_id)
        await store.record_spend(
            conn,
            run_id=summary.run_id,
            connection_id=row["connection_id"],
            credits=summary.credits,
            at=summary.finished_at or now,
            forget_before=now - 2 * budget.WINDOW,
        )
        # Its estimate no longer holds credits back: whoever waited for them may fit now.
        await store.wake_credit_waiters(conn, row["connection_id"], now)
        if summary.state is RunState.SUCCEEDED:
            kind = _window_kind_of(row, summary, in_flight)
            await store.record_run_cost(conn, row["id"], kind, summary.credits)
            await _record_success(conn, row, summary, kind)
        elif summary.state is RunState.FAILED and event.auth_failed:
            if in_flight is not None and in_flight["credentials_version"] < row["credentials_version"]:
                log.info("auth failure of superseded credentials ignored", run_id=summary.run_id)
            else:
                await _deactivate(conn, row["connection_id"], "auth_failed")
    await deps.relay.publish_pending()


def _window_kind_of(row: asyncpg.Record, summary: RunSummary, in_flight: asyncpg.Record | None) -> WindowKind:
    if in_flight is not None:
        kind: WindowKind = in_flight["window_kind"]
        return kind
    # not the run we recorded (e.g. already cleared): judge by what the run must have asked for
    first = row["last_success_started_at"] is None or summary.trigger is Trigger.FULL_RESYNC
    return "full" if first else "incremental"


async def _record_success(
    conn: store.Conn, row: asyncpg.Record, summary: RunSummary, kind: WindowKind
) -> None:
    if summary.started_at is None:
        log.warning("successful run without a start time; watermark unchanged", run_id=summary.run_id)
    else:
        await store.record_success(conn, row["id"], summary.started_at, kind)
    if SyncSpec.model_validate(row["spec"]).schedule.kind == "once" and row["state"] == "active":
        await store.set_state(conn, row["id"], "completed", None, None)


# credit budgets -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetCheck:
    estimate: int
    spent: int  # in the last 24 hours, runs in flight counted with their estimates
    budget: int | None
    fits_from: datetime | None  # None: the run may start now


async def _check_budget(
    conn: store.Conn, row: asyncpg.Record, kind: WindowKind, now: datetime
) -> BudgetCheck:
    """Whether a run of ``row``'s sync fits its connection's daily credit budget (ADR 0011).

    Locks the connection's budget until the transaction ends, so the run recorded in flight next
    is counted by the next check, whichever replica makes it.
    """
    limit: int | None = row["daily_credit_budget"]
    estimate = budget.estimate_credits(
        kind,
        last_full=row["last_full_credits"],
        last_incremental=row["last_incremental_credits"],
        budget=limit,
    )
    if limit is None:
        return BudgetCheck(estimate, 0, None, None)
    await store.lock_budget(conn, row["connection_id"])
    spends = [
        budget.Spend(spend["spent_at"], spend["credits"])
        for spend in await store.credit_spends(conn, row["connection_id"], now - budget.WINDOW)
    ]
    spends.append(budget.Spend(now, await store.reserved_credits(conn, row["connection_id"])))
    return BudgetCheck(
        estimate, budget.spent(spends, now), limit, budget.fits_from(limit, spends, estimate, now)
    )


def _over_budget(row: asyncpg.Record, check: BudgetCheck) -> str:
    assert check.fits_from is not None
    zone = ZoneInfo(SyncSpec.model_validate(row["spec"]).schedule.timezone)
    return (
        f"credit budget: connection {row['connection_name']!r} has spent {check.spent} of its "
        f"{check.budget} daily credits in the last 24 hours (runs in flight included) and this run "
        f"needs about {check.estimate}; run it after {check.fits_from.astimezone(zone).isoformat()}"
    )


# views and conversions ----------------------------------------------------------------------------------


def describe_sync(row: asyncpg.Record) -> dict[str, Any]:
    """The detail view (INTERFACE ``sync show --json``); times in the sync's own time zone."""
    spec = SyncSpec.model_validate(row["spec"])
    zone = ZoneInfo(spec.schedule.timezone)

    def local(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value is not None else None

    reason = row["state_reason"]
    if row["state"] == "active" and row["credit_wait_until"] is not None:
        reason = f"waiting for credit budget until {local(row['credit_wait_until'])}"
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "state": row["state"],
        "state_reason": reason,
        "next_due_at": local(row["next_due_at"]),
        "last_retrieval_at": local(row["last_retrieval_at"]),
        "last_retrieval_kind": row["last_retrieval_kind"],
        "settings_version": row["settings_version"],
        "created_at": local(row["created_at"]),
        "connection": row["connection_name"],
        "spec": dump_spec(spec),
        "mapping": [entry.model_dump(by_alias=True) for entry in spec.full_mapping()],
        "timezone": spec.schedule.timezone,
        "options_enabled_at": row["options_enabled_at"],
        "run_in_flight": row["run_in_flight"],
    }


def _snapshot(row: asyncpg.Record) -> SyncSnapshot:
    return SyncSnapshot(
        sync_id=str(row["id"]),
        spec=SyncSpec.model_validate(row["spec"]),
        settings_version=row["settings_version"],
        options_enabled_at=_parse_iso_map(row),
        connection=ConnectionSnapshot(
            connection_id=str(row["connection_id"]),
            name=row["connection_name"],
            base_url=row["base_url"],
            accounts_url=row["accounts_url"],
            client_id=row["client_id"],
            client_secret_enc=row["client_secret_enc"],
            refresh_token_enc=row["refresh_token_enc"],
            credentials_version=row["credentials_version"],
            daily_credit_budget=row["daily_credit_budget"],
        ),
    )


def _iso_map(values: dict[str, datetime]) -> dict[str, str]:
    return {key: value.isoformat() for key, value in values.items()}


def _parse_iso_map(row: asyncpg.Record) -> dict[str, datetime]:
    return {key: datetime.fromisoformat(value) for key, value in row["options_enabled_at"].items()}


def operations(deps: Deps) -> dict[str, Operation]:
    """The RPC doors into the scheduler (contracts.rpc.SCHEDULER_OPS), bound to their dependencies."""
    handlers = {
        "connection.add": add_connection,
        "connection.rekey": rekey_connection,
        "connection.list": list_connections,
        "sync.create": create_sync,
        "sync.get": get_sync,
        "sync.list": list_syncs,
        "sync.edit": edit_sync,
        "sync.activate": activate_sync,
        "sync.pause": pause_sync,
        "sync.run": run_sync,
        "mapping.favourite.save": save_favourite,
        "mapping.favourite.list": list_favourites,
    }
    return {op: functools.partial(handler, deps) for op, handler in handlers.items()}
