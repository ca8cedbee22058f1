"""The suppression registry (SPEC section 1): addresses by email key, one row per reason."""

from __future__ import annotations

from collections.abc import Sequence

from recruit_sync.contracts.resources import Suppression, SuppressionReason
from recruit_sync.importer.store import Connection


async def add_suppressions(
    conn: Connection, reason: SuppressionReason, addresses: Sequence[tuple[str, str]]
) -> int:
    """Add (email key, email) pairs under ``reason``; returns how many were not already there."""
    rows = await conn.fetch(
        """
        INSERT INTO suppressions (email_key, email, reason)
        SELECT DISTINCT ON (r->>0) r->>0, r->>1, $1 FROM jsonb_array_elements($2::jsonb) AS r
        ON CONFLICT (email_key, reason) DO NOTHING
        RETURNING email_key
        """,
        reason.value,
        list(addresses),
    )
    return len(rows)


async def remove_suppressions(conn: Connection, keys: Sequence[str]) -> int:
    """Remove these addresses from the registry, whatever the reason; returns how many addresses left it."""
    rows = await conn.fetch(
        "DELETE FROM suppressions WHERE email_key IN (SELECT jsonb_array_elements_text($1::jsonb)) "
        "RETURNING email_key",
        list(keys),
    )
    return len({r["email_key"] for r in rows})


async def list_suppressions(conn: Connection, reason: SuppressionReason | None) -> list[Suppression]:
    rows = await conn.fetch(
        """
        SELECT email, reason, created_at FROM suppressions
         WHERE $1::text IS NULL OR reason = $1
         ORDER BY email_key COLLATE "C", reason
        """,
        reason.value if reason is not None else None,
    )
    return [
        Suppression(email=r["email"], reason=SuppressionReason(r["reason"]), created_at=r["created_at"])
        for r in rows
    ]
