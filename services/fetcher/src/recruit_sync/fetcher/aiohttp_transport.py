"""httpx's transport to the network, on aiohttp: the client's requests, retries, auth and metering stay
httpx's (``recruit_http.Sender``); the connection pool and the HTTP parsing are aiohttp's, in C.

With httpx's own transport (httpcore and h11, pure Python) a page of 200 records cost the client 1.5-2.0
ms of CPU, with this one 0.8-1.0 ms (docs/adr/0029). Tests still pass ``httpx.MockTransport`` or
``httpx.ASGITransport`` to the ``Sender``; production, and every test that talks to the simulator over
the network, goes through this one.

aiohttp's errors become httpx's, split as ``recruit_http.Meter`` needs them: a request that never left
(connection refused, connect timeout, a proxy refusing the tunnel, a URL aiohttp will not send) is a
``ConnectError``, ``ConnectTimeout``, ``ProxyError`` or ``UnsupportedProtocol``; one that went out and got
no (whole) answer is a ``ReadTimeout``, ``ReadError`` or ``RemoteProtocolError``, and costs its credits.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from yarl import URL

# httpx's pool defaults: 100 connections, idle ones closed after 5 s
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 5.0


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's exceptions as the httpx ones that say the same; the message keeps aiohttp's words."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:  # (before ServerTimeoutError: it is one)
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS, TLS handshake: never sent
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ClientHttpProxyError as exc:  # the proxy refused the tunnel: never sent either
        raise httpx.ProxyError(str(exc), request=request) from exc
    except (aiohttp.InvalidUrlClientError, aiohttp.NonHttpUrlClientError) as exc:
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(str(exc) or "server disconnected", request=request) from exc
    except aiohttp.ClientPayloadError as exc:  # the body cut short
        raise httpx.ReadError(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # not HTTP: a malformed status line or headers
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:  # reset connections and the rest, once sent
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc


class _Body(httpx.AsyncByteStream):
    """A response's body, read in one piece (httpx would join the chunks anyway)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            yield await self._response.read()

    async def aclose(self) -> None:
        self._response.release()  # back to the pool when read whole, else the connection is closed


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (made on the first request, inside the event loop) behind one httpx client."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None
        # HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY, read once as httpx's own transport read them.
        # (Not aiohttp's ``trust_env``: it also looks for a .netrc on every request, in a thread.)
        self._proxies = urllib.request.getproxies()
        self._proxy_by_origin: dict[tuple[str, str], str | None] = {}

    def _proxy(self, url: httpx.URL) -> str | None:
        origin = (url.scheme, url.host)
        if origin not in self._proxy_by_origin:
            proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
            bypass = proxy is None or urllib.request.proxy_bypass(url.host)
            self._proxy_by_origin[origin] = None if bypass else proxy
        return self._proxy_by_origin[origin]

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    ssl=self._tls, limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
                ),
                cookie_jar=aiohttp.DummyCookieJar(),  # (httpx keeps the client's cookies)
                auto_decompress=False,  # httpx decodes the body, by its Content-Encoding
            )
            # aiohttp sends a GET again, once, when the connection drops before the answer (RFC 9112
            # 9.3.1 allows it), and says nothing: Recruit may bill both, the meter would count one. The
            # ``Sender`` retries, and counts, itself. (No public switch in aiohttp 3.14; a test checks.)
            self._session._retry_connection = False
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        session = self._open()
        with _as_httpx_errors(request):
            response = await session.request(
                request.method,
                # (without user:password: httpx has made it the Authorization header already)
                URL(str(request.url), encoded=True).with_user(None),
                headers=request.headers.multi_items(),
                data=await request.aread() or None,
                allow_redirects=False,  # httpx follows redirects itself, when asked to
                proxy=self._proxy(request.url),
                timeout=aiohttp.ClientTimeout(
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        version = response.version or aiohttp.HttpVersion11
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode(),
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
