"""The API's only door to data: RPC calls to the services, with their failures turned into HTTP errors.

A reply's error keeps the status the service chose (404, 409, 400, ...); a service that does not answer
within the timeout is a 503 naming it, so the CLI can say which process is missing.
"""

from __future__ import annotations

from typing import Any

import aio_pika.exceptions
import aiormq.exceptions
from fastapi import HTTPException

from recruit_sync.contracts import topology
from recruit_sync.runtime.rpc import RpcClient

SERVICE_NAMES = {
    topology.SCHEDULER_RPC: "scheduler",
    topology.IMPORTER_RPC: "importer",
    topology.HISTORY_RPC: "history",
}


class Services:
    """Asks the scheduler, importer and history services over their RPC queues."""

    def __init__(self, client: RpcClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def scheduler(self, op: str, **args: Any) -> Any:
        return await self.ask(topology.SCHEDULER_RPC, op, args)

    async def importer(self, op: str, **args: Any) -> Any:
        return await self.ask(topology.IMPORTER_RPC, op, args)

    async def history(self, op: str, **args: Any) -> Any:
        return await self.ask(topology.HISTORY_RPC, op, args)

    async def ask(self, queue: str, op: str, args: dict[str, Any]) -> Any:
        service = SERVICE_NAMES[queue]
        try:
            reply = await self.client.call(queue, op, args, timeout=self.timeout)
        except TimeoutError:
            raise HTTPException(503, f"the {service} service is not answering") from None
        except (aiormq.exceptions.DeliveryError, aio_pika.exceptions.DeliveryError):
            # on_return_raises: nothing is bound to the RPC queue, i.e. the topology was never declared
            raise HTTPException(
                503, f"the {service} service's queue does not exist (run 'recruit-sync migrate')"
            ) from None
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise HTTPException(503, f"the message broker is not reachable: {exc}") from None
        if not reply.ok:
            status = reply.status if 400 <= reply.status <= 599 else 500
            raise HTTPException(status, reply.error or f"{service} refused {op}")
        return reply.result
