import aio_pika
import asyncpg
import pytest

pytestmark = pytest.mark.integration


async def test_database_is_private_and_empty(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')"
        )
        assert tables == 0
        assert "rs_test_" in await conn.fetchval("SELECT current_database()")
    finally:
        await conn.close()


async def test_vhost_is_usable(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("probe", auto_delete=True)
        await channel.default_exchange.publish(aio_pika.Message(b"hi"), routing_key="probe")
        message = await queue.get(timeout=5)
        assert message.body == b"hi"
        await message.ack()
    finally:
        await connection.close()
