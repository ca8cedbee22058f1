"""fetch_run with the real client against the Recruit simulator (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import DeletedRecord, FetchCompleted, ImportSettings, RecordBatch
from recruit_sync.contracts.ids import fetch_completed_id, record_batch_id
from recruit_sync.contracts.records import fields_read
from recruit_sync.contracts.sync_spec import FieldMapping, Options, SelectCriteria, SelectCustomView
from recruit_sync.fetcher.fetch import fetch_run, read_ahead, to_deleted_record
from recruit_sync.fetcher.modules import UnknownModule

IST = "+05:30"


def candidate(n: int, updated: str = "2026-10-02T10:00:00+05:30", **fields: Any) -> dict[str, Any]:
    return {
        "id": str(100000 + n),
        "Email": f"c{n}@example.com",
        "First_Name": "C",
        "Last_Name": str(n),
        "Email_Opt_Out": False,
        "$converted": False,
        "Created_Time": "2026-10-01T10:00:00+05:30",
        "Updated_On": updated,
        **fields,
    }


class Published:
    """The publish callable: keeps what was published, in order."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []

    async def __call__(self, event: Envelope) -> None:
        self.events.append(event)

    @property
    def batches(self) -> list[RecordBatch]:
        return [e for e in self.events if isinstance(e, RecordBatch)]


async def test_450_candidates_take_3_list_calls_and_arrive_in_batches(
    sim_client: Any, make_due: Any, stats_of: Any
) -> None:
    client, app = sim_client(generate=450)
    due = make_due(batch_size=200)
    published = Published()
    async with client:
        completed = await fetch_run(due, client, published)

    batches = published.batches
    assert len(published.events) == len(batches) == 3  # FetchCompleted is returned, not published
    assert [b.seq for b in batches] == [0, 1, 2]
    assert [len(b.records) for b in batches] == [200, 200, 50]
    ids = [r["id"] for b in batches for r in b.records]
    assert len(set(ids)) == 450
    converted = [r for b in batches for r in b.records if r["$converted"]]
    assert converted, "converted candidates must be fetched (converted=both) so exclude_converted can act"
    for batch in batches:
        assert batch.event_id == record_batch_id("run-1", batch.seq)
        assert batch.correlation_id == "run-1"
        assert batch.causation_id == str(due.event_id)
        assert batch.module == "Candidates"
        assert batch.settings == due.settings
        assert batch.deleted == []

    stats = await stats_of(app)
    assert stats["by_path"]["/recruit/v2/Candidates"] == 3
    assert isinstance(completed, FetchCompleted)
    assert completed.event_id == fetch_completed_id("run-1")
    assert (completed.batch_count, completed.record_count, completed.deleted_count) == (3, 450, 0)
    # settings/modules 1 credit, 3 list pages 9, deleted pass (204) 1: as Recruit meters them
    assert (completed.api_calls, completed.credits) == (stats["calls"], stats["credits"]) == (5, 11)
    assert completed.correlation_id == "run-1"


@pytest.mark.parametrize("batch_size", [1, 150, 450, 1000])
async def test_batch_size_need_not_match_the_page_size(
    sim_client: Any, make_due: Any, batch_size: int
) -> None:
    client, _ = sim_client(generate=450)
    published = Published()
    async with client:
        completed = await fetch_run(make_due(batch_size=batch_size), client, published)
    sizes = [len(b.records) for b in published.batches]
    assert len(sizes) == completed.batch_count == math.ceil(450 / batch_size)
    assert sizes[:-1] == [batch_size] * (len(sizes) - 1) and sum(sizes) == 450


def mapped(*pairs: tuple[str, str]) -> ImportSettings:
    mapping = [FieldMapping(**{"from": source, "to": target}) for source, target in pairs]
    return ImportSettings(list_name="Everyone", options=Options(), mapping=mapping, settings_version=1)


DEFAULT_MAPPING = (("Email", "email"), ("First_Name", "first_name"), ("Last_Name", "last_name"))


async def test_records_carry_exactly_the_fields_the_import_reads_as_recruit_gave_them(
    sim_client: Any, make_due: Any
) -> None:
    settings = mapped(*DEFAULT_MAPPING, ("Graduation_Year", "graduated"), ("Skills_Custom", "skills"))
    full = candidate(1, Graduation_Year=2015, Department="IT", Skills_Custom=["a", "b"], Phone="+1 555")
    no_flags = {k: v for k, v in candidate(2, Skills_Custom=None).items() if k != "Email_Opt_Out"}
    client, _ = sim_client({"modules": {"Candidates": [full, no_flags]}})
    published = Published()
    async with client:
        await fetch_run(make_due(settings=settings), client, published)

    sent = {r["id"]: r for r in published.batches[0].records}
    for original in (full, no_flags):
        record = sent[original["id"]]
        assert set(record) == fields_read(settings.mapping) & set(original)  # those the record has
        assert record == {key: original[key] for key in record}  # values untouched
    assert set(sent["100001"]) == {
        "id", "Email", "Email_Opt_Out", "$converted", "Updated_On",
        "First_Name", "Last_Name", "Graduation_Year", "Skills_Custom",
    }  # fmt: skip
    assert "Email_Opt_Out" not in sent["100002"] and sent["100002"]["Skills_Custom"] is None


