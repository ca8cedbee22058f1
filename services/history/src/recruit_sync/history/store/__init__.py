"""All of history's SQL (asyncpg), by table: ``runs``, ``batches`` (batches received and supersessions
waiting for theirs), ``outcomes`` (per-record outcomes, a row per batch). Functions take a connection
so the caller owns the transaction."""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# a bare connection or one borrowed from the pool: the caller owns it and its transaction
Conn = asyncpg.Connection | PoolConnectionProxy
