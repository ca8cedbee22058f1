"""Request/reply helpers: a service answers ``RpcRequest`` on its RPC queue; the API calls it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from faststream.rabbit import RabbitBroker
from pydantic import ValidationError

from recruit_sync.contracts.rpc import RpcReply, RpcRequest

log = structlog.get_logger()

Operation = Callable[[dict[str, Any]], Awaitable[Any]]


class RpcError(Exception):
    """Raised by an operation to answer with an error and an HTTP status (e.g. 404, 409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def dispatch(operations: dict[str, Operation], body: bytes) -> bytes:
    """Run the named operation; every failure becomes a reply naming it, never a dead RPC consumer."""
    try:
        request = RpcRequest.model_validate(orjson.loads(body))
    except (ValidationError, orjson.JSONDecodeError) as exc:
        return _encode(RpcReply.failure(f"bad request: {exc}", 400))
    operation = operations.get(request.op)
    if operation is None:
        return _encode(RpcReply.failure(f"unknown operation {request.op!r}", 404))
    try:
        result = await operation(request.args)
    except RpcError as exc:
        return _encode(RpcReply.failure(str(exc), exc.status))
    except Exception as exc:
        log.exception("rpc operation failed", op=request.op)
        return _encode(RpcReply.failure(f"{request.op} failed: {type(exc).__name__}: {exc}", 500))
    return _encode(RpcReply.success(result))


def _encode(reply: RpcReply) -> bytes:
    return orjson.dumps(reply.model_dump(mode="json"), default=str)


async def call(
    broker: RabbitBroker, queue: str, op: str, args: dict[str, Any], timeout: float = 30.0
) -> RpcReply:
    response = await broker.request(
        orjson.dumps(RpcRequest(op=op, args=args).model_dump(mode="json"), default=str),
        queue=queue,
        timeout=timeout,
        content_type="application/json",
    )
    return RpcReply.model_validate(orjson.loads(response.body))
