"""Sync operations: create, show, list, edit, activate, pause, run now, plan a preview; and the saved
mappings (favourites) a sync can load.

A sync is named by id or name (``SyncRef.id``). One whose stored spec this version refuses is refused
too (409, naming the problem) rather than shown half-read; the tick pauses it with that reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import structlog

from recruit_sync.contracts.events import SyncDue, Trigger
from recruit_sync.contracts.resources import (
    Created,
    CreateSync,
    EditSync,
    Favourite,
    FavouriteSaved,
    NoArguments,
    PreviewRequest,
    RunStarted,
    RunSync,
    SyncDetail,
    SyncRef,
)
from recruit_sync.contracts.sync_spec import SyncSpec
from recruit_sync.runtime.rpc import RpcError
from recruit_sync.scheduler import runs, store
from recruit_sync.scheduler.deps import Deps, transaction
from recruit_sync.scheduler.due import SyncSnapshot, Window, build_sync_due, retrieval_window
from recruit_sync.scheduler.notify import gives_secrets, seal_secrets, without_secrets
from recruit_sync.scheduler.schedule import next_due_at
from recruit_sync.scheduler.specs import (
    SpecError,
    apply_patch,
    check_criteria,
    check_retrieval_age,
    dump_spec,
    load_favourite,
    needs_full_window,
    options_enabled_at,
    validate_spec,
)
from recruit_sync.scheduler.store import Conn, StoredSync, UnreadableSync
from recruit_sync.scheduler.views import connection_snapshot, describe_sync, snapshot

log = structlog.get_logger()


async def create_sync(deps: Deps, request: CreateSync) -> Created:
    """A new active sync, first due at its schedule's first occurrence; options on take effect now."""
    spec = request.spec
    now = deps.clock()
    try:
        async with transaction(deps) as conn:
            spec, connection = await _checked_new_spec(deps, conn, spec, now)
            sync_id = await store.insert_sync(
                conn,
                spec=without_secrets(spec),
                connection_id=connection["id"],
                created_at=now,
                next_due_at=next_due_at(spec.schedule, now),
                options_enabled_at=options_enabled_at(None, spec.options, {}, now),
                alert_secrets=seal_secrets(spec, {}),
            )
    except SpecError as exc:
        raise RpcError(str(exc), 400) from None
    except asyncpg.UniqueViolationError:
        raise RpcError(f"name: a sync named {spec.name!r} already exists", 409) from None
    log.info("sync created", sync_id=str(sync_id), sync=spec.name)
    return Created(id=str(sync_id))


async def get_sync(deps: Deps, request: SyncRef) -> SyncDetail:
    async with deps.pool.acquire() as conn:
        return describe_sync(await _existing_sync(conn, request.id))


async def list_syncs(deps: Deps, _: NoArguments) -> list[SyncDetail]:
    """Every sync that can be shown; one whose stored spec is unreadable is left out (and logged)."""
    async with deps.pool.acquire() as conn:
        syncs = await store.list_syncs(conn)
    for sync in syncs:
        if isinstance(sync, UnreadableSync):
            log.error("sync settings unreadable, not listed", sync_id=str(sync.id), problem=sync.problem)
    return [describe_sync(sync) for sync in syncs if isinstance(sync, StoredSync)]


