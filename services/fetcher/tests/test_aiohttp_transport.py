"""The production transport (aiohttp under httpx) against a real socket server that answers as told:
what goes out, what comes back, and each failure as the httpx error the ``Sender``'s metering and
retries read (sent or not)."""

from __future__ import annotations

import asyncio
import datetime
import gc
import gzip
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from recruit_sync.fetcher.aiohttp_transport import AiohttpTransport
from recruit_sync.fetcher.recruit_http import RecruitUnavailable, RetryPolicy, Sender, tls_context

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    """Reads each request (head and ``Content-Length`` body) and lets ``reply`` answer it."""

    reply: Reply
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    scheme: str = "http"
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.lower().split(b"\r\n")
                length = next((int(line[15:]) for line in lines if line.startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                await self.reply(head, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"


Serve = Callable[..., Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[tuple[asyncio.Server, Server]] = []

    async def start(reply: Reply, tls: ssl.SSLContext | None = None) -> Server:
        server = Server(reply, scheme="https" if tls else "http")
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
        server.port = listening.sockets[0].getsockname()[1]
        servers.append((listening, server))
        return server

    yield start
    for listening, server in servers:
        listening.close()
        for writer in server.writers:
            writer.close()
        await listening.wait_closed()


def answer(body: bytes, *headers: str, status: str = "200 OK") -> Reply:
    async def reply(head: bytes, writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return reply


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AiohttpTransport(tls_context()), timeout=2) as http:
        yield http


async def test_a_request_goes_out_as_httpx_built_it_and_its_answer_comes_back(
    serve: Serve, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await serve(answer(b'{"data": [1]}', "Content-Type: application/json", "X-Rate: 7"))

    def no_threads(*args: object) -> None:
        raise AssertionError("a request waited on a thread (aiohttp's trust_env looks for a .netrc in one)")

    monkeypatch.setattr(asyncio.get_running_loop(), "run_in_executor", no_threads)
    response = await client.get(
        f"{server.url}/recruit/v2/Candidates",
        params={"page": "2", "fields": "Email,Full Name", "criteria": "(City:equals:São Paulo)"},
        headers={"Authorization": "Zoho-oauthtoken abc"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": [1]}
    assert response.headers["x-rate"] == "7"
    head = server.requests[0].decode()
    request_line = head.split("\r\n")[0]
    # the query exactly as httpx encoded it (aiohttp must not encode it again)
    assert request_line == f"GET /recruit/v2/Candidates?{response.request.url.query.decode()} HTTP/1.1"
    assert "%25" not in request_line and "S%C3%A3o" in request_line
    names = [line.split(":")[0].lower() for line in head.split("\r\n")[1:] if line]
    assert sorted(names) == sorted(set(names)), head  # each header once: aiohttp adds none of its own
    assert "authorization: zoho-oauthtoken abc" in head.lower()
    assert f"host: 127.0.0.1:{server.port}" in head.lower()


async def test_a_form_is_posted_with_its_body(serve: Serve, client: httpx.AsyncClient) -> None:
    server = await serve(answer(b'{"access_token": "t"}'))
    form = {"grant_type": "refresh_token", "a": "b c"}
    response = await client.post(f"{server.url}/oauth/v2/token", data=form)
    assert response.json() == {"access_token": "t"}
    request = server.requests[0]
    assert request.startswith(b"POST /oauth/v2/token HTTP/1.1")
    assert b"content-type: application/x-www-form-urlencoded" in request.lower()
    assert request.endswith(b"\r\n\r\ngrant_type=refresh_token&a=b+c")


async def test_a_compressed_body_is_decoded_once(serve: Serve, client: httpx.AsyncClient) -> None:
    server = await serve(answer(gzip.compress(b'{"data": []}'), "Content-Encoding: gzip"))
    response = await client.get(f"{server.url}/x")
    assert response.json() == {"data": []}


async def test_connections_are_kept_and_reused(serve: Serve, client: httpx.AsyncClient) -> None:
    server = await serve(answer(b"{}"))
    for _ in range(5):
        assert (await client.get(f"{server.url}/x")).status_code == 200
    assert (len(server.requests), server.connections) == (5, 1)


@pytest.mark.parametrize("bypassed", [False, True])
async def test_requests_go_through_the_proxy_the_environment_names(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, bypassed: bool
) -> None:
    proxy = await serve(answer(b"{}"))
    target = await serve(answer(b'{"direct": true}'))
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):  # (the lower-case ones win)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1" if bypassed else "example.invalid")
    async with httpx.AsyncClient(transport=AiohttpTransport(tls_context()), timeout=2) as http:
        for _ in range(2):
            response = await http.get(f"{target.url}/x?page=1")
            assert response.status_code == 200
    if bypassed:
        assert (len(proxy.requests), len(target.requests)) == (0, 2)
    else:
        assert (len(proxy.requests), len(target.requests)) == (2, 0)
        assert proxy.requests[0].startswith(f"GET {target.url}/x?page=1 HTTP/1.1".encode())


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, bytes]:
    """A TLS context for a server at 127.0.0.1 with a self-signed certificate, and that certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(pem)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return server, pem


async def test_https_goes_through_the_tls_context_given(serve: Serve, tmp_path: Path) -> None:
    """The server's certificate is checked with the transport's context: trusted, the answer comes
    back; not trusted (the process's context knows no such issuer), the request never went out."""
    tls, pem = self_signed(tmp_path)
    server = await serve(answer(b'{"secure": true}'), tls)
    trusting = ssl.create_default_context(cadata=pem.decode())
    async with httpx.AsyncClient(transport=AiohttpTransport(trusting), timeout=2) as http:
        assert (await http.get(f"{server.url}/x")).json() == {"secure": True}
    async with httpx.AsyncClient(transport=AiohttpTransport(tls_context()), timeout=2) as http:
        with pytest.raises(httpx.ConnectError, match="certificate"):
            await http.get(f"{server.url}/x")
    assert len(server.requests) == 1


async def test_a_proxy_that_refuses_the_tunnel_is_a_proxy_error_and_costs_nothing(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, sleeps: Any
) -> None:
    proxy = await serve(answer(b"", status="403 Forbidden"))
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)

    sender = Sender(None, timeout=2, retry=RetryPolicy(attempts=2), sleep=sleeps)
    try:
        request = sender.request("GET", "https://recruit.example.invalid/recruit/v2/Candidates", cost=1)
        with pytest.raises(RecruitUnavailable, match="ProxyError after 2 tries"):
            await sender.send("GET /recruit/v2/Candidates", request)
    finally:
        await sender.aclose()
    assert [request.split(b"\r\n")[0] for request in proxy.requests] == [
        b"CONNECT recruit.example.invalid:443 HTTP/1.1"
    ] * 2
    assert (sender.meter.api_calls, sender.meter.credits) == (0, 0)  # Recruit never saw them


async def test_a_url_with_credentials_sends_them_once(serve: Serve, client: httpx.AsyncClient) -> None:
    server = await serve(answer(b"{}"))
    response = await client.get(f"http://user:secret@127.0.0.1:{server.port}/x")
    assert response.status_code == 200
    head = server.requests[0].decode().lower()
    assert head.count("authorization:") == 1
    assert "authorization: basic dxnlcjpzzwnyzxq=" in head  # user:secret


async def hang_up(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def never_answer(head: bytes, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(1)  # (past the client's read timeout: it has given up and hung up by then)


async def cut_short(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b'{"data": [')
    await writer.drain()
    writer.close()


async def not_http(head: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HELLO THERE\r\n\r\n")
    await writer.drain()


@pytest.mark.parametrize(
    ("reply", "error", "timeout"),
    [
        (hang_up, httpx.RemoteProtocolError, 5),
        (never_answer, httpx.ReadTimeout, 0.2),
        (cut_short, httpx.ReadError, 5),
        (not_http, httpx.RemoteProtocolError, 5),
    ],
)
async def test_a_request_sent_but_not_answered_whole_is_an_error_of_the_read(
    serve: Serve, reply: Reply, error: type[httpx.TransportError], timeout: float
) -> None:
    server = await serve(reply)
    async with httpx.AsyncClient(transport=AiohttpTransport(tls_context()), timeout=timeout) as http:
        with pytest.raises(error) as raised:
            await http.get(f"{server.url}/x")
    assert raised.value.request.url.path == "/x"
    assert len(server.requests) == 1  # it went out


async def test_a_refused_connection_is_an_error_of_the_connect(client: httpx.AsyncClient) -> None:
    listening = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    listening.close()
    await listening.wait_closed()
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{port}/x")


async def test_the_sender_meters_and_retries_through_it(serve: Serve, sleeps: Any) -> None:
    """A request that went out unanswered is billed, retried and named when the retries are spent;
    the answer after it is read."""
    replies = iter([hang_up, answer(b'{"ok": true}'), hang_up, hang_up])

    async def reply(head: bytes, writer: asyncio.StreamWriter) -> None:
        await next(replies)(head, writer)

    server = await serve(reply)

    sender = Sender(None, timeout=2, retry=RetryPolicy(attempts=2), sleep=sleeps)
    assert isinstance(sender._http._transport, AiohttpTransport)
    try:
        answered = await sender.send("GET /x", sender.request("GET", f"{server.url}/x", cost=1))
        assert answered.json() == {"ok": True}
        with pytest.raises(RecruitUnavailable, match=r"GET /x: RemoteProtocolError after 2 tries"):
            await sender.send("GET /x", sender.request("GET", f"{server.url}/x", cost=1))
    finally:
        await sender.aclose()
    assert (sender.meter.api_calls, sender.meter.credits) == (4, 4)
    assert len(server.requests) == 4


async def test_a_page_read_leaves_nothing_for_the_cyclic_gc(serve: Serve, sleeps: Any) -> None:
    """A page's body must be freed when it is dropped, not when the cyclic GC comes by (ADR 0027)."""
    server = await serve(answer(b'{"data": []}' + b" " * 100_000))

    sender = Sender(None, timeout=2, retry=RetryPolicy(attempts=1), sleep=sleeps)
    try:
        await sender.send("GET /x", sender.request("GET", f"{server.url}/x", cost=1))  # the pool is made
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage, to be looked at
        try:
            for _ in range(3):
                response = await sender.send("GET /x", sender.request("GET", f"{server.url}/x", cost=1))
                assert len(response.content) > 100_000
                del response
            gc.collect()
            left = [
                type(item).__qualname__
                for item in gc.garbage
                if type(item).__module__.partition(".")[0] in ("httpx", "aiohttp")
                or (isinstance(item, bytes) and len(item) > 100_000)
            ]
            assert left == []  # (the test's own server may leave cycles of its own: not counted)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    finally:
        await sender.aclose()
