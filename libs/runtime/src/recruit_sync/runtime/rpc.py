"""Request/reply: a service answers its ``contracts.rpc`` operations on its RPC queue; the API calls them.

A service lists its operations as ``serve(operation, handler)`` pairs (one screen shows every door into
it); ``dispatch`` validates the request with the operation's model (an error names the key), runs the
handler and encodes its answer with the operation's answer type. ``RpcClient.call`` is the other side.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aio_pika
import aiormq.exceptions
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


class BrokerUnavailable(ConnectionError):
    """No call can be made: the connection to the broker is down and being re-opened, or it dropped while
    the call waited (its reply went with the connection: direct reply-to lives on one channel)."""


@dataclass(frozen=True)
class _Link:
    """One open connection, its channel and the reply consumer on it: a call can be made while both are
    open, because the consumer is confirmed before a link is handed out."""

    connection: aio_pika.abc.AbstractConnection
    channel: aio_pika.abc.AbstractChannel

    @property
    def is_open(self) -> bool:
        return not self.connection.is_closed and not self.channel.is_closed


# What a lost connection or channel raises from a publish (DeliveryError, an unroutable request, is not one).
_LINK_ERRORS: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.AMQPChannelError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
)


class RpcClient:
    """Concurrent request/reply over RabbitMQ's direct reply-to, matching replies by correlation id.

    FastStream's ``broker.request`` serves one request at a time per broker, so one silent service would
    hold up every other call; here each call waits only for its own reply. A request carries
    ``expiration`` = its timeout, so one the caller has given up on is dropped, not run later.

    It survives a broker restart by itself (issue 10). aio-pika's robust connection re-opens channels
    and restores the queues and consumers it declared, but not a consumer of ``amq.rabbitmq.reply-to``,
    which is no declared queue: after a restart every call failed with ``PRECONDITION_FAILED - fast reply
    consumer does not exist`` while ``connected`` said yes. So the client keeps a plain connection and
    re-opens the whole link itself (connection, channel, reply consumer), retrying every
    ``retry_delay``..``max_retry_delay`` seconds: calls work again within about ``max_retry_delay`` of
    the broker's return. Meanwhile a call fails at once with ``BrokerUnavailable`` naming the cause, and
    calls waiting when the connection dropped fail at once too (their replies can never arrive).
    ``connected`` is true only while a call can be made; ``unavailable`` says why not, in one line.
    """

    REPLY_TO = "amq.rabbitmq.reply-to"
    CONNECT_TIMEOUT = 5.0  # a broker that does not answer (a cut network) is one failed attempt, not a hang

    def __init__(self, amqp_url: str, *, retry_delay: float = 0.25, max_retry_delay: float = 2.0) -> None:
        self.amqp_url = amqp_url
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._link: _Link | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._lost = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._dropped: list[_Link] = []
        self._closed = False
        self._unavailable = "not connected yet"

    async def connect(self) -> None:
        """Open the link; raises when the broker cannot be reached now. From then on the client
        re-opens it by itself whenever it is lost, until ``close``."""
        self._closed = False
        self._lost = asyncio.Event()  # of this event loop (an app's lifespan may run more than once)
        self._link = await self._open()
        self._unavailable = ""
        self._keeper = asyncio.create_task(self._keep_open(), name="rpc-client-reconnect")

    async def close(self) -> None:
        self._closed = True
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        link, self._link = self._link, None
        self._fail_pending("the RPC client was closed")
        if link is not None:
            await link.connection.close()

    @property
    def connected(self) -> bool:
        """True while a call can be made: the connection and channel are open, the reply consumer on."""
        return self._link is not None and self._link.is_open

    @property
    def unavailable(self) -> str | None:
        """Why no call can be made now, in one line; None while ``connected``."""
        if self.connected:
            return None
        return self._unavailable or "the connection to the message broker is closed"

    async def _open(self) -> _Link:
        connection = await aio_pika.connect(self.amqp_url, timeout=self.CONNECT_TIMEOUT)
        try:
            channel = await connection.channel(on_return_raises=True)
            reply_queue = await channel.get_queue(self.REPLY_TO, ensure=False)
            await reply_queue.consume(self._on_reply, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        link = _Link(connection, channel)
        connection.close_callbacks.add(partial(self._on_link_closed, link))
        channel.close_callbacks.add(partial(self._on_link_closed, link))
        if not link.is_open:  # closed before the callbacks were there to tell
            raise BrokerUnavailable("the connection to the message broker closed as it opened")
        return link

    def _on_link_closed(self, link: _Link, _sender: object, exc: BaseException | None) -> None:
        self._lose(link, exc)

    def _lose(self, link: _Link, exc: BaseException | None) -> None:
        """``link`` is gone (the broker closed it, the network dropped it, or a call found it dead): fail
        the calls waiting on it and have the keeper open a new one."""
        if self._link is not link or self._closed:
            return  # an old link's late callback, or our own close
        self._link = None
        self._unavailable = f"the connection to the message broker was lost: {_one_line(exc)}"
        log.warning("rpc client lost the broker; reconnecting", error=_one_line(exc))
        self._fail_pending(f"{self._unavailable} (while waiting for the reply)")
        self._dropped.append(link)  # the keeper closes what is left of it
        self._lost.set()

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(BrokerUnavailable(reason))

    async def _keep_open(self) -> None:
        while True:
            await self._lost.wait()
            self._lost.clear()
            while self._dropped:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._dropped.pop().connection.close(), self.CONNECT_TIMEOUT)
            delay = self.retry_delay
            while self._link is None:
                try:
                    self._link = await self._open()
                except Exception as exc:  # whatever it is, the keeper must live on and try again
                    self._unavailable = f"the message broker is not reachable: {_one_line(exc)}; reconnecting"
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_retry_delay)
            self._unavailable = ""
            log.info("rpc client reconnected to the broker")

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(message.body)

    async def call(self, operation: Operation[Req, Res], request: Req, timeout: float = 30.0) -> Res:
        """The service's answer to ``request``. Raises ``RpcError`` when the service refuses it,
        TimeoutError when no reply comes in time, ``BrokerUnavailable`` when the broker cannot be reached
        (or the connection dropped meanwhile), aio_pika's DeliveryError when unroutable."""
        reply = await self.call_raw(operation.queue, operation.name, _args(request), timeout)
        if not reply.ok:
            raise RpcError(reply.error or f"{operation.name} refused", reply.status)
        return operation.answers.validate_python(reply.result)

    async def call_raw(self, queue: str, op: str, args: dict[str, Any], timeout: float = 30.0) -> RpcReply:
        """Any request, as given (tests send malformed ones with this)."""
        if self._keeper is None:
            raise RuntimeError("RpcClient.connect() was not called")
        link = self._link
        if link is None or not link.is_open:
            if link is not None:
                self._lose(link, None)
            raise BrokerUnavailable(self.unavailable or "the message broker is not reachable")
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            try:
                await link.channel.default_exchange.publish(
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
            except aiormq.exceptions.DeliveryError:
                raise
            except _LINK_ERRORS as exc:
                self._lose(link, exc)
                raise BrokerUnavailable(
                    f"the connection to the message broker was lost: {_one_line(exc)}"
                ) from None
            body = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(correlation_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # failed by a lost link while the publish failed too: seen, not logged
        return RpcReply.model_validate(orjson.loads(body))


def _one_line(exc: BaseException | None) -> str:
    if exc is None:
        return "closed"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _args(request: BaseModel) -> dict[str, Any]:
    # unset keys are left out: a patch says only what changes (``SyncSpecPatch``)
    return request.model_dump(mode="json", by_alias=True, exclude_unset=True)
