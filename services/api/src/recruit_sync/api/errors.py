"""Refused requests answer one line naming each key and its problem, as the CLI prints it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from recruit_sync.contracts.sync_spec import describe_validation_error

_SOURCES = ("body", "query", "path", "header")


def describe_request_errors(errors: Sequence[Any]) -> str:
    """``selection.conditions.0.operator: Input should be ...; zzz: unknown key``.

    FastAPI's errors are pydantic's with the request part ("body", "query") in front; rebuilding a
    ValidationError from them lets the contracts' wording (``describe_validation_error``) stay the one
    source of how a refused spec reads.
    """
    lines: list[dict[str, Any]] = []
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "json_invalid":
            return f"the request body is not valid JSON: {err.get('ctx', {}).get('error', err['msg'])}"
        if loc in {(source,) for source in _SOURCES}:
            return f"{loc[0]}: {err['msg']}"
        line = {"type": err["type"], "loc": loc[1:] if loc and loc[0] in _SOURCES else loc}
        line["input"] = err.get("input")
        if err.get("ctx") is not None:
            line["ctx"] = err["ctx"]
        lines.append(line)
    try:
        return describe_validation_error(ValidationError.from_exception_data("request", lines))  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        # an error type pydantic cannot rebuild: fall back to its own message
        return "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors)


async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": describe_request_errors(exc.errors())})


async def invalid_operation_request(_: Request, exc: Exception) -> JSONResponse:
    """A route built an operation's request from the path and query and its model refused it (a blank
    id, say): the same 422 and one line as a refused body, not a 500."""
    assert isinstance(exc, ValidationError)
    return JSONResponse(status_code=422, content={"detail": describe_validation_error(exc)})
