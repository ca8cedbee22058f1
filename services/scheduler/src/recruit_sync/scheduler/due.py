"""What a due run asks for (its retrieval window) and the SyncDue snapshot it carries (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from recruit_sync.contracts.events import ConnectionSnapshot, ImportSettings, SyncDue, Trigger
from recruit_sync.contracts.ids import sync_due_id
from recruit_sync.contracts.resources import WindowKind
from recruit_sync.contracts.sync_spec import SyncSpec

# Records modified while the previous run was reading may carry a timestamp a little before its start.
OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class Window:
    since: datetime | None
    deleted_since: datetime | None
    kind: WindowKind


def retrieval_window(spec: SyncSpec, last_success_started_at: datetime | None, *, full: bool) -> Window:
    """SPEC 2.7: the first run (and a full resync) uses the retrieval setting; later runs are incremental.

    ``full`` asks for everything, whatever the retrieval setting: it is the "re-import all data" button.
    """
    if full:
        return Window(None, None, "full")
    if last_success_started_at is None:
        after = spec.retrieval.after
        return Window(after, after, "full")
    since = last_success_started_at - OVERLAP
    return Window(since, since, "incremental")


@dataclass(frozen=True)
class SyncSnapshot:
    """What a run's SyncDue carries of its sync, as stored when the run starts."""

    sync_id: str
    spec: SyncSpec
    settings_version: int
    options_enabled_at: dict[str, datetime]
    connection: ConnectionSnapshot


def build_sync_due(
    snapshot: SyncSnapshot,
    *,
    run_id: str,
    trigger: Trigger,
    due_at: datetime,
    window: Window,
    batch_size: int,
) -> SyncDue:
    """The run's SyncDue; its id derives from the run, so a replica emitting the same run emits the
    same event."""
    spec = snapshot.spec
    return SyncDue(
        event_id=sync_due_id(run_id),
        correlation_id=run_id,
        run_id=run_id,
        sync_id=snapshot.sync_id,
        sync_name=spec.name,
        trigger=trigger,
        due_at=due_at,
        module=spec.module,
        selection=spec.selection,
        since=window.since,
        deleted_since=window.deleted_since,
        connection=snapshot.connection,
        settings=ImportSettings(
            list_name=spec.list,
            options=spec.options,
            mapping=spec.full_mapping(),
            settings_version=snapshot.settings_version,
            options_enabled_at=snapshot.options_enabled_at,
        ),
        batch_size=batch_size,
    )