async def test_generated_candidates_keep_the_checked_and_mapped_fields_only(
    sim_client: Any, make_due: Any
) -> None:
    settings = mapped(*DEFAULT_MAPPING, ("City", "city"))
    client, _ = sim_client(generate=300)
    published = Published()
    async with client:
        await fetch_run(make_due(settings=settings), client, published)
    records = [r for b in published.batches for r in b.records]
    assert len(records) == 300
    assert {frozenset(r) for r in records} == {
        frozenset(
            {"id", "Email", "Email_Opt_Out", "$converted", "Updated_On", "First_Name", "Last_Name", "City"}
        )
    }  # no Phone, Skill_Set, Current_Employer ...: fields the sync does not map stay in Recruit


@pytest.mark.parametrize(
    ("operator", "endpoint"),
    [("equals", "/recruit/v2/Candidates/search"), ("ends_with", "/recruit/v2/Candidates")],
)
async def test_criteria_on_a_field_that_is_not_mapped_still_select(
    sim_client: Any, make_due: Any, stats_of: Any, operator: str, endpoint: str
) -> None:
    document = {
        "modules": {
            "Candidates": [candidate(1, City="Pune"), candidate(2, City="Delhi"), candidate(3, City="Pune")]
        }
    }
    selection = SelectCriteria.model_validate(
        {"kind": "criteria", "conditions": [{"field": "City", "operator": operator, "value": "Pune"}]}
    )
    client, app = sim_client(document)
    published = Published()
    async with client:
        await fetch_run(make_due(selection=selection, settings=mapped(*DEFAULT_MAPPING)), client, published)
    assert (await stats_of(app))["by_path"][endpoint] == 1
    records = published.batches[0].records
    assert [r["id"] for r in records] == ["100001", "100003"]
    assert all("City" not in r for r in records)  # selected on it, not sent


async def test_custom_view_selects_the_views_records(sim_client: Any, make_due: Any) -> None:
    document = {
        "modules": {"Candidates": [candidate(n) for n in range(5)]},
        "custom_views": {"Candidates": [{"id": "5001", "record_ids": ["100001", "100003"]}]},
    }
    client, _ = sim_client(document)
    published = Published()
    async with client:
        completed = await fetch_run(
            make_due(selection=SelectCustomView(kind="custom_view", cvid="5001")), client, published
        )
    assert sorted(r["id"] for r in published.batches[0].records) == ["100001", "100003"]
    assert completed.record_count == 2


async def test_incremental_run_asks_only_for_records_modified_since(sim_client: Any, make_due: Any) -> None:
    document = {
        "modules": {
            "Candidates": [
                candidate(1, updated="2026-10-02T10:00:00+05:30"),
                candidate(2, updated="2026-10-20T10:00:00+05:30"),
            ]
        }
    }
    client, _ = sim_client(document)
    published = Published()
    async with client:
        await fetch_run(
            make_due(since=datetime.fromisoformat(f"2026-10-10T00:00:00{IST}")), client, published
        )
    assert [r["id"] for r in published.batches[0].records] == ["100002"]


async def test_deleted_records_follow_the_records_and_fill_the_last_batch(
    sim_client: Any, make_due: Any
) -> None:
    document = {
        "modules": {"Candidates": [candidate(n) for n in range(3)]},
        "deleted": {
            "Candidates": [
                {"id": "200001", "deleted_time": "2026-09-01T09:00:00+05:30"},
                {"id": "200002", "deleted_time": "2026-11-01T09:00:00+05:30"},
                {"id": "200003", "deleted_time": "2026-11-02T09:00:00+05:30"},
                {"id": "200004", "deleted_time": "2026-11-03T09:00:00+05:30"},
            ]
        },
    }
    client, _ = sim_client(document)
    published = Published()
    due = make_due(batch_size=4, deleted_since=datetime.fromisoformat(f"2026-10-01T00:00:00{IST}"))
    async with client:
        completed = await fetch_run(due, client, published)
    first, second = published.batches
    assert (len(first.records), [d.id for d in first.deleted]) == (3, ["200002"])
    assert (second.records, [d.id for d in second.deleted]) == ([], ["200003", "200004"])
    assert second.deleted[0].deleted_time == datetime.fromisoformat(f"2026-11-02T09:00:00{IST}")
    assert (completed.batch_count, completed.record_count, completed.deleted_count) == (2, 3, 3)


