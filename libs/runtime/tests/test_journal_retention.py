"""The journal's retention: configured through the environment, applied when the stream is created, and
reported as in force when a journal created with other values keeps them."""

from __future__ import annotations

import aio_pika
import pytest

from recruit_sync.contracts import topology
from recruit_sync.runtime.journal import Journal, Retention, declare_journal


def test_retention_reads_the_environment_and_describes_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Retention().describe() == "it keeps events for 7 days, up to 2 GiB"
    monkeypatch.setenv("RECRUIT_SYNC_JOURNAL_MAX_AGE", "1D")
    monkeypatch.setenv("RECRUIT_SYNC_JOURNAL_MAX_BYTES", str(512 * 1024**2))
    retention = Retention.from_env()
    assert retention == Retention("1D", 512 * 1024**2)
    assert retention.describe() == "it keeps events for 1 day, up to 512 MiB"
    assert retention.arguments() == {
        "x-queue-type": "stream",
        "x-max-age": "1D",
        "x-max-length-bytes": 512 * 1024**2,
    }


@pytest.mark.parametrize(
    ("age", "size", "problem"),
    [
        ("7 days", "1", "journal max age '7 days'"),
        ("0D", "1", "journal max age '0D'"),
        ("7D", "2GB", "RECRUIT_SYNC_JOURNAL_MAX_BYTES '2GB'"),
        ("7D", "0", "journal max bytes 0"),
    ],
)
def test_a_malformed_retention_is_refused_naming_the_value(
    monkeypatch: pytest.MonkeyPatch, age: str, size: str, problem: str
) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_JOURNAL_MAX_AGE", age)
    monkeypatch.setenv("RECRUIT_SYNC_JOURNAL_MAX_BYTES", size)
    with pytest.raises(ValueError, match=problem):
        Retention.from_env()


@pytest.mark.integration
async def test_a_journal_created_with_other_values_keeps_them_and_says_which(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        assert await declare_journal(connection, Retention("2D", 3 * 1024**3)) == Retention("2D", 3 * 1024**3)
        # configured otherwise later: the stream keeps what it was created with, and says so
        assert await declare_journal(connection, Retention("12h", 1024**3)) == Retention("2D", 3 * 1024**3)
        assert await declare_journal(connection, Retention("2D", 1024**3)) == Retention("2D", 3 * 1024**3)
        journal = Journal(amqp_url, retention=Retention("12h", 1024**3))
        assert (
            await journal.left("r1")
            == "run r1 has left the journal (it keeps events for 2 days, up to 3 GiB)"
        )
    finally:
        channel = await connection.channel()
        await channel.queue_delete(topology.JOURNAL_STREAM)
        await connection.close()
