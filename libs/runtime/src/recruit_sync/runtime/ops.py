"""The ops port of a process: ``/metrics`` (Prometheus text), ``/health/live`` and ``/health/ready``.

A tiny HTTP/1.1 responder on asyncio (one request per connection, ``Connection: close``): what probes
and Prometheus need, nothing more, and no web framework in the workers. The port comes from
``RECRUIT_SYNC_OPS_PORT`` (``services up`` sets it per child from ``RECRUIT_SYNC_OPS_PORT_BASE``); a
process started without it serves no ops port. A port already taken is logged and the process runs on
without one: an ops port must never stop the work.

* live: the event loop answers (the responder itself runs on it);
* ready: ``check()`` answers ``None`` within ``READY_TIMEOUT`` seconds, or its reason is the 503's body.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

log = structlog.get_logger()

OPS_PORT_ENV = "RECRUIT_SYNC_OPS_PORT"
OPS_HOST_ENV = "RECRUIT_SYNC_OPS_HOST"
DEFAULT_HOST = "0.0.0.0"  # probes and scrapers come from outside the pod
READY_TIMEOUT = 3.0
REQUEST_TIMEOUT = 5.0

ReadyCheck = Callable[[], Awaitable[str | None]]


def ops_port_from_env() -> int | None:
    value = os.environ.get(OPS_PORT_ENV, "").strip()
    if not value:
        return None
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError(f"{OPS_PORT_ENV} must be a port number, not {value}")
    return port


async def _no_check() -> str | None:
    return None


class OpsServer:
    def __init__(
        self,
        port: int,
        ready: ReadyCheck = _no_check,
        *,
        host: str | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.port = port
        self.host = host or os.environ.get(OPS_HOST_ENV, DEFAULT_HOST)
        self._ready = ready
        self._registry = registry
        self._server: asyncio.Server | None = None

    async def start(self) -> bool:
        """Listen; False (and a log line) when the port cannot be had."""
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            log.error("ops port unavailable: no /metrics or health served", port=self.port, error=str(exc))
            return False
        self.port = self._server.sockets[0].getsockname()[1]  # (port 0: the one given)
        log.info("ops port serving /metrics, /health/live, /health/ready", port=self.port)
        return True

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = b""
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            method, path = _request_line(request)
            status, content_type, body = await self._respond(method, path)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            status, content_type, body = 400, "text/plain", b"bad request\n"
        except Exception as exc:  # a broken metric must not take the port down
            log.exception("ops request failed")
            status, content_type, body = 500, "text/plain", f"{type(exc).__name__}\n".encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode() + (b"" if method_is_head(request) else body))
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        path = path.split("?", 1)[0]
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if path == "/health/live":
            return 200, "application/json", orjson.dumps({"status": "ok"})
        if path == "/health/ready":
            try:
                reason = await asyncio.wait_for(self._ready(), READY_TIMEOUT)
            except TimeoutError:
                reason = f"readiness check took longer than {READY_TIMEOUT:g} s"
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if reason is None:
                return 200, "application/json", orjson.dumps({"status": "ready"})
            return 503, "application/json", orjson.dumps({"status": "not ready", "reason": reason})
        return 404, "text/plain", b"not found\n"


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _request_line(request: bytes) -> tuple[str, str]:
    line = request.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[1].startswith("/"):
        raise ValueError(line)
    return parts[0], parts[1]


def method_is_head(request: bytes) -> bool:
    return request.startswith(b"HEAD ")


def latest_migration(migrations: Path | None) -> str | None:
    """The name ``db.migrate`` records for the newest migration of a service (None: no database)."""
    if migrations is None:
        return None
    names = sorted(path.stem for path in migrations.glob("*.sql"))
    return names[-1] if names else None


def service_ready(
    ping: Callable[[float], Awaitable[bool]], database_url: str | None, schema: str, migration: str | None
) -> ReadyCheck:
    """Ready: the broker connection is up (``ping``), and, for a service with a database, the database
    answers ``SELECT 1`` and the service's latest migration is in its ``schema_migrations``. Its own
    short-lived connection, so a busy pool cannot make a working process look unready."""

    async def check() -> str | None:
        if not await ping(1.0):
            return "broker not connected"
        if database_url is None:
            return None
        try:
            conn = await asyncpg.connect(database_url, timeout=2.0)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return f"database unreachable: {type(exc).__name__}"
        try:
            await conn.fetchval("SELECT 1", timeout=2.0)
            if migration is not None:
                applied = await conn.fetchval(
                    f'SELECT count(*) FROM "{schema}".schema_migrations WHERE version = $1',
                    migration,
                    timeout=2.0,
                )
                if not applied:
                    return f"migration {migration} not applied to schema {schema}"
        except asyncpg.UndefinedTableError:
            return f"schema {schema} not migrated"
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return f"database unreachable: {type(exc).__name__}"
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1.0)
        return None

    return check
