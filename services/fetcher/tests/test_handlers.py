"""fetch_sync: a run is fetched, or answered with FetchFailed that names the problem (never a secret)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import FetchCompleted, FetchFailed, RecordBatch
from recruit_sync.contracts.ids import fetch_failed_id
from recruit_sync.fetcher.handlers import fetch_sync, recruit_client_factory
from recruit_sync.fetcher.recruit_http import RetryPolicy
from recruit_sync.runtime.crypto import encrypt
from recruit_sync.sim.app import create_app
from recruit_sync.sim.data import SimData

FAST = RetryPolicy(attempts=2, backoff_base=0.0001, backoff_max=0.0002, max_wait=0.1)


class Published(list[Envelope]):
    async def __call__(self, event: Envelope) -> None:
        self.append(event)


def simulator(generate: int = 0, **document: Any) -> Any:
    return create_app(SimData.from_dict(document, generate=generate))


async def inject(app: Any, *faults: dict[str, Any]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        for fault in faults:
            assert (await http.post("/_sim/faults", json=fault)).status_code == 200


async def run(app: Any, due: Any) -> Published:
    published = Published()
    connect = recruit_client_factory(timeout=5, transport=httpx.ASGITransport(app=app), retry=FAST)
    await fetch_sync(due, connect=connect, publish=published)
    return published


async def test_a_run_publishes_its_batches_then_fetch_completed(make_due: Any) -> None:
    published = await run(simulator(generate=250), make_due(batch_size=100))
    assert [type(e).__name__ for e in published] == ["RecordBatch"] * 3 + ["FetchCompleted"]
    completed = published[-1]
    assert isinstance(completed, FetchCompleted) and completed.record_count == 250
    assert sum(len(e.records) for e in published if isinstance(e, RecordBatch)) == 250


async def test_refused_credentials_fail_the_run_as_auth_failed(make_due: Any) -> None:
    due = make_due()
    due = due.model_copy(
        update={"connection": due.connection.model_copy(update={"refresh_token_enc": encrypt("revoked-rt")})}
    )
    published = await run(simulator(generate=5), due)
    [failed] = published
    assert isinstance(failed, FetchFailed) and failed.auth_failed
    assert failed.error == "POST /oauth/v2/token: token refused: invalid_code"
    assert failed.event_id == fetch_failed_id("run-1")
    assert failed.correlation_id == "run-1" and failed.causation_id == str(due.event_id)
    assert "revoked-rt" not in failed.model_dump_json() and "secret" not in failed.error


async def test_401_on_every_call_fails_the_run_as_auth_failed(make_due: Any) -> None:
    app = simulator(generate=5)
    await inject(app, {"status": 401, "count": 10})
    [failed] = await run(app, make_due())
    assert isinstance(failed, FetchFailed) and failed.auth_failed
    assert failed.error == "GET /recruit/v2/settings/modules: HTTP 401 INVALID_TOKEN (invalid oauth token)"
    assert (failed.api_calls, failed.credits) == (2, 0)


async def test_recruit_down_after_retries_fails_the_run(make_due: Any) -> None:
    app = simulator(generate=5)
    await inject(app, {"status": 503, "count": 10, "path": "/recruit/v2/Candidates"})
    [failed] = await run(app, make_due())
    assert isinstance(failed, FetchFailed) and not failed.auth_failed
    assert failed.error == "GET /recruit/v2/Candidates: HTTP 503 after 2 tries"
    assert failed.api_calls == 3  # settings/modules + two tries


async def test_broken_body_fails_the_run_naming_the_call(make_due: Any) -> None:
    app = simulator(generate=500)
    await inject(app, {"malformed": True, "path": "/recruit/v2/Candidates"})
    published = await run(app, make_due())
    assert [type(e).__name__ for e in published] == ["FetchFailed"]
    failed = published[-1]
    assert isinstance(failed, FetchFailed)
    assert failed.error.startswith("GET /recruit/v2/Candidates: ") and "not JSON" in failed.error


async def test_transient_faults_within_the_retries_do_not_fail_the_run(make_due: Any) -> None:
    app = simulator(generate=450)
    await inject(
        app,
        {"status": 429, "retry_after": 0, "path": "/recruit/v2/Candidates"},
        {"status": 500, "path": "/recruit/v2/Candidates"},
        {"status": 401, "path": "/recruit/v2/Candidates"},
    )
    published = await run(app, make_due())
    completed = published[-1]
    assert isinstance(completed, FetchCompleted) and completed.record_count == 450
    assert completed.api_calls == 1 + 3 + 3 + 1  # modules, 3 faulted tries, 3 pages, deleted


async def test_unknown_module_fails_the_run_listing_the_known_ones(make_due: Any) -> None:
    [failed] = await run(simulator(), make_due(module="Referrals"))
    assert isinstance(failed, FetchFailed) and "known modules: Candidates, Clients" in failed.error


async def test_secret_that_does_not_decrypt_fails_the_run(make_due: Any) -> None:
    due = make_due()
    due = due.model_copy(
        update={"connection": due.connection.model_copy(update={"client_secret_enc": "not-a-fernet-token"})}
    )
    [failed] = await run(simulator(), due)
    assert isinstance(failed, FetchFailed) and not failed.auth_failed
    assert failed.error.startswith("connection 'acme': cannot decrypt a stored secret")


async def test_broker_errors_propagate_so_the_sync_due_is_redelivered(make_due: Any) -> None:
    async def broken_publish(event: Envelope) -> None:
        raise ConnectionResetError("broker went away")

    connect = recruit_client_factory(
        timeout=5, transport=httpx.ASGITransport(app=simulator(generate=5)), retry=FAST
    )
    with pytest.raises(ConnectionResetError):
        await fetch_sync(make_due(), connect=connect, publish=broken_publish)
