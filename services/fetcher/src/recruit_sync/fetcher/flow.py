"""Flow control per run: a run's fetch stays at most ``ahead`` batches ahead of its import (docs/adr/0023;
``ahead`` and ``patience`` are ``Settings.batches_ahead`` and ``flow_patience_seconds``).

Before it makes (and publishes) a batch, the fetch of a run waits until fewer than ``ahead`` of the
batches it has published are still to be imported (``room_for``, the hook ``fetch.fetch_run``
awaits). It learns of imports from the ``BatchImported`` events, which every fetcher process receives
on a queue of its own, reading only their message id: a ``BatchImported`` id is
``batch_imported_id(run_id, seq)``, so the fetcher knows which id stands for which of its batches
without decoding the body (a thousand outcomes).

So the importer's queue holds a few batches of each run in flight, not a whole backfill: a small sync
started beside a big one waits behind at most ``ahead`` batches of it, and a crash leaves little work
in flight. The window counts batches, not records: batches have the run's batch size.

Liveness comes first: if none of a run's batches is imported for ``patience`` seconds while the fetch
waits (the importer down, events missed during a broker reconnect), the run's window opens for good
and it is fetched as it was before flow control, with a warning. A run never hangs on flow control.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog

from recruit_sync.contracts.ids import batch_imported_id

log = structlog.get_logger()


@dataclass
class Window:
    """One run's batches published and not yet imported."""

    run_id: str
    ahead: int
    patience: float
    in_flight: set[int] = field(default_factory=set)  # seqs published, not yet imported
    opened: bool = False  # no bound any more (``patience`` ran out)
    _progress: asyncio.Event = field(default_factory=asyncio.Event)

    def has_room(self) -> bool:
        return self.opened or self.ahead == 0 or len(self.in_flight) < self.ahead

    async def wait_for_room(self) -> None:
        while not self.has_room():
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), self.patience)
            except TimeoutError:
                self.opened = True
                log.warning(
                    "no batch of the run imported for a while: fetching on without flow control",
                    waited_seconds=self.patience,
                    batches_in_flight=len(self.in_flight),
                )

    def imported(self, seq: int) -> None:
        self.in_flight.discard(seq)
        self._progress.set()


class FlowControl:
    """The windows of the runs this process is fetching, and the import events that move them."""

    def __init__(self, ahead: int, patience: float) -> None:
        self.ahead = ahead
        self.patience = patience
        self._expected: dict[uuid.UUID, tuple[Window, int]] = {}  # BatchImported id -> (window, seq)

    @asynccontextmanager
    async def run(self, run_id: str) -> AsyncIterator[Window]:
        """The window of one run's fetch, forgotten when the fetch ends."""
        window = Window(run_id, self.ahead, self.patience)
        try:
            yield window
        finally:
            for seq in window.in_flight:
                self._expected.pop(batch_imported_id(run_id, seq), None)

    async def room_for(self, window: Window, seq: int) -> None:
        """Wait until batch ``seq`` of the window's run may go, then count it as in flight (before it is
        published: its import may be reported before the publish returns)."""
        await window.wait_for_room()
        if seq not in window.in_flight:
            window.in_flight.add(seq)
            self._expected[batch_imported_id(window.run_id, seq)] = (window, seq)

    def imported(self, message_id: str | None) -> None:
        """A ``BatchImported`` went by: if it is one of our runs' batches, that batch is no longer in
        flight. Others' (runs another process fetches, batches of finished fetches) are ignored."""
        if not message_id:
            return
        try:
            event_id = uuid.UUID(message_id)
        except ValueError:
            return
        expected = self._expected.pop(event_id, None)
        if expected is not None:
            window, seq = expected
            window.imported(seq)

    @property
    def batches_in_flight(self) -> int:
        """Batches published and not yet imported, across this process's runs."""
        return len(self._expected)
