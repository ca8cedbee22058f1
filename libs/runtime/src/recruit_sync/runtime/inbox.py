"""The inbox every service that consumes events keeps: what it has handled, with its effects.

``first_time`` records the event's id in the caller's transaction; a redelivery (or the same event
published twice, say by an outbox relay that crashed before marking it sent) finds the id and the
caller skips it. Recording and effects commit together, so nothing is done twice or lost
(docs/adr/0002). Each service's migrations create the table:
``inbox (event_id uuid primary key, event_type text, handled_at timestamptz default now())``.
(The importer needs no inbox: a batch's identity, (run, seq), is its own record of having been imported.)
"""

from __future__ import annotations

import asyncpg

from recruit_sync.contracts.envelope import Envelope


async def first_time(conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, event: Envelope) -> bool:
    """True the first time ``event`` is handled; False for a redelivery."""
    inserted = await conn.fetchval(
        "INSERT INTO inbox (event_id, event_type) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING "
        "RETURNING true",
        event.event_id,
        event.ROUTING_KEY,
    )
    return bool(inserted)
