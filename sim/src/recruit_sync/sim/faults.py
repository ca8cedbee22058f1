"""Injected failures: `POST /_sim/faults` queues them, matching calls consume them.

A fault answers instead of the endpoint, before the token is checked, after waiting `delay` seconds
(a fault of only `delay` just slows the call down, which is how timeouts are provoked). Faults
without `path` match every `/recruit/v2` call (never the token endpoint); with `path` they match
calls whose path starts with it, the token endpoint included (`"path": "/oauth"`). Several queued
faults are consumed in the order they were added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

import orjson
from starlette.responses import Response

DEFAULT_CODES: Final = {
    400: ("INVALID_DATA", "the input data is invalid"),
    401: ("INVALID_TOKEN", "invalid oauth token"),
    403: ("NO_PERMISSION", "permission denied"),
    404: ("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"),
    429: ("TOO_MANY_REQUESTS", "too many requests"),
}
MALFORMED_BODY: Final = b'{"data":[{"id":"9000000000001","Email":"broken@exam'
RATE_LIMIT: Final = 100


@dataclass
class Fault:
    status: int = 200
    count: int = 1
    path: str | None = None
    retry_after: int = 1
    malformed: bool = False
    in_body_error: bool = False
    code: str | None = None
    message: str | None = None
    delay: float = 0.0

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Fault:
        """Validate a `POST /_sim/faults` body; raises ValueError naming the bad key."""
        known = set(cls.__dataclass_fields__)
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        fault = cls(**spec)
        if "status" not in spec and not (fault.malformed or fault.in_body_error or fault.delay):
            raise ValueError("status is required unless malformed, in_body_error or delay is set")
        if not isinstance(fault.status, int) or not 200 <= fault.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if not isinstance(fault.count, int) or fault.count < 1:
            raise ValueError("count must be a positive integer")
        if fault.path is not None and not (isinstance(fault.path, str) and fault.path.startswith("/")):
            raise ValueError("path must start with /")
        if not isinstance(fault.retry_after, int) or fault.retry_after < 0:
            raise ValueError("retry_after must be a non-negative integer (seconds)")
        if not isinstance(fault.delay, int | float) or fault.delay < 0:
            raise ValueError("delay must be a non-negative number (seconds)")
        return fault

    @property
    def delay_only(self) -> bool:
        """A pure delay: the call waits `delay` seconds, then is answered normally."""
        return self.status == 200 and not (self.malformed or self.in_body_error)

    @property
    def billed(self) -> bool:
        """Whether the answer costs the call's credits: like any answer, unless it is 401, 429 or 5xx
        (a malformed body or an error inside HTTP 200 was served, as far as the caller can tell)."""
        return self.status not in (401, 429) and self.status < 500

    def matches(self, path: str, recruit_call: bool) -> bool:
        return recruit_call if self.path is None else path.startswith(self.path)

    def response(self, now: float, recruit_call: bool) -> Response:
        """What the faulted call answers."""
        if self.malformed:
            return Response(MALFORMED_BODY, status_code=self.status, media_type="application/json")
        if self.in_body_error:
            item = {
                "status": "error",
                "code": self.code or "INVALID_DATA",
                "message": self.message or "the input data is invalid",
                "details": {},
            }
            return _json({"data": [item]}, self.status)
        headers: dict[str, str] = {}
        if self.status == 429:
            headers = {
                "Retry-After": str(self.retry_after),
                "X-RATELIMIT-LIMIT": str(RATE_LIMIT),
                "X-RATELIMIT-REMAINING": "0",
                "X-RATELIMIT-RESET": str(int(now) + self.retry_after),  # epoch seconds
            }
        if not recruit_call:  # the accounts server's own error shape
            if self.status == 429:
                body = {
                    "error": "Access Denied",
                    "error_description": "You have made too many requests continuously. "
                    "Please try again after some time.",
                }
                return _json(body, 400, headers)
            return _json({"error": self.code or "server_error"}, self.status, headers)
        code, message = DEFAULT_CODES.get(self.status, ("INTERNAL_ERROR", "internal server error"))
        error = {
            "code": self.code or code,
            "details": {},
            "message": self.message or message,
            "status": "error",
        }
        return _json(error, self.status, headers)


class FaultQueue:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def take(self, path: str, recruit_call: bool) -> Fault | None:
        """The first queued fault matching this call, one use of it consumed."""
        for fault in self.faults:
            if fault.matches(path, recruit_call):
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.faults]


def _json(body: object, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")