async def edit_sync(deps: Deps, request: EditSync) -> SyncDetail:
    """New settings version; options newly on take effect now; a new schedule recomputes the due time.

    A new selection or retrieval window resets the watermark: the next run reads the whole window
    again, since records that newly match were not necessarily modified since the last run.
    """
    patch = request.patch
    now = deps.clock()
    try:
        async with transaction(deps) as conn:
            sync = await _existing_sync(conn, request.id, for_update=True)
            current = sync.spec
            data = apply_patch(current, patch)
            if patch.favourite is not None:
                data = load_favourite(data, await store.favourites(conn))
            given = validate_spec(data)
            secrets = seal_secrets(given, await store.alert_secrets(conn, sync.id))
            new = without_secrets(given)
            if new == current and not gives_secrets(given):
                return describe_sync(sync)
            if new.retrieval != current.retrieval:
                check_retrieval_age(new, sync.created_at, deps.settings.retrieval_max_age_days)
            due = sync.next_due_at
            if new.schedule != current.schedule and sync.state == "active":
                due = next_due_at(new.schedule, now)
            await store.update_settings(
                conn,
                sync.id,
                spec=new,
                version=sync.settings_version + 1,
                next_due_at=due,
                options_enabled_at=options_enabled_at(
                    current.options, new.options, sync.options_enabled_at, now
                ),
                reset_watermark=needs_full_window(current, new),
                at=now,
                alert_secrets=secrets,
            )
            sync = await _existing_sync(conn, str(sync.id))
    except SpecError as exc:
        raise RpcError(str(exc), 400) from None
    except asyncpg.UniqueViolationError:
        raise RpcError(f"name: a sync named {patch.name!r} already exists", 409) from None
    log.info("sync edited", sync_id=str(sync.id), settings_version=sync.settings_version)
    return describe_sync(sync)


async def activate_sync(deps: Deps, request: SyncRef) -> SyncDetail:
    """Active again, first due at the schedule's next occurrence from now (an active sync is left as is)."""
    async with transaction(deps) as conn:
        sync = await _existing_sync(conn, request.id, for_update=True)
        if sync.state != "active":
            due = next_due_at(sync.spec.schedule, deps.clock())
            await store.set_state(conn, sync.id, "active", None, due)
            sync = await _existing_sync(conn, str(sync.id))
    log.info("sync activated", sync_id=str(sync.id))
    return describe_sync(sync)


async def pause_sync(deps: Deps, request: SyncRef) -> SyncDetail:
    async with transaction(deps) as conn:
        sync = await _existing_sync(conn, request.id, for_update=True)
        await store.set_state(conn, sync.id, "paused", None, None)
        sync = await _existing_sync(conn, str(sync.id))
    log.info("sync paused", sync_id=str(sync.id))
    return describe_sync(sync)


async def run_sync(deps: Deps, request: RunSync) -> RunStarted:
    """Run now (``full``: re-import everything); a run already in flight is returned, not doubled.

    A run the connection's credit budget has no room for is refused, saying when it will fit: whoever
    asked to run now should hear at once, not find a run queued for tomorrow (ADR 0011).
    """
    now = deps.clock()
    async with transaction(deps) as conn:
        sync = await _existing_sync(conn, request.id, for_update=True)
        _refuse_inactive(sync)
        if sync.run_in_flight is not None:
            return RunStarted(run_id=sync.run_in_flight, started=False)
        window = retrieval_window(sync.spec, sync.last_success_started_at, full=request.full)
        check = await _check_budget(conn, sync, window, now)
        run_id = str(uuid.uuid4())
        trigger = Trigger.FULL_RESYNC if request.full else Trigger.MANUAL
        await runs.start_run(
            deps,
            conn,
            sync,
            run_id=run_id,
            trigger=trigger,
            due_at=now,
            window=window,
            estimate=check.estimate,
        )
    await deps.relay.publish_pending()
    log.info("run started", sync_id=str(sync.id), run_id=run_id, trigger=trigger.value)
    return RunStarted(run_id=run_id, started=True)


