"""The gateway's choices without a broker: which timeout each operation gets, which service it names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from recruit_sync.api.gateway import SERVICE_NAMES, Services
from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import SyncDue
from recruit_sync.contracts.resources import DryRunRequest, NoArguments, RunRef


class Client:
    """An RpcClient that answers nothing and keeps the timeout of each call."""

    def __init__(self) -> None:
        self.timeouts: dict[str, float] = {}

    async def call(self, operation: rpc.Operation[Any, Any], request: Any, timeout: float) -> Any:
        self.timeouts[operation.name] = timeout
        return None


async def test_an_operation_that_declares_a_timeout_is_waited_for_that_long() -> None:
    client = Client()
    services = Services(client, timeout=15.0)  # type: ignore[arg-type]
    await services.call(rpc.RUNS_GET, RunRef(run_id="r1"))
    await services.call(rpc.RUNS_DRY_RUN, DryRunRequest(run_id="r1", started_at=datetime.now(UTC)))
    await services.call(rpc.FETCH_PREVIEW, SyncDue.model_construct())  # the client never looks at it
    await services.call(rpc.PREVIEW_OPEN, NoArguments())
    assert client.timeouts == {
        "runs.get": 15.0,
        "runs.dry_run": rpc.LONG,
        "fetch.preview": rpc.LONG,
        "preview.open": 15.0,
    }


def test_every_rpc_queue_has_a_service_name_for_its_errors() -> None:
    assert set(SERVICE_NAMES) == set(topology.RPC_QUEUES)
    assert {operation.queue for operation in rpc.OPERATIONS} <= set(SERVICE_NAMES)
