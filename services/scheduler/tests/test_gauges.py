"""The scheduler's queue gauges (``gauges.queue_depths``) read each work queue and its DLQ by passive
declares, on the real broker."""

from __future__ import annotations

import aio_pika
import pytest

from recruit_sync.contracts import topology
from recruit_sync.runtime.broker import declare_topology
from recruit_sync.scheduler.gauges import gauge_seconds_from_env, queue_depths

pytestmark = pytest.mark.integration


async def test_depths_of_every_work_queue_and_its_dlq(amqp_url: str) -> None:
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        dlq = topology.dlq_name(topology.IMPORTER_RECORD_BATCH)
        for _ in range(2):
            await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=dlq)
        await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=topology.HISTORY_EVENTS)
        depths = await queue_depths(connection)
    finally:
        await connection.close()
    assert set(depths) == set(topology.WORK_QUEUES)
    assert depths[topology.IMPORTER_RECORD_BATCH] == (0, 2)
    assert depths[topology.HISTORY_EVENTS] == (1, 0)
    assert sum(ready + dead for ready, dead in depths.values()) == 3


def test_the_refresh_period_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_GAUGE_SECONDS", "2.5")
    assert gauge_seconds_from_env() == 2.5
    monkeypatch.setenv("RECRUIT_SYNC_GAUGE_SECONDS", "0")
    with pytest.raises(ValueError, match="RECRUIT_SYNC_GAUGE_SECONDS"):
        gauge_seconds_from_env()
