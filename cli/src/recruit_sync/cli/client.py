"""The HTTP client for the recruit-sync API: the one place where a failure becomes a one-line message.

The transport is a seam: tests pass an ``httpx.MockTransport``; production uses httpx's own. The API
token (``RECRUIT_SYNC_TOKEN``) travels only in the ``Authorization`` header: no message names it.
"""

from __future__ import annotations

from typing import Any

import httpx

from recruit_sync.contracts import rpc

DEFAULT_API_URL = "http://127.0.0.1:8000"
# A dry run or a preview: the API waits up to ``rpc.LONG`` for the service doing it, after a usual call
# (the run's times, the plan); a minute more lets the API's own answer (a 503 naming the service) arrive.
LONG_TIMEOUT = rpc.LONG + 60.0
CREATE_TOKEN = "create one with 'recruit-sync token create --name NAME --role ROLE' on the server"


class CliError(Exception):
    """A failure to report as one ``error: ...`` line on stderr (``status``: the API's, if any)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    """JSON in, JSON out. The timeout outlasts the API's own RPC timeouts (two calls for a sync's
    detail), so the API's 503 naming the silent service arrives instead of a bare client timeout."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sends_token = token is not None
        headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        self._http = httpx.Client(
            base_url=self.base_url, transport=transport, timeout=timeout, headers=headers
        )

    def get(self, path: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        return self.request("GET", path, params=params, timeout=timeout)

    def post(
        self,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        return self.request("POST", path, body=body, params=params, timeout=timeout)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``timeout``: seconds for this call instead of the client's (``LONG_TIMEOUT`` for a dry run or
        a preview)."""
        try:
            response = self._http.request(
                method,
                path,
                json=body,
                params=params,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.TimeoutException:
            raise CliError(f"the recruit-sync API at {self.base_url} did not answer in time") from None
        except httpx.TransportError:
            raise CliError(
                f"cannot reach the recruit-sync API at {self.base_url} "
                "(is 'recruit-sync services up' running?)"
            ) from None
        if response.is_error:
            raise CliError(self._refusal(response), status=response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliError(f"{method} {path}: the API answered something that is not JSON") from None

    def _refusal(self, response: httpx.Response) -> str:
        """The error line; a 401 or 403 also says what to do about the token."""
        if response.status_code == httpx.codes.UNAUTHORIZED:
            problem = (
                "the API refused RECRUIT_SYNC_TOKEN (unknown or revoked): set it to a valid token"
                if self._sends_token
                else "the API needs a token: set RECRUIT_SYNC_TOKEN"
            )
            return f"{problem} ({CREATE_TOKEN})"
        if response.status_code == httpx.codes.FORBIDDEN:
            return f"{error_message(response)} (the role of the token in RECRUIT_SYNC_TOKEN may not do this)"
        return error_message(response)

    def close(self) -> None:
        self._http.close()


def error_message(response: httpx.Response) -> str:
    """The API's ``detail`` (already one line naming the problem), or the status and a bit of body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail
    text = " ".join(response.text.split())[:200]
    return f"the API answered {response.status_code} {response.reason_phrase}" + (f": {text}" if text else "")
