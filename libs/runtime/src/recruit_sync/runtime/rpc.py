"""Request/reply: a service answers its ``contracts.rpc`` operations on its RPC queue; the API calls them.

A service lists its operations as ``serve(operation, handler)`` pairs (one screen shows every door into
it); ``dispatch`` validates the request with the operation's model (an error names the key), runs the
handler and encodes its answer with the operation's answer type. ``RpcClient.call`` is the other side.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
import orjson
import structlog
from pydantic import BaseModel, ValidationError

from recruit_sync.contracts.rpc import Operation, Req, Res, RpcReply, RpcRequest
from recruit_sync.contracts.sync_spec import describe_validation_error

log = structlog.get_logger()


class RpcError(Exception):
    """Raised by an operation to answer with an error and an HTTP status (e.g. 404, 409); raised by
    ``RpcClient.call`` when the service answers with one."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Served:
    """An operation and the handler that answers it (made by ``serve``, which checks that they fit)."""

    operation: Operation[Any, Any]
    handler: Callable[[Any], Awaitable[Any]]

    async def __call__(self, args: dict[str, Any]) -> Any:
        try:
            request = self.operation.request.model_validate(args)
        except ValidationError as exc:
            raise RpcError(describe_validation_error(exc), 400) from None
        answer = await self.handler(request)
        return self.operation.answers.dump_python(answer, mode="json", by_alias=True)


def serve(operation: Operation[Req, Res], handler: Callable[[Req], Awaitable[Res]]) -> Served:
    """``handler`` answers ``operation``: mypy checks that it takes the request model and returns the
    answer type. (The result is not generic on purpose: a generic one would let the caller's expected
    type, e.g. a list of ``Served[Any, Any]``, decide the types instead of the operation.)"""
    return Served(operation, handler)


Operations = dict[str, Served]


def operations(served: Iterable[Served]) -> Operations:
    return {item.operation.name: item for item in served}


async def dispatch(table: Operations, body: bytes) -> bytes:
    """Run the named operation; every failure becomes a reply naming it, never a dead RPC consumer."""
    try:
        request = RpcRequest.model_validate(orjson.loads(body))
    except (ValidationError, orjson.JSONDecodeError) as exc:
        return _encode(RpcReply.failure(f"bad request: {exc}", 400))
    served = table.get(request.op)
    if served is None:
        return _encode(RpcReply.failure(f"unknown operation {request.op!r}", 404))
    try:
        result = await served(request.args)
    except RpcError as exc:
        return _encode(RpcReply.failure(str(exc), exc.status))
    except Exception as exc:
        log.exception("rpc operation failed", op=request.op)
        return _encode(RpcReply.failure(f"{request.op} failed: {type(exc).__name__}: {exc}", 500))
    return _encode(RpcReply.success(result))


def _encode(reply: RpcReply) -> bytes:
    return orjson.dumps(reply.model_dump(mode="json"), default=str)


class RpcClient:
    """Concurrent request/reply over RabbitMQ's direct reply-to, matching replies by correlation id.

    FastStream's ``broker.request`` serves one request at a time per broker, so one silent service would
    hold up every other call; here each call waits only for its own reply. A request carries
    ``expiration`` = its timeout, so one the caller has given up on is dropped, not run later.
    """

    REPLY_TO = "amq.rabbitmq.reply-to"

    def __init__(self, amqp_url: str) -> None:
        self.amqp_url = amqp_url
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_url)
        self._channel = await self._connection.channel(on_return_raises=True)
        reply_queue = await self._channel.get_queue(self.REPLY_TO, ensure=False)
        await reply_queue.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(message.body)

    async def call(self, operation: Operation[Req, Res], request: Req, timeout: float = 30.0) -> Res:
        """The service's answer to ``request``. Raises ``RpcError`` when the service refuses it,
        TimeoutError when no reply comes in time, aio_pika's DeliveryError when unroutable."""
        reply = await self.call_raw(operation.queue, operation.name, _args(request), timeout)
        if not reply.ok:
            raise RpcError(reply.error or f"{operation.name} refused", reply.status)
        return operation.answers.validate_python(reply.result)

    async def call_raw(self, queue: str, op: str, args: dict[str, Any], timeout: float = 30.0) -> RpcReply:
        """Any request, as given (tests send malformed ones with this)."""
        if self._channel is None:
            raise RuntimeError("RpcClient.connect() was not called")
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            await self._channel.default_exchange.publish(
                aio_pika.Message(
                    orjson.dumps(RpcRequest(op=op, args=args).model_dump(mode="json"), default=str),
                    content_type="application/json",
                    correlation_id=correlation_id,
                    reply_to=self.REPLY_TO,
                    expiration=timeout,
                ),
                routing_key=queue,
                mandatory=True,
            )
            body = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(correlation_id, None)
        return RpcReply.model_validate(orjson.loads(body))


def _args(request: BaseModel) -> dict[str, Any]:
    # unset keys are left out: a patch says only what changes (``SyncSpecPatch``)
    return request.model_dump(mode="json", by_alias=True, exclude_unset=True)
