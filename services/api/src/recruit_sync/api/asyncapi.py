"""AsyncAPI document for the events on the bus and the RPC queues, generated from the contracts.

Built on a broker that is never connected: it only carries one publisher declaration per event type
(schema = the contract model) and per RPC queue (naming its operations, whose request and answer
models the OpenAPI document shows), so the document can never drift from ``recruit_sync.contracts``.
"""

from __future__ import annotations

from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI
from faststream.specification.base import Specification

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import EVENT_TYPES
from recruit_sync.contracts.rpc import OPERATIONS, RpcRequest
from recruit_sync.runtime.broker import EVENTS


def _summary(doc: str | None) -> str | None:
    return doc.strip().splitlines()[0] if doc else None


def events_document(amqp_url: str, version: str) -> Specification:
    broker = RabbitBroker(amqp_url)  # faststream shows host and vhost only, never the credentials
    for routing_key, event in EVENT_TYPES.items():
        broker.publisher(
            exchange=EVENTS,
            routing_key=routing_key,
            schema=event,
            title=routing_key,
            description=_summary(event.__doc__),
        )
    for queue in topology.RPC_QUEUES:
        ops = ", ".join(op.name for op in OPERATIONS if op.queue == queue)
        broker.publisher(
            queue,
            schema=RpcRequest,
            title=queue,
            description=f"request/reply: answers an RpcReply (contracts.rpc); op is one of {ops}",
        )
    return AsyncAPI(broker, title="recruit-sync events", version=version).to_specification()
