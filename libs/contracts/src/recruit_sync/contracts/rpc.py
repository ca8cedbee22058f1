"""Request/reply between the HTTP API and the services that own the data (see docs/adr/0003).

The API sends an ``RpcRequest`` to a service's RPC queue (topology.*_RPC) and gets an ``RpcReply``.
Operation names are listed per service so a reader sees every door into every service here.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field


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


SCHEDULER_OPS: Final = (
    "connection.add",  # {name, base_url, accounts_url, client_id, client_secret, refresh_token, ...} -> {id}
    "connection.rekey",  # {name, refresh_token?, client_secret?, primary_email?} -> {id, deactivated}
    "connection.list",  # {} -> [connection without secrets]
    "sync.create",  # {spec} -> {id}
    "sync.get",  # {id} -> sync detail
    "sync.list",  # {} -> [sync detail]
    "sync.edit",  # {id, patch} -> sync detail
    "sync.activate",  # {id} -> sync detail
    "sync.pause",  # {id} -> sync detail
    "sync.run",  # {id, full} -> {run_id, started}
    "mapping.favourite.save",  # {name, mapping} -> {name}
    "mapping.favourite.list",  # {} -> [{name, mapping}]
)
IMPORTER_OPS: Final = (
    "list.members",  # {list} -> [{email, first_name, last_name, ...}]
    "list.all",  # {} -> [{name, members}]
    "suppress.add",  # {reason, emails} -> {added}
    "suppress.remove",  # {emails} -> {removed}
    "suppress.list",  # {reason?} -> [{email, reason, created_at}]
)
HISTORY_OPS: Final = (
    "runs.list",  # {sync_id} -> [RunSummary], newest first
    "runs.get",  # {run_id} -> RunSummary
    "runs.records",  # {run_id, outcome?} -> [{record_id, email, outcome, reason}]
    "explain",  # {email} -> [{run_id, sync_id, record_id, outcome, reason, at}]
)
