"""Request/reply between the HTTP API and the services that own the data (docs/adr/0003).

Every door into every service is listed here as an ``Operation``: its name, the service's RPC queue,
its request model and its answer type (``contracts.resources``). The API sends an ``RpcRequest`` with
the request as ``args`` and gets an ``RpcReply`` whose ``result`` is the answer; both sides validate
with the same models, so a shape is defined once and the OpenAPI document shows every answer.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from recruit_sync.contracts import access as a
from recruit_sync.contracts import resources as r
from recruit_sync.contracts import topology
from recruit_sync.contracts.events import BatchImported, RunSummary, SyncDue
from recruit_sync.contracts.sync_spec import AlertNotification


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


# Seconds a long operation may take (a dry run of a 200,000-record run, a preview of a big sync); every
# other operation answers within the caller's usual timeout.
LONG: float = 900.0


class Operation(Generic[Req, Res]):
    """One RPC operation: ``name`` on ``queue``, taking ``request``, answering ``answer``; ``timeout``:
    how long a caller waits for it, when it may take longer than the usual call."""

    def __init__(
        self, name: str, queue: str, request: type[Req], answer: Any, timeout: float | None = None
    ) -> None:
        self.name = name
        self.queue = queue
        self.request = request
        self.timeout = timeout
        self.answer = answer  # a type form (a model, ``list[Model]``), for FastAPI's response_model too
        self.answers: TypeAdapter[Res] = TypeAdapter(answer)

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


def _op(
    name: str, queue: str, request: type[Req], answer: Any, timeout: float | None = None
) -> Operation[Req, Any]:
    return Operation(name, queue, request, answer, timeout)


_S, _I, _H, _F = topology.SCHEDULER_RPC, topology.IMPORTER_RPC, topology.HISTORY_RPC, topology.FETCHER_RPC

# scheduler: connections, syncs, favourites
CONNECTION_ADD: Operation[r.NewConnection, r.Created] = _op("connection.add", _S, r.NewConnection, r.Created)
CONNECTION_REKEY: Operation[r.Rekey, r.Rekeyed] = _op("connection.rekey", _S, r.Rekey, r.Rekeyed)
CONNECTION_LIST: Operation[r.NoArguments, list[r.Connection]] = _op(
    "connection.list", _S, r.NoArguments, list[r.Connection]
)
SYNC_CREATE: Operation[r.CreateSync, r.Created] = _op("sync.create", _S, r.CreateSync, r.Created)
SYNC_GET: Operation[r.SyncRef, r.SyncDetail] = _op("sync.get", _S, r.SyncRef, r.SyncDetail)
SYNC_LIST: Operation[r.NoArguments, list[r.SyncDetail]] = _op(
    "sync.list", _S, r.NoArguments, list[r.SyncDetail]
)
SYNC_EDIT: Operation[r.EditSync, r.SyncDetail] = _op("sync.edit", _S, r.EditSync, r.SyncDetail)
SYNC_ACTIVATE: Operation[r.SyncRef, r.SyncDetail] = _op("sync.activate", _S, r.SyncRef, r.SyncDetail)
SYNC_PAUSE: Operation[r.SyncRef, r.SyncDetail] = _op("sync.pause", _S, r.SyncRef, r.SyncDetail)
SYNC_RUN: Operation[r.RunSync, r.RunStarted] = _op("sync.run", _S, r.RunSync, r.RunStarted)
FAVOURITE_SAVE: Operation[r.Favourite, r.FavouriteSaved] = _op(
    "mapping.favourite.save", _S, r.Favourite, r.FavouriteSaved
)
FAVOURITE_LIST: Operation[r.NoArguments, list[r.Favourite]] = _op(
    "mapping.favourite.list", _S, r.NoArguments, list[r.Favourite]
)

# scheduler: the SyncDue a run of a sync (or of a spec) would carry now, for a preview (docs/adr/0020)
SYNC_PREVIEW_PLAN: Operation[r.PreviewRequest, SyncDue] = _op(
    "sync.preview_plan", _S, r.PreviewRequest, SyncDue
)

# scheduler: access (docs/adr/0018): who a token or a console user is, and their management
AUTH_TOKEN: Operation[a.TokenCheck, a.Principal] = _op("auth.token", _S, a.TokenCheck, a.Principal)
AUTH_SIGN_IN: Operation[a.SignIn, a.Principal] = _op("auth.sign_in", _S, a.SignIn, a.Principal)
AUTH_USER: Operation[a.UserRef, a.Principal] = _op("auth.user", _S, a.UserRef, a.Principal)
USER_LIST: Operation[r.NoArguments, list[a.User]] = _op("user.list", _S, r.NoArguments, list[a.User])
USER_ADD: Operation[a.NewUser, a.User] = _op("user.add", _S, a.NewUser, a.User)
USER_REMOVE: Operation[a.UserRef, a.Removed] = _op("user.remove", _S, a.UserRef, a.Removed)
TOKEN_LIST: Operation[r.NoArguments, list[a.Token]] = _op("token.list", _S, r.NoArguments, list[a.Token])
TOKEN_CREATE: Operation[a.NewToken, a.TokenCreated] = _op("token.create", _S, a.NewToken, a.TokenCreated)
TOKEN_REVOKE: Operation[a.TokenRef, a.Removed] = _op("token.revoke", _S, a.TokenRef, a.Removed)

# scheduler: a sync's alert notifications and their delivery attempts (issue 12)
ALERT_LIST: Operation[r.SyncRef, list[AlertNotification]] = _op(
    "alert.list", _S, r.SyncRef, list[AlertNotification]
)

# importer: lists and suppressions
LIST_MEMBERS: Operation[r.ListRef, list[r.Member]] = _op("list.members", _I, r.ListRef, list[r.Member])
LIST_ALL: Operation[r.NoArguments, list[r.ListInfo]] = _op("list.all", _I, r.NoArguments, list[r.ListInfo])
SUPPRESS_ADD: Operation[r.Suppress, r.Suppressed] = _op("suppress.add", _I, r.Suppress, r.Suppressed)
SUPPRESS_REMOVE: Operation[r.Unsuppress, r.Unsuppressed] = _op(
    "suppress.remove", _I, r.Unsuppress, r.Unsuppressed
)
SUPPRESS_LIST: Operation[r.SuppressionsQuery, list[r.Suppression]] = _op(
    "suppress.list", _I, r.SuppressionsQuery, list[r.Suppression]
)

# importer: dry runs and previews in a scratch copy of the store (docs/adr/0020)
RUNS_DRY_RUN: Operation[r.DryRunRequest, r.DryRun] = _op("runs.dry_run", _I, r.DryRunRequest, r.DryRun, LONG)
PREVIEW_OPEN: Operation[r.NoArguments, r.Scratch] = _op("preview.open", _I, r.NoArguments, r.Scratch)
PREVIEW_BATCH: Operation[r.PreviewBatch, BatchImported] = _op(
    "preview.batch", _I, r.PreviewBatch, BatchImported
)
PREVIEW_CLOSE: Operation[r.Scratch, r.PreviewOutcomes] = _op(
    "preview.close", _I, r.Scratch, r.PreviewOutcomes
)

# fetcher: a preview fetches as a run would, and has the importer decide each batch in scratch
FETCH_PREVIEW: Operation[SyncDue, r.Preview] = _op("fetch.preview", _F, SyncDue, r.Preview, LONG)

# history: runs, per-record outcomes, explain, replay from the journal
RUNS_LIST: Operation[r.RunsOfSync, list[RunSummary]] = _op("runs.list", _H, r.RunsOfSync, list[RunSummary])
RUNS_GET: Operation[r.RunRef, RunSummary] = _op("runs.get", _H, r.RunRef, RunSummary)
RUNS_RECORDS: Operation[r.RecordsQuery, list[r.RecordRow]] = _op(
    "runs.records", _H, r.RecordsQuery, list[r.RecordRow]
)
EXPLAIN: Operation[r.EmailQuery, list[r.ExplainRow]] = _op("explain", _H, r.EmailQuery, list[r.ExplainRow])
RUNS_REPLAY: Operation[r.RunRef, r.Replay] = _op("runs.replay", _H, r.RunRef, r.Replay)
# stop a running run (`runs cancel`): it fails with error `cancelled` and its sync may run again
RUNS_CANCEL: Operation[r.RunRef, RunSummary] = _op("runs.cancel", _H, r.RunRef, RunSummary)

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
    AUTH_TOKEN,
    AUTH_SIGN_IN,
    AUTH_USER,
    USER_LIST,
    USER_ADD,
    USER_REMOVE,
    TOKEN_LIST,
    TOKEN_CREATE,
    TOKEN_REVOKE,
    LIST_MEMBERS,
    LIST_ALL,
    SUPPRESS_ADD,
    SUPPRESS_REMOVE,
    SUPPRESS_LIST,
    RUNS_LIST,
    RUNS_GET,
    RUNS_RECORDS,
    EXPLAIN,
    RUNS_REPLAY,
    RUNS_CANCEL,
    SYNC_PREVIEW_PLAN,
    RUNS_DRY_RUN,
    PREVIEW_OPEN,
    PREVIEW_BATCH,
    PREVIEW_CLOSE,
    FETCH_PREVIEW,
    ALERT_LIST,
)
