"""preview_sync: the run's own fetch, its batches decided by the importer in a scratch store, in order;
the scratch store closed whatever happens; a failed fetch named as the run's FetchFailed would name it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from recruit_sync.contracts import rpc
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import (
    BatchImported,
    FetchCompleted,
    Outcome,
    RecordBatch,
    RunCounts,
    SyncDue,
)
from recruit_sync.contracts.resources import NoArguments, PreviewBatch, PreviewOutcomes, Sample, Scratch
from recruit_sync.contracts.rpc import Operation
from recruit_sync.contracts.sync_spec import SelectCriteria
from recruit_sync.fetcher.handlers import fetch_sync, recruit_client_factory
from recruit_sync.fetcher.preview import DECIDE_TIMEOUT, OPEN_TIMEOUT, preview_sync
from recruit_sync.fetcher.recruit_http import RetryPolicy
from recruit_sync.runtime.crypto import encrypt
from recruit_sync.runtime.rpc import RpcError
from recruit_sync.sim.app import create_app
from recruit_sync.sim.data import SimData

FAST = RetryPolicy(attempts=2, backoff_base=0.0001, backoff_max=0.0002, max_wait=0.1)
SCRATCH = Scratch(scratch="scratch_" + "ab" * 16)
OUTCOMES = PreviewOutcomes(
    summary=RunCounts(total=2, new=2),
    samples={Outcome.NEW: [Sample(record_id="100001", email="a@example.com")]},
)
IST = "+05:30"
DELETED = {"Candidates": [{"id": "200001", "deleted_time": f"2026-11-01T09:00:00{IST}"}]}


@dataclass
class FakeImporter:
    """The importer's preview operations as the fetcher sees them: each call kept (name, request,
    timeout); ``failures`` makes the n-th call of an operation (1-based) raise instead of answering."""

    calls: list[tuple[str, Any, float]] = field(default_factory=list)
    failures: dict[tuple[str, int], BaseException] = field(default_factory=dict)

    async def call(self, operation: Operation[Any, Any], request: Any, timeout: float) -> Any:
        self.calls.append((operation.name, request, timeout))
        nth = sum(1 for name, _, _ in self.calls if name == operation.name)
        failure = self.failures.get((operation.name, nth))
        if failure is not None:
            raise failure
        if operation is rpc.PREVIEW_OPEN:
            return SCRATCH
        if operation is rpc.PREVIEW_BATCH:
            batch = request.batch
            return BatchImported(run_id=batch.run_id, sync_id=batch.sync_id, seq=batch.seq, outcomes=[])
        assert operation is rpc.PREVIEW_CLOSE
        return OUTCOMES

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]

    def batches(self) -> list[RecordBatch]:
        return [request.batch for name, request, _ in self.calls if name == rpc.PREVIEW_BATCH.name]


def simulator(generate: int = 0, **document: Any) -> Any:
    return create_app(SimData.from_dict(document, generate=generate))


def connect_to(app: Any) -> Any:
    return recruit_client_factory(timeout=5, transport=httpx.ASGITransport(app=app), retry=FAST)


async def preview(app: Any, due: SyncDue, importer: FakeImporter) -> Any:
    return await preview_sync(due, connect=connect_to(app), importer=importer)


async def refused(app: Any, due: SyncDue, importer: FakeImporter, status: int) -> str:
    with pytest.raises(RpcError) as raised:
        await preview(app, due, importer)
    assert raised.value.status == status
    return str(raised.value)


async def sim_stats(app: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        stats: dict[str, Any] = (await http.get("/_sim/stats")).json()
        return stats


async def inject(app: Any, *faults: dict[str, Any]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        for fault in faults:
            assert (await http.post("/_sim/faults", json=fault)).status_code == 200


class Published(list[Envelope]):
    async def __call__(self, event: Envelope) -> None:
        self.append(event)


def without_time(batch: RecordBatch) -> dict[str, Any]:
    return batch.model_dump(mode="json", exclude={"occurred_at"})


async def test_the_runs_batches_are_decided_in_order_in_one_scratch_store(make_due: Any) -> None:
    due = make_due(batch_size=100, deleted_since=datetime.fromisoformat(f"2026-10-01T00:00:00{IST}"))
    app = simulator(generate=250, deleted=DELETED)
    importer = FakeImporter()

    answer = await preview(app, due, importer)

    assert importer.names() == ["preview.open"] + ["preview.batch"] * 3 + ["preview.close"]
    assert [request for name, request, _ in importer.calls if name != "preview.batch"] == [
        NoArguments(),
        SCRATCH,
    ]
    assert all(
        isinstance(request, PreviewBatch) and request.scratch == SCRATCH.scratch
        for name, request, _ in importer.calls
        if name == "preview.batch"
    )
    assert [timeout for _, _, timeout in importer.calls] == [OPEN_TIMEOUT] + [DECIDE_TIMEOUT] * 4
    batches = importer.batches()
    assert [b.seq for b in batches] == [0, 1, 2]
    assert sum(len(b.records) for b in batches) == 250 and [d.id for d in batches[-1].deleted] == ["200001"]
    # the answer: the scratch store's counts and samples, and what the fetch cost in Recruit
    stats = await sim_stats(app)
    assert (answer.summary, answer.samples) == (OUTCOMES.summary, OUTCOMES.samples)
    assert (answer.api_calls, answer.credits) == (stats["calls"], stats["credits"]) == (1 + 2 + 1, 1 + 6 + 1)

    # the run itself, on the same data, publishes the very batches the preview had decided, at that cost
    published = Published()
    await fetch_sync(due, connect=connect_to(simulator(generate=250, deleted=DELETED)), publish=published)
    *run_batches, completed = published
    assert isinstance(completed, FetchCompleted)
    assert [without_time(b) for b in run_batches if isinstance(b, RecordBatch)] == list(
        map(without_time, batches)
    )
    assert (completed.api_calls, completed.credits) == (answer.api_calls, answer.credits)


async def test_an_empty_module_is_previewed_without_batches(make_due: Any) -> None:
    importer = FakeImporter()
    answer = await preview(simulator(), make_due(), importer)
    assert importer.names() == ["preview.open", "preview.close"]
    assert answer.summary == OUTCOMES.summary
    assert (answer.api_calls, answer.credits) == (3, 1 + 3 + 1)  # modules, one empty list page, deleted


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        (
            [{"status": 503, "count": 10, "path": "/recruit/v2/Candidates"}],
            "GET /recruit/v2/Candidates: HTTP 503 after 2 tries",
        ),
        (
            [{"status": 401, "count": 10}],
            "GET /recruit/v2/settings/modules: HTTP 401 INVALID_TOKEN (invalid oauth token)",
        ),
    ],
)
async def test_a_failed_fetch_is_a_bad_gateway_naming_the_call_and_the_scratch_is_closed(
    make_due: Any, faults: list[dict[str, Any]], error: str
) -> None:
    app = simulator(generate=5)
    await inject(app, *faults)
    importer = FakeImporter()
    assert await refused(app, make_due(), importer, 502) == error
    assert importer.names() == ["preview.open", "preview.close"]
    assert importer.calls[-1][1] == SCRATCH


async def test_a_failure_after_some_batches_still_closes_the_scratch(make_due: Any) -> None:
    """The importer refuses the second batch: its refusal is passed on as it is, the scratch closed."""
    importer = FakeImporter(failures={("preview.batch", 2): RpcError("preview.batch failed: boom", 500)})
    assert await refused(simulator(generate=450), make_due(batch_size=200), importer, 500) == (
        "preview.batch failed: boom"
    )
    assert importer.names() == ["preview.open", "preview.batch", "preview.batch", "preview.close"]


async def test_refused_credentials_broken_answers_unknown_modules_and_bad_criteria_are_named(
    make_due: Any,
) -> None:
    due = make_due()
    revoked = due.model_copy(
        update={"connection": due.connection.model_copy(update={"refresh_token_enc": encrypt("revoked-rt")})}
    )
    importer = FakeImporter()
    error = await refused(simulator(generate=5), revoked, importer, 502)
    assert error == "POST /oauth/v2/token: token refused: invalid_code"
    assert "revoked-rt" not in error and "secret" not in error

    app = simulator(generate=5)
    await inject(app, {"malformed": True, "path": "/recruit/v2/Candidates"})
    broken = await refused(app, due, importer, 502)
    assert broken.startswith("GET /recruit/v2/Candidates: ") and "not JSON" in broken

    unknown = await refused(simulator(), make_due(module="Referrals"), importer, 502)
    assert "known modules: Candidates, Clients" in unknown

    unused = SelectCriteria.model_validate(
        {
            "kind": "criteria",
            "conditions": [
                {"field": "City", "operator": "equals", "value": "Pune"},
                {"field": "State", "operator": "equals", "value": "MH"},
            ],
            "pattern": "( 1 )",
        }
    )
    criteria = await refused(simulator(), make_due(selection=unused), importer, 502)
    assert criteria == "selection.pattern: condition 2 is not used"
    assert importer.names() == ["preview.open", "preview.close"] * 4


async def test_a_secret_that_does_not_decrypt_opens_no_scratch(make_due: Any) -> None:
    due = make_due()
    due = due.model_copy(
        update={"connection": due.connection.model_copy(update={"client_secret_enc": "not-a-fernet-token"})}
    )
    importer = FakeImporter()
    error = await refused(simulator(), due, importer, 502)
    assert error.startswith("connection 'acme': cannot decrypt a stored secret")
    assert importer.calls == []


async def test_a_silent_importer_is_named_and_a_failed_close_does_not_hide_the_fetchs_error(
    make_due: Any,
) -> None:
    importer = FakeImporter(failures={("preview.open", 1): TimeoutError()})
    error = await refused(simulator(generate=5), make_due(), importer, 503)
    assert error == "the importer service is not answering (preview.open)"
    assert importer.names() == ["preview.open"]  # nothing opened, nothing to close

    importer = FakeImporter(failures={("preview.batch", 1): TimeoutError()})
    error = await refused(simulator(generate=5), make_due(), importer, 503)
    assert error == "the importer service is not answering (preview.batch)"
    assert importer.names() == ["preview.open", "preview.batch", "preview.close"]

    app = simulator(generate=5)
    await inject(app, {"status": 503, "count": 10, "path": "/recruit/v2/Candidates"})
    importer = FakeImporter(failures={("preview.close", 1): TimeoutError()})
    assert (
        await refused(app, make_due(), importer, 502) == "GET /recruit/v2/Candidates: HTTP 503 after 2 tries"
    )
    assert importer.names() == ["preview.open", "preview.close"]
