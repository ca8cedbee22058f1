"""The simulator's HTTP surface: Recruit API v2 (`/recruit/v2`), its accounts server
(`/oauth/v2/token`) and the control API (`/_sim`), as one Starlette ASGI app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recruit_sync.sim.criteria import Condition, CriteriaError, Junction, Matcher, WordSearch, parse_criteria
from recruit_sync.sim.data import OAuthConfig, SimData
from recruit_sync.sim.faults import Fault, FaultQueue
from recruit_sync.sim.meter import LIST_CREDITS, OTHER_CREDITS, Meter
from recruit_sync.sim.oauth import OAuthServer
from recruit_sync.sim.paging import PagingError, TokenPaging
from recruit_sync.sim.store import ConvertedMode, Query, Store, UnknownView
from recruit_sync.sim.timeutil import parse_timestamp

MAX_PER_PAGE = 200


class ApiError(Exception):
    """A Recruit error answer: `{"code", "details", "message", "status": "error"}`."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def response(self) -> Response:
        body = {"code": self.code, "details": self.details, "message": self.message, "status": "error"}
        return json_response(body, self.status)


def json_response(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class SimState:
    """Everything a running simulator holds; `reset` returns it to its data."""

    def __init__(self, data: SimData, clock: Callable[[], float]) -> None:
        self.data = data
        self.clock = clock
        self.store = Store(data, clock)
        self.oauth = OAuthServer(data.oauth, data.token_ttl, clock)
        self.faults = FaultQueue()
        self.meter = Meter()
        self.paging = TokenPaging()

    def reset(self) -> None:
        self.data = self.data.reload()
        self.store = Store(self.data, self.clock)
        self.oauth.reconfigure(self.data.oauth, self.data.token_ttl)
        self.faults.clear()
        self.meter = Meter()
        self.paging = TokenPaging()


RecruitHandler = Callable[[SimState, Request], Response]


def recruit_endpoint(credits: int, handler: RecruitHandler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a Recruit handler with metering, fault injection and the token check."""

    async def endpoint(request: Request) -> Response:
        sim: SimState = request.app.state.sim
        path = request.url.path
        sim.meter.call(path)
        fault = sim.faults.take(path, recruit_call=True)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if not fault.delay_only:
                if fault.billed:
                    sim.meter.charge(credits)
                return fault.response(sim.clock(), recruit_call=True)
        if not sim.oauth.authorized(request.headers.get("authorization")):
            return ApiError(401, "INVALID_TOKEN", "invalid oauth token").response()
        try:
            response = handler(sim, request)
        except ApiError as error:
            response = error.response()
        sim.meter.charge(credits)
        return response

    return endpoint


# parameters -------------------------------------------------------------------------------------
def _int_param(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, "INVALID_DATA", f"{name} must be an integer {limit}", {"param": name})
    return value


def _paging(request: Request) -> tuple[int, int]:
    return _int_param(request, "page", 1, 1), _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)


def _list_window(sim: SimState, request: Request) -> tuple[int, int]:
    """(first record, per_page) of a list call, by `page` or, under token paging, `page_token`."""
    page, per_page = _paging(request)
    try:
        return sim.paging.start(page, per_page, request.query_params.get("page_token") or None), per_page
    except PagingError as error:
        raise ApiError(400, error.code, str(error), {"param": "page_token"}) from None


def _module(sim: SimState, request: Request) -> str:
    module: str = request.path_params["module"]
    if not sim.store.has_module(module):
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"module": module})
    return module


def _modified_after(request: Request) -> float | None:
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise ApiError(400, "INVALID_DATA", "If-Modified-Since is not a valid date-time") from None


def _query(request: Request, with_view: bool) -> Query:
    params = request.query_params
    converted = params.get("converted", "false").lower()
    if converted not in ("false", "true", "both"):
        raise ApiError(400, "INVALID_DATA", "converted must be true, false or both", {"param": "converted"})
    order = params.get("sort_order", "asc").lower()
    if order not in ("asc", "desc"):
        raise ApiError(400, "INVALID_DATA", "sort_order must be asc or desc", {"param": "sort_order"})
    mode: ConvertedMode = "true" if converted == "true" else "both" if converted == "both" else "false"
    return Query(
        converted=mode,
        modified_after=_modified_after(request),
        cvid=(params.get("cvid") or None) if with_view else None,
        sort_by=params.get("sort_by") or None,
        descending=order == "desc",
    )


def _fields(request: Request) -> list[str] | None:
    raw = request.query_params.get("fields")
    if not raw:
        return None
    return [f for f in (part.strip() for part in raw.split(",")) if f and f != "id"]


def _page_response(
    records: list[dict[str, Any]],
    page: int,
    per_page: int,
    more: bool,
    fields: list[str] | None,
    next_page_token: str | None = None,
) -> Response:
    if not records:
        return Response(status_code=204)
    if fields is not None:
        keys = ("id", *fields)  # every record has an id; `fields` never holds it (`_fields`)
        records = [{key: r.get(key) for key in keys} for r in records]
    info: dict[str, Any] = {"per_page": per_page, "count": len(records), "page": page, "more_records": more}
    if next_page_token is not None:
        info["next_page_token"] = next_page_token
    return json_response({"data": records, "info": info})


# Recruit handlers -------------------------------------------------------------------------------
def list_records(sim: SimState, request: Request) -> Response:
    module = _module(sim, request)
    start, per_page = _list_window(sim, request)
    query = _query(request, with_view=True)
    try:
        selection = sim.store.select(module, query)
    except UnknownView:
        message = "the custom view id given seems to be invalid"
        raise ApiError(400, "INVALID_DATA", message, {"param": "cvid"}) from None
    records = selection.page(start, per_page)
    more = start + per_page < len(selection)
    token = sim.paging.next_token(start + per_page) if more else None
    return _page_response(records, start // per_page + 1, per_page, more, _fields(request), token)


def _matcher(request: Request) -> tuple[str, Matcher]:
    params = request.query_params
    if criteria := params.get("criteria"):
        try:
            return f"criteria:{criteria}", parse_criteria(criteria)
        except CriteriaError as error:
            message = f"invalid query formed: {error}"
            raise ApiError(400, "INVALID_QUERY", message, {"param": "criteria"}) from None
    for name, fields in (("email", ("Email", "Secondary_Email")), ("phone", ("Phone", "Mobile"))):
        if value := params.get(name):
            conditions = tuple(Condition(field, "equals", (value,)) for field in fields)
            return f"{name}:{value}", Junction("or", conditions)
    if word := params.get("word"):
        return f"word:{word}", WordSearch(word)
    raise ApiError(400, "REQUIRED_PARAM_MISSING", "one of criteria, email, phone or word is required")


def search_records(sim: SimState, request: Request) -> Response:
    module = _module(sim, request)
    page, per_page = _paging(request)
    key, matcher = _matcher(request)
    scan = sim.store.search(module, _query(request, with_view=False), key, matcher)
    records, more = scan.page((page - 1) * per_page, per_page)
    return _page_response(records, page, per_page, more, _fields(request))


def deleted_records(sim: SimState, request: Request) -> Response:
    module = _module(sim, request)
    page, per_page = _paging(request)
    kind = request.query_params.get("type", "all").lower()
    if kind not in ("all", "recycle", "permanent"):
        raise ApiError(400, "INVALID_DATA", "type must be all, recycle or permanent", {"param": "type"})
    items = sim.store.deleted_items(module, kind, _modified_after(request))
    start = (page - 1) * per_page
    more = start + per_page < len(items)
    return _page_response(items[start : start + per_page], page, per_page, more, None)


def get_record(sim: SimState, request: Request) -> Response:
    module = _module(sim, request)
    record_id = request.path_params["record_id"]
    record = sim.store.get(module, record_id)
    if record is None:
        raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
    fields = _fields(request)
    if fields is not None:
        record = {"id": record["id"], **{f: record.get(f) for f in fields}}
    return json_response({"data": [record]})


def settings_modules(sim: SimState, request: Request) -> Response:
    return json_response({"modules": sim.store.modules()})


def settings_custom_views(sim: SimState, request: Request) -> Response:
    module = request.query_params.get("module")
    if not module:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", "module is required", {"param": "module"})
    if not sim.store.has_module(module):
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"module": module})
    return json_response({"custom_views": sim.store.custom_views(module)})


# accounts server --------------------------------------------------------------------------------
async def token(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    fault = sim.faults.take(request.url.path, recruit_call=False)
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if not fault.delay_only:
            return fault.response(sim.clock(), recruit_call=False)
    form = dict(request.query_params)
    form.update(parse_qsl((await request.body()).decode("utf-8", "replace")))
    status, body = sim.oauth.grant(form, api_domain=str(request.base_url).rstrip("/"))
    return json_response(body, status)


# control API ------------------------------------------------------------------------------------
async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None


def _control_error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


async def control_upsert(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    body = await _json_body(request)
    if isinstance(body, dict):
        body = body.get("data", [body])
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        return _control_error("expected a JSON list of records")
    return json_response({"ids": sim.store.upsert(request.path_params["module"], body)})


async def control_delete(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    module, record_id = request.path_params["module"], request.path_params["record_id"]
    if not sim.store.has_module(module) or not sim.store.delete(module, record_id):
        return _control_error(f"no record {record_id} in {module}", 404)
    return json_response({"deleted": record_id})


async def control_add_faults(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    body = await _json_body(request)
    specs = body if isinstance(body, list) else [body]
    if not all(isinstance(s, dict) for s in specs):
        return _control_error("expected a fault object or a list of them")
    try:
        faults = [Fault.from_spec(spec) for spec in specs]
    except (TypeError, ValueError) as error:
        return _control_error(str(error))
    for fault in faults:
        sim.faults.add(fault)
    return json_response({"pending": sim.faults.pending()})


async def control_faults(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    if request.method == "DELETE":
        sim.faults.clear()
    return json_response({"pending": sim.faults.pending()})


async def control_oauth(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _control_error("expected a JSON object")
    current = sim.oauth.config
    changes = {k: body[k] for k in ("client_id", "client_secret", "refresh_token") if k in body}
    if not all(isinstance(v, str) and v for v in changes.values()):
        return _control_error("client_id, client_secret and refresh_token must be non-empty strings")
    ttl = body.get("token_ttl", sim.oauth.token_ttl)
    if not isinstance(ttl, int) or ttl <= 0:
        return _control_error("token_ttl must be a positive integer")
    merged = {"client_id": current.client_id, "client_secret": current.client_secret}
    merged["refresh_token"] = current.refresh_token
    sim.oauth.reconfigure(OAuthConfig(**{**merged, **changes}), ttl)
    if body.get("expire_access_tokens"):
        sim.oauth.expire_tokens()
    return json_response({"ok": True})


async def control_paging(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    body = await _json_body(request)
    after = body["page_token_after"] if isinstance(body, dict) and "page_token_after" in body else 0
    if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after < 1):
        return _control_error('expected {"page_token_after": positive integer or null}')
    sim.paging = TokenPaging(after)
    return json_response({"page_token_after": after})


async def control_stats(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    stats = sim.meter.snapshot()
    stats["tokens_issued"] = sim.oauth.issued
    stats["faults_pending"] = sum(f.count for f in sim.faults.faults)
    return json_response(stats)


async def control_reset(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    try:
        sim.reset()
    except ValueError as error:
        return _control_error(str(error), 500)
    return json_response({"ok": True})


async def control_health(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    return json_response({"ok": True, "generated": sim.data.generate})


def create_app(data: SimData, clock: Callable[[], float] = time.time) -> Starlette:
    """The simulator as an ASGI app serving `data`; `clock` (epoch seconds) drives token expiry
    and the timestamps the control API writes."""
    routes = [
        Route("/oauth/v2/token", token, methods=["POST"]),
        Route("/recruit/v2/settings/modules", recruit_endpoint(OTHER_CREDITS, settings_modules)),
        Route("/recruit/v2/settings/custom_views", recruit_endpoint(OTHER_CREDITS, settings_custom_views)),
        Route("/recruit/v2/{module}/search", recruit_endpoint(LIST_CREDITS, search_records)),
        Route("/recruit/v2/{module}/deleted", recruit_endpoint(OTHER_CREDITS, deleted_records)),
        Route("/recruit/v2/{module}/{record_id}", recruit_endpoint(OTHER_CREDITS, get_record)),
        Route("/recruit/v2/{module}", recruit_endpoint(LIST_CREDITS, list_records)),
        Route("/_sim/records/{module}", control_upsert, methods=["POST"]),
        Route("/_sim/records/{module}/{record_id}", control_delete, methods=["DELETE"]),
        Route("/_sim/faults", control_add_faults, methods=["POST"]),
        Route("/_sim/faults", control_faults, methods=["GET", "DELETE"]),
        Route("/_sim/oauth", control_oauth, methods=["POST"]),
        Route("/_sim/paging", control_paging, methods=["POST"]),
        Route("/_sim/stats", control_stats, methods=["GET"]),
        Route("/_sim/reset", control_reset, methods=["POST"]),
        Route("/_sim/health", control_health, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = SimState(data, clock)
    return app