async def test_empty_module_publishes_nothing_and_says_so(sim_client: Any, make_due: Any) -> None:
    client, _ = sim_client({})
    published = Published()
    async with client:
        completed = await fetch_run(make_due(), client, published)
    assert published.events == []
    assert (completed.batch_count, completed.record_count) == (0, 0)


async def test_job_openings_is_resolved_to_the_accounts_spelling(sim_client: Any, make_due: Any) -> None:
    document = {"modules": {"JobOpenings": [{"id": "1", "Posting_Title": "QA", "Modified_Time": "2026"}]}}
    client, _ = sim_client(document)
    published = Published()
    async with client:
        await fetch_run(make_due(module="Job_Openings"), client, published)
    assert published.batches[0].module == "JobOpenings"
    assert published.batches[0].records == [{"id": "1", "Modified_Time": "2026"}]


async def test_unknown_module_fails_naming_it(sim_client: Any, make_due: Any) -> None:
    client, _ = sim_client({})
    async with client:
        with pytest.raises(UnknownModule, match="module 'Referrals' is not in this Recruit account"):
            await fetch_run(make_due(module="Referrals"), client, Published())


async def test_a_module_created_after_the_list_was_cached_is_found(sim_client: Any, make_due: Any) -> None:
    client, app = sim_client({})
    async with client:
        assert "Referrals" not in {m["api_name"] for m in await client.modules()}  # now cached
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as control:
            added = await control.post("/_sim/records/Referrals", json=[{"id": "7", "Email": "r@zylker.com"}])
            assert added.status_code == 200
        published = Published()
        await fetch_run(make_due(module="Referrals"), client, published)
    assert published.batches[0].records[0]["id"] == "7"


def test_deleted_items_keep_id_and_time_only() -> None:
    item = {"id": 42, "deleted_time": "2026-11-01T09:00:00+05:30", "display_name": "X", "type": "recycle"}
    assert to_deleted_record(item) == DeletedRecord(
        id="42", deleted_time=datetime.fromisoformat("2026-11-01T09:00:00+05:30")
    )
    assert to_deleted_record({"id": "7", "deleted_time": "yesterday"}) == DeletedRecord(id="7")
    assert to_deleted_record({"display_name": "no id"}) is None
    assert to_deleted_record({"id": ""}) is None


# ---- overlap of listing and publishing -----------------------------------------------------------


async def test_next_page_is_requested_while_the_current_batch_is_published(
    make_client: Any, make_due: Any
) -> None:
    page_two_requested = asyncio.Event()

    def recruit(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/v2/token":
            return httpx.Response(200, json={"access_token": "at", "expires_in": 3600})
        if path.endswith("/settings/modules"):
            return httpx.Response(200, json={"modules": [{"api_name": "Candidates"}]})
        if path.endswith("/deleted"):
            return httpx.Response(204)
        page = int(request.url.params["page"])
        if page == 2:
            page_two_requested.set()
        records = [candidate(page * 10 + i) for i in range(2)]
        return httpx.Response(200, json={"data": records, "info": {"more_records": page < 2, "page": page}})

    async def publish(event: Envelope) -> None:
        if isinstance(event, RecordBatch) and event.seq == 0:
            # Without read-ahead, page 2 is only requested after this returns: this would time out.
            await asyncio.wait_for(page_two_requested.wait(), timeout=2)

    async with make_client(recruit) as client:
        completed = await fetch_run(make_due(batch_size=2), client, publish)
    assert completed.batch_count == 2


async def test_read_ahead_hands_over_the_sources_error() -> None:
    async def source() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("listing broke")

    got = []
    with pytest.raises(RuntimeError, match="listing broke"):
        async with contextlib.aclosing(read_ahead(source())) as items:
            async for item in items:
                got.append(item)
    assert got == [1]


async def test_read_ahead_stops_reading_when_the_consumer_stops() -> None:
    produced = []
    closed = asyncio.Event()

    async def source() -> AsyncIterator[int]:
        try:
            for n in range(1000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    async with contextlib.aclosing(read_ahead(source())) as items:
        async for item in items:
            if item == 2:
                break
    await asyncio.wait_for(closed.wait(), timeout=1)
    assert len(produced) <= 5  # at most a page or two ahead, never the whole source
