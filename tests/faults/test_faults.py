"""The fault tools themselves: the proxy's cut is a reset and a refusal, its restore works on the same port;
the private PostgreSQL restarts under a client, which must reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import asyncpg
import pytest

from tests.e2e.stack import free_port
from tests.faults.postgres import PrivatePostgres
from tests.faults.proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


async def _echo_server() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    port = free_port()
    return await asyncio.start_server(echo, "127.0.0.1", port), port


async def _round_trip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await reader.read(1024)
    writer.close()
    return data


async def test_a_cut_resets_open_links_refuses_new_ones_and_a_restore_reopens_the_port() -> None:
    server, port = await _echo_server()
    proxy = TcpProxy("127.0.0.1", port)
    try:
        assert await _round_trip(proxy.port, b"hello") == b"hello"
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"x")
        await writer.drain()
        assert await reader.read(1) == b"x"
        await asyncio.to_thread(proxy.cut)
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            data = await reader.read(10)  # the open link was reset
            if not data:
                raise ConnectionResetError("closed")
        with pytest.raises(OSError):
            await _round_trip(proxy.port, b"again")
        await asyncio.to_thread(proxy.restore)
        assert await _round_trip(proxy.port, b"back") == b"back"
        assert proxy.connections == 3
    finally:
        await asyncio.to_thread(proxy.close)
        server.close()


async def test_the_private_postgres_restarts_under_a_client() -> None:
    pg = PrivatePostgres()
    try:
        pg.start()
        conn = await asyncpg.connect(pg.url)
        assert await conn.fetchval("SELECT 1") == 1
        await asyncio.to_thread(pg.restart)
        with pytest.raises(
            (asyncpg.PostgresConnectionError, ConnectionError, asyncpg.InterfaceError, OSError)
        ):
            await conn.fetchval("SELECT 1")
        with contextlib.suppress(Exception):
            await conn.close()
        conn = await asyncpg.connect(pg.url)
        assert await conn.fetchval("SELECT 2") == 2
        await conn.close()
    finally:
        await asyncio.to_thread(pg.close)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", pg.port), timeout=1):
        pass