async def preview_plan(deps: Deps, request: PreviewRequest) -> SyncDue:
    """The SyncDue a run would carry now (``sync preview``), for the fetcher to preview; writes nothing.

    For a stored sync: the window its next run would read (incremental after a success), refused as
    ``run now`` refuses (inactive, over the credit budget: a preview spends the credits a run would).
    For a spec: checked as ``sync create`` checks it, as the first run of a sync created now, under a
    fresh sync id; its name may be taken (previewing a variant of a sync is the point).
    Both read in a read-only transaction, so a preview can never move a watermark or record a run.
    """
    now = deps.clock()
    try:
        async with deps.pool.acquire() as conn, conn.transaction(readonly=True):
            if request.id is not None:
                sync = await _existing_sync(conn, request.id)
                _refuse_inactive(sync)
                plan = snapshot(sync)
                window = retrieval_window(sync.spec, sync.last_success_started_at, full=False)
                await _check_budget(conn, sync, window, now)
            else:
                assert request.spec is not None  # the request model holds one of the two
                spec, connection = await _checked_new_spec(deps, conn, request.spec, now)
                plan = SyncSnapshot(
                    sync_id=str(uuid.uuid4()),
                    spec=without_secrets(spec),
                    settings_version=1,
                    options_enabled_at=options_enabled_at(None, spec.options, {}, now),
                    connection=connection_snapshot(connection),
                )
                window = retrieval_window(spec, None, full=False)
    except SpecError as exc:
        raise RpcError(str(exc), 400) from None
    return build_sync_due(
        plan,
        run_id=f"preview-{uuid.uuid4().hex}",
        trigger=Trigger.MANUAL,
        due_at=now,
        window=window,
        batch_size=deps.settings.batch_size,
    )


async def _checked_new_spec(
    deps: Deps, conn: Conn, spec: SyncSpec, now: datetime
) -> tuple[SyncSpec, asyncpg.Record]:
    """A new sync's spec, its favourite loaded, and its connection's row (``create`` and ``preview``).

    The spec's shape is the request's; what needs the criteria rules, the saved favourites, the
    connections or the clock is checked here: SpecError naming the key, or a 400 naming the connection.
    """
    if spec.favourite is not None:  # the favourite's mapping joins the spec's own: check the whole
        spec = validate_spec(load_favourite(dump_spec(spec), await store.favourites(conn)))
    else:
        check_criteria(spec)
    connection = await store.connection_by_name(conn, spec.connection)
    if connection is None:
        raise RpcError(f"connection: no connection named {spec.connection!r}", 400)
    check_retrieval_age(spec, now, deps.settings.retrieval_max_age_days)
    return spec, connection


def _refuse_inactive(sync: StoredSync) -> None:
    """An inactive sync waits for a user to re-activate it (SPEC section 7): nothing runs until then."""
    if sync.state == "inactive":
        raise RpcError(
            f"sync {sync.name!r} is inactive ({sync.state_reason}); activate it before running it", 409
        )


async def _check_budget(conn: Conn, sync: StoredSync, window: Window, now: datetime) -> runs.BudgetCheck:
    """The budget check of a run of ``sync`` now (ADR 0011); refused with 409 saying when it will fit."""
    check = await runs.check_budget(conn, sync, window.kind, now)
    if check.fits_from is not None:
        raise RpcError(runs.over_budget(sync, check), 409)
    return check


async def _existing_sync(conn: Conn, key: str, *, for_update: bool = False) -> StoredSync:
    sync = await store.get_sync(conn, key, for_update=for_update)
    if sync is None:
        raise RpcError(f"no sync with id or name {key!r}", 404)
    if isinstance(sync, UnreadableSync):
        raise RpcError(
            f"sync {sync.name!r} has stored settings this version cannot read ({sync.problem})", 409
        )
    return sync


# favourites ---------------------------------------------------------------------------------------------


async def save_favourite(deps: Deps, favourite: Favourite) -> FavouriteSaved:
    async with transaction(deps) as conn:
        await store.save_favourite(conn, favourite.name, favourite.mapping)
    return FavouriteSaved(name=favourite.name)


async def list_favourites(deps: Deps, _: NoArguments) -> list[Favourite]:
    async with deps.pool.acquire() as conn:
        saved = await store.favourites(conn)
    return [Favourite.model_validate({"name": name, "mapping": mapping}) for name, mapping in saved.items()]
