"""The API's only door to data: typed RPC calls to the services, with their failures turned into HTTP errors.

A refusal keeps the status and message the service chose (404, 409, 400, ...); a service that does not
answer within the timeout is a 503 naming it, so the CLI can say which process is missing. The timeout is
the API's usual one, or the operation's own when it declares a longer one (a dry run, a preview:
``rpc.LONG``). A broker that cannot be reached (or that dropped the connection while a call waited) is a
503 saying so in one line, for the few seconds the RPC client takes to reconnect once the broker is back.
"""

from __future__ import annotations

import aio_pika.exceptions
import aiormq.exceptions
from fastapi import HTTPException
from pydantic import ValidationError

from recruit_sync.contracts import topology
from recruit_sync.contracts.rpc import Operation, Req, Res
from recruit_sync.contracts.sync_spec import describe_validation_error
from recruit_sync.runtime.rpc import BrokerUnavailable, RpcClient, RpcError

SERVICE_NAMES = {
    topology.SCHEDULER_RPC: "scheduler",
    topology.IMPORTER_RPC: "importer",
    topology.HISTORY_RPC: "history",
    topology.FETCHER_RPC: "fetcher",
}


class Services:
    """Asks the scheduler, fetcher, importer and history services the operations of ``contracts.rpc``."""

    def __init__(self, client: RpcClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def call(self, operation: Operation[Req, Res], request: Req) -> Res:
        """The answer to ``request``, as the operation's answer type; any failure is an HTTPException."""
        service = SERVICE_NAMES[operation.queue]
        try:
            return await self.client.call(operation, request, timeout=operation.timeout or self.timeout)
        except RpcError as exc:
            raise HTTPException(exc.status if 400 <= exc.status <= 599 else 500, str(exc)) from None
        except TimeoutError:
            raise HTTPException(503, f"the {service} service is not answering") from None
        except BrokerUnavailable as exc:
            # the broker is down or the connection dropped: the client reconnects by itself, and says so
            raise HTTPException(503, str(exc)) from None
        except (aiormq.exceptions.DeliveryError, aio_pika.exceptions.DeliveryError):
            # on_return_raises: nothing is bound to the RPC queue, i.e. the topology was never declared
            raise HTTPException(
                503, f"the {service} service's queue does not exist (run 'recruit-sync migrate')"
            ) from None
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise HTTPException(503, f"the message broker is not reachable: {exc}") from None
        except ValidationError as exc:
            # a service running other contracts than the API: say which, rather than a bare 500
            raise HTTPException(
                502,
                f"the {service} service's answer to {operation.name} does not fit the contract: "
                f"{describe_validation_error(exc)}",
            ) from None
