"""History's RPC operations (contracts.rpc.HISTORY_OPS): runs, per-record outcomes, explain."""

from __future__ import annotations

from functools import partial
from typing import Any

import asyncpg

from recruit_sync.contracts.events import Outcome, RecordOutcome
from recruit_sync.history import store
from recruit_sync.runtime.rpc import Operation, RpcError


async def list_runs(args: dict[str, Any], *, pool: asyncpg.Pool) -> list[dict[str, Any]]:
    sync_id = _text(args, "sync_id", "runs.list")
    async with pool.acquire() as conn:
        rows = await store.list_runs(conn, sync_id)
    return [store.summary_of(row).model_dump(mode="json") for row in rows]


async def get_run(args: dict[str, Any], *, pool: asyncpg.Pool) -> dict[str, Any]:
    run_id = _text(args, "run_id", "runs.get")
    async with pool.acquire() as conn:
        row = await store.get_run(conn, run_id)
    if row is None:
        raise RpcError(f"no run {run_id!r}", 404)
    return store.summary_of(row).model_dump(mode="json")


async def list_records(args: dict[str, Any], *, pool: asyncpg.Pool) -> list[dict[str, Any]]:
    run_id = _text(args, "run_id", "runs.records")
    outcome = _outcome(args.get("outcome"))
    limit = _count(args, "limit", None)
    offset = _count(args, "offset", 0) or 0
    async with pool.acquire() as conn:
        if await store.get_run(conn, run_id) is None:
            raise RpcError(f"no run {run_id!r}", 404)
        rows = await store.run_records(conn, run_id, outcome, limit, offset)
    return [RecordOutcome(**dict(row)).model_dump(mode="json") for row in rows]


async def explain(args: dict[str, Any], *, pool: asyncpg.Pool) -> list[dict[str, Any]]:
    email = _text(args, "email", "explain")
    async with pool.acquire() as conn:
        rows = await store.outcomes_for_email(conn, email)
    return [{**dict(row), "at": row["at"].isoformat()} for row in rows]


def operations(pool: asyncpg.Pool) -> dict[str, Operation]:
    return {
        "runs.list": partial(list_runs, pool=pool),
        "runs.get": partial(get_run, pool=pool),
        "runs.records": partial(list_records, pool=pool),
        "explain": partial(explain, pool=pool),
    }


def _text(args: dict[str, Any], key: str, op: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RpcError(f"{op} needs {key!r} (a non-empty string)", 400)
    return value


def _outcome(value: Any) -> Outcome | None:
    if value is None:
        return None
    try:
        return Outcome(value)
    except ValueError:
        names = ", ".join(outcome.value for outcome in Outcome)
        raise RpcError(f"unknown outcome {value!r} (expected one of {names})", 400) from None


def _count(args: dict[str, Any], key: str, default: int | None) -> int | None:
    value = args.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RpcError(f"{key} must be a whole number >= 0, got {value!r}", 400)
    return value
