"""Reading a run back from the journal stream on a real vhost, and the replay operation on top of it."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts.envelope import Envelope, utc_now
from recruit_sync.contracts.events import BatchImported, Outcome
from recruit_sync.history import handlers
from recruit_sync.history.queries import Queries
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import EVENTS, publish_event
from recruit_sync.runtime.journal import GRACE, Journal

pytestmark = pytest.mark.integration


async def _read(journal: Journal, run: Any, finished: Any = None) -> list[Envelope]:
    found: list[Envelope] = []
    count = await journal.read_run(run.run_id, run.started_at, finished, found.append)
    assert count == len(found)
    return found


def _now_run(make_run: Any) -> Any:
    return make_run(started_at=utc_now())


async def test_the_run_s_events_are_read_in_order_and_a_version_1_batch_upgraded(
    amqp_url: str, publisher: RabbitBroker, make_run: Any
) -> None:
    mine, other = _now_run(make_run), _now_run(make_run)
    r = mine.record
    legacy = {
        "type": "batch.imported",
        "version": 1,
        "occurred_at": mine.started_at.isoformat(),
        "correlation_id": mine.run_id,
        "run_id": mine.run_id,
        "sync_id": mine.sync_id,
        "seq": 1,
        "outcomes": [{"record_id": "2", "email": "b@x.co", "outcome": "ignored", "reason": "opt_out"}],
    }
    await publish_event(publisher, mine.sync_due())
    await publish_event(publisher, other.sync_due())
    await publish_event(publisher, mine.batch(0, [r("1", "a@x.co")], minutes=0))
    await publisher.publish(
        orjson.dumps(legacy), exchange=EVENTS, routing_key="batch.imported", correlation_id=mine.run_id
    )
    await publish_event(publisher, other.batch(0, [r("9", "z@x.co")], minutes=0))
    await publish_event(publisher, mine.fetch_completed(2))

    events = await _read(Journal(amqp_url, quiet=0.5), mine)
    assert [type(e).__name__ for e in events] == [
        "SyncDue",
        "BatchImported",
        "BatchImported",
        "FetchCompleted",
    ]
    upgraded = events[2]
    assert isinstance(upgraded, BatchImported) and upgraded.version == 3
    assert upgraded.outcomes[0].outcome is Outcome.IGNORED and upgraded.outcomes[0].reason == "opt_out"


async def test_reading_starts_at_the_run_s_start_not_the_journal_s(
    amqp_url: str, publisher: RabbitBroker, make_run: Any
) -> None:
    run = _now_run(make_run)
    await publish_event(publisher, run.sync_due())
    later = make_run(started_at=utc_now() + timedelta(minutes=3))  # its offset is after every message
    later.run_id = run.run_id
    assert await _read(Journal(amqp_url, quiet=0.5), later) == []


async def test_reading_stops_at_the_first_message_past_the_run_s_horizon(
    amqp_url: str, publisher: RabbitBroker, make_run: Any
) -> None:
    run, other = _now_run(make_run), _now_run(make_run)
    finished = run.started_at
    await publish_event(publisher, run.sync_due())
    beyond = other.sync_due().model_copy(update={"occurred_at": finished + GRACE + timedelta(seconds=1)})
    await publish_event(publisher, beyond)
    late = run.fetch_completed(0).model_copy(update={"occurred_at": finished + GRACE + timedelta(seconds=2)})
    await publish_event(publisher, late)
    began = time.monotonic()
    # a quiet end would take 30 s, past the timeout: only the horizon can end this read in time
    events = await _read(Journal(amqp_url, timeout=5, quiet=30), run, finished)
    assert [e.ROUTING_KEY for e in events] == ["sync.due"]
    assert time.monotonic() - began < 5


async def test_a_read_ends_at_the_mark_it_appended_not_after_the_quiet_time(
    amqp_url: str, publisher: RabbitBroker, make_run: Any
) -> None:
    run = _now_run(make_run)
    await publish_event(publisher, run.sync_due())
    began = time.monotonic()
    events = await _read(Journal(amqp_url, quiet=30), run)
    assert [e.ROUTING_KEY for e in events] == ["sync.due"]
    assert time.monotonic() - began < 10


async def test_a_read_that_cannot_end_in_time_raises_timeout(
    amqp_url: str, publisher: RabbitBroker, make_run: Any
) -> None:
    run = _now_run(make_run)
    for seq in range(10):
        await publish_event(publisher, run.batch(seq, [run.record(str(seq), f"{seq}@x.co")], minutes=0))

    def slow(_: Envelope) -> None:
        time.sleep(0.2)  # a reader that cannot keep up

    with pytest.raises(TimeoutError):
        await Journal(amqp_url, timeout=0.5, quiet=30).read_run(run.run_id, run.started_at, None, slow)


async def _replay(pool: asyncpg.Pool, amqp_url: str, run_id: str) -> dict[str, Any]:
    table = rpc.operations(Queries(pool, Journal(amqp_url, quiet=0.5)).served())
    body = orjson.dumps({"op": "runs.replay", "args": {"run_id": run_id}})
    reply: dict[str, Any] = orjson.loads(await rpc.dispatch(table, body))
    return reply


async def test_replay_of_a_recorded_run_matches_and_refuses_unknown_and_forgotten_runs(
    pool: asyncpg.Pool, amqp_url: str, publisher: RabbitBroker, make_run: Any
) -> None:
    run = _now_run(make_run)
    r = run.record
    due, fetched = run.sync_due(), run.fetch_completed(1, 2)
    batch = run.batch(0, [r("1", "a@x.co"), r("2", "b@x.co", Outcome.UNCHANGED)], minutes=0)
    for event in (due, batch, fetched):
        await publish_event(publisher, event)
    await handlers.start_run(due, pool=pool)
    await handlers.record_batch(batch, pool=pool)
    await handlers.complete_fetch(fetched, pool=pool)

    reply = await _replay(pool, amqp_url, run.run_id)
    assert reply["ok"], reply
    answer = reply["result"]
    assert (answer["matches_history"], answer["differences"]) == (True, [])
    assert [e["type"] for e in answer["events"]] == ["sync.due", "batch.imported", "fetch.completed"]
    assert (answer["journal_summary"]["new"], answer["journal_summary"]["unchanged"]) == (1, 1)

    unknown = await _replay(pool, amqp_url, "no-such-run")
    assert (unknown["status"], unknown["error"]) == (404, "no run 'no-such-run'")

    forgotten = _now_run(make_run)  # recorded by history, never in this vhost's journal
    await handlers.start_run(forgotten.sync_due(), pool=pool)
    gone = await _replay(pool, amqp_url, forgotten.run_id)
    assert gone["status"] == 410
    assert (
        gone["error"]
        == f"run {forgotten.run_id} has left the journal (it keeps events for 7 days, up to 2 GiB)"
    )
