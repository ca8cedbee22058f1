"""Request/reply between the HTTP API and the services that own the data (docs/adr/0003).

Every door into every service is listed here as an ``Operation``: its name, the service's RPC queue,
its request model and its answer type (``contracts.resources``). The API sends an ``RpcRequest`` with
the request as ``args`` and gets an ``RpcReply`` whose ``result`` is the answer; both sides validate
with the same models, so a shape is defined once and the OpenAPI document shows every answer.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import RunSummary
from recruit_sync.contracts.resources import (
    Connection,
    Created,
    CreateSync,
    EditSync,
    EmailQuery,
    ExplainRow,
    Favourite,
    FavouriteSaved,
    ListInfo,
    ListRef,
    Member,
    NewConnection,
    NoArguments,
    RecordRow,
    RecordsQuery,
    Rekey,
    Rekeyed,
    RunRef,
    RunsOfSync,
    RunStarted,
    RunSync,
    Suppress,
    Suppressed,
    Suppression,
    SuppressionsQuery,
    SyncDetail,
    SyncRef,
    Unsuppress,
    Unsuppressed,
)


class RpcRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: str
    args: dict[str, Any] = Field(default_factory=dict)


class RpcReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool
    result: Any = None
    error: str | None = None
    status: int = 200  # HTTP status the API should answer with

    @classmethod
    def success(cls, result: Any) -> RpcReply:
        return cls(ok=True, result=result)

    @classmethod
    def failure(cls, error: str, status: int = 400) -> RpcReply:
        return cls(ok=False, error=error, status=status)


Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res")


class Operation(Generic[Req, Res]):
    """One RPC operation: ``name`` on ``queue``, taking ``request``, answering ``answer``."""

    def __init__(self, name: str, queue: str, request: type[Req], answer: Any) -> None:
        self.name = name
        self.queue = queue
        self.request = request
        self.answer = answer  # a type form (a model, ``list[Model]``), for FastAPI's response_model too
        self.answers: TypeAdapter[Res] = TypeAdapter(answer)

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


def _op(name: str, queue: str, request: type[Req], answer: Any) -> Operation[Req, Any]:
    return Operation(name, queue, request, answer)


_S, _I, _H = topology.SCHEDULER_RPC, topology.IMPORTER_RPC, topology.HISTORY_RPC

# scheduler: connections, syncs, favourites
CONNECTION_ADD: Operation[NewConnection, Created] = _op("connection.add", _S, NewConnection, Created)
CONNECTION_REKEY: Operation[Rekey, Rekeyed] = _op("connection.rekey", _S, Rekey, Rekeyed)
CONNECTION_LIST: Operation[NoArguments, list[Connection]] = _op(
    "connection.list", _S, NoArguments, list[Connection]
)
SYNC_CREATE: Operation[CreateSync, Created] = _op("sync.create", _S, CreateSync, Created)
SYNC_GET: Operation[SyncRef, SyncDetail] = _op("sync.get", _S, SyncRef, SyncDetail)
SYNC_LIST: Operation[NoArguments, list[SyncDetail]] = _op("sync.list", _S, NoArguments, list[SyncDetail])
SYNC_EDIT: Operation[EditSync, SyncDetail] = _op("sync.edit", _S, EditSync, SyncDetail)
SYNC_ACTIVATE: Operation[SyncRef, SyncDetail] = _op("sync.activate", _S, SyncRef, SyncDetail)
SYNC_PAUSE: Operation[SyncRef, SyncDetail] = _op("sync.pause", _S, SyncRef, SyncDetail)
SYNC_RUN: Operation[RunSync, RunStarted] = _op("sync.run", _S, RunSync, RunStarted)
FAVOURITE_SAVE: Operation[Favourite, FavouriteSaved] = _op(
    "mapping.favourite.save", _S, Favourite, FavouriteSaved
)
FAVOURITE_LIST: Operation[NoArguments, list[Favourite]] = _op(
    "mapping.favourite.list", _S, NoArguments, list[Favourite]
)

# importer: lists and suppressions
LIST_MEMBERS: Operation[ListRef, list[Member]] = _op("list.members", _I, ListRef, list[Member])
LIST_ALL: Operation[NoArguments, list[ListInfo]] = _op("list.all", _I, NoArguments, list[ListInfo])
SUPPRESS_ADD: Operation[Suppress, Suppressed] = _op("suppress.add", _I, Suppress, Suppressed)
SUPPRESS_REMOVE: Operation[Unsuppress, Unsuppressed] = _op("suppress.remove", _I, Unsuppress, Unsuppressed)
SUPPRESS_LIST: Operation[SuppressionsQuery, list[Suppression]] = _op(
    "suppress.list", _I, SuppressionsQuery, list[Suppression]
)

# history: runs, per-record outcomes, explain
RUNS_LIST: Operation[RunsOfSync, list[RunSummary]] = _op("runs.list", _H, RunsOfSync, list[RunSummary])
RUNS_GET: Operation[RunRef, RunSummary] = _op("runs.get", _H, RunRef, RunSummary)
RUNS_RECORDS: Operation[RecordsQuery, list[RecordRow]] = _op(
    "runs.records", _H, RecordsQuery, list[RecordRow]
)
EXPLAIN: Operation[EmailQuery, list[ExplainRow]] = _op("explain", _H, EmailQuery, list[ExplainRow])

OPERATIONS: tuple[Operation[Any, Any], ...] = (
    CONNECTION_ADD,
    CONNECTION_REKEY,
    CONNECTION_LIST,
    SYNC_CREATE,
    SYNC_GET,
    SYNC_LIST,
    SYNC_EDIT,
    SYNC_ACTIVATE,
    SYNC_PAUSE,
    SYNC_RUN,
    FAVOURITE_SAVE,
    FAVOURITE_LIST,
    LIST_MEMBERS,
    LIST_ALL,
    SUPPRESS_ADD,
    SUPPRESS_REMOVE,
    SUPPRESS_LIST,
    RUNS_LIST,
    RUNS_GET,
    RUNS_RECORDS,
    EXPLAIN,
)
