"""``recruit-sync``: every operation a user needs, over the HTTP API (INTERFACE.md "Commands").

stdout carries data only (tables, or exactly one JSON document with ``--json``); notes, progress and
errors go to stderr. A failure is one ``error: ...`` line and exit code 1 (2 for usage errors).
"""

from __future__ import annotations

import csv
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

# typer vendors click: its exception classes live in a private module, with no public alias
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from recruit_sync.cli import render
from recruit_sync.cli.client import DEFAULT_API_URL, LONG_TIMEOUT, ApiClient, CliError
from recruit_sync.cli.inputs import parse_addresses, read_json, read_json_object, read_text
from recruit_sync.cli.processes import Supervisor, ops_port, ops_port_base_from_env
from recruit_sync.contracts.access import NewToken, NewUser, Role
from recruit_sync.contracts.events import Outcome
from recruit_sync.contracts.resources import MAX_INT32, RecordRow, SuppressionReason

WORKER_SERVICES = ("scheduler", "fetcher", "importer", "history")
SCHEMAS = (*WORKER_SERVICES, "accounts")  # each service's own, and the users and tokens the scheduler serves
SUPPRESS_CHUNK = 1000  # addresses per request, so a big import never becomes one huge RPC message
STOP_MARGIN_SECONDS = 5.0  # beyond a child's own shutdown bound, before the supervisor kills it


class _Group(TyperGroup):
    """Turns every failure into one ``error:`` line instead of click's usage block or typer's panel."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except CliError as exc:
            _fail(str(exc), 1)
        except NoArgsIsHelpError:
            sys.exit(2)  # the help has been printed already
        except UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _fail(exc.format_message().replace("Value error, ", "") + hint, exc.exit_code)
        except ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except typer.Abort:
            _fail("aborted", 1)
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int) -> None:
    render.err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


@dataclass
class CliState:
    """What every command shares; tests pass one with a mock ``transport`` as the context ``obj``."""

    api_url: str = ""
    transport: httpx.BaseTransport | None = None
    json: bool = False
    poll_seconds: float = 0.5
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.api_url = self.api_url or os.environ.get("RECRUIT_SYNC_API", DEFAULT_API_URL)
        self.token = self.token or os.environ.get("RECRUIT_SYNC_TOKEN") or None

    def api(self) -> ApiClient:
        return ApiClient(self.api_url, transport=self.transport, token=self.token)


def _typer(help: str) -> typer.Typer:
    return typer.Typer(help=help, no_args_is_help=True, add_completion=False)


app = typer.Typer(
    cls=_Group,
    help="Keep mailing lists in step with Zoho Recruit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
services_app = _typer("Run the services as local processes.")
connection_app = _typer("Recruit accounts.")
sync_app = _typer("Syncs: what to fetch, where to put it, and when.")
runs_app = _typer("Run history.")
list_app = _typer("Mailing lists.")
suppress_app = _typer("The suppression registry (bounced, do not mail).")
mapping_app = _typer("Field mappings.")
favourite_app = _typer("Saved mappings any sync can load.")
user_app = _typer("Console users (on the database directly, like migrate: no token needed).")
token_app = _typer("API tokens (on the database directly, like migrate: no token needed).")
dlq_app = _typer("Dead-lettered messages: why each was refused; put them back or drop them (admins).")
app.add_typer(services_app, name="services")
app.add_typer(connection_app, name="connection")
app.add_typer(sync_app, name="sync")
app.add_typer(runs_app, name="runs")
app.add_typer(list_app, name="list")
app.add_typer(suppress_app, name="suppress")
app.add_typer(mapping_app, name="mapping")
mapping_app.add_typer(favourite_app, name="favourite")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(dlq_app, name="dlq")

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
SpecFile = Annotated[Path, typer.Option("--file", help="JSON file.", dir_okay=False)]


@app.callback()
def _root(ctx: typer.Context, as_json: Json = False) -> None:
    state = ctx.ensure_object(CliState)
    state.json = state.json or as_json


def _state(ctx: typer.Context) -> CliState:
    return ctx.ensure_object(CliState)


def _show(ctx: typer.Context, as_json: bool, data: Any, show: Callable[[Any], None]) -> None:
    if as_json or _state(ctx).json:
        render.print_json(data)
    else:
        show(data)


def _say(line: str) -> Callable[[Any], None]:
    """A renderer that prints one plain line to stdout (ids, counts) whatever the data."""
    return lambda _: print(line)


# --- migrate, services, sim --------------------------------------------------------------------------


@app.command()
def migrate(ctx: typer.Context, as_json: Json = False) -> None:
    """Create or upgrade every service's schema (and the broker topology); safe to run twice."""
    from recruit_sync.cli.migrations import migrate_all  # imports asyncpg/aio-pika: only when needed

    for schema, applied in migrate_all(SCHEMAS).items():
        render.note(f"{schema}: migrated" + (f" ({', '.join(applied)})" if applied else ", up to date"))
    _show(ctx, as_json, {"migrated": list(SCHEMAS)}, lambda _: None)


@services_app.command("up")
def services_up(
    ctx: typer.Context,
    replicas: Annotated[int, typer.Option(min=1, max=16, help="Processes of each worker service.")] = 1,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for the API.")] = 60.0,
) -> None:
    """Run scheduler, fetcher, importer, history (N each) and the API in the foreground until Ctrl-C;
    a process that dies once they are up is restarted (after 1, 2, 4 ... 30 s)."""
    from recruit_sync.runtime.broker import shutdown_seconds_from_env  # (imports FastStream)

    state = _state(ctx)
    api = state.api()
    if _healthy(api):
        raise CliError(f"an API already answers at {state.api_url} (is another 'services up' running?)")
    # each child has RECRUIT_SYNC_SHUTDOWN_SECONDS to finish its deliveries after SIGTERM; then SIGKILL
    stop_timeout = shutdown_seconds_from_env() + STOP_MARGIN_SECONDS
    try:
        ops_base = ops_port_base_from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from None

    def ops_env(service: str, replica: int = 1) -> dict[str, str]:
        return {"RECRUIT_SYNC_OPS_PORT": str(ops_port(ops_base, service, replica))}

    supervisor = Supervisor()
    stop = threading.Event()
    with _stopping_on_signals(stop):
        try:
            for service in WORKER_SERVICES:
                for n in range(1, replicas + 1):
                    supervisor.start(
                        f"{service}-{n}",
                        [sys.executable, "-m", f"recruit_sync.{service}"],
                        ops_env(service, n),
                    )
            supervisor.start("api", [sys.executable, "-m", "recruit_sync.api"], ops_env("api"))
            exited = _wait_until_healthy(api, supervisor, stop, ready_timeout)
            if exited is None and not stop.is_set():
                render.note(f"services up (API at {state.api_url}); Ctrl-C stops them")
                supervisor.supervise(stop)
        finally:
            supervisor.stop(timeout=stop_timeout)
    if exited is not None:
        raise CliError(f"{exited.describe()} while starting; stopped the others")
    render.note("services stopped")


def _healthy(api: ApiClient) -> bool:
    try:
        api.get("/health")
    except CliError:
        return False
    return True


def _wait_until_healthy(api: ApiClient, supervisor: Supervisor, stop: threading.Event, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        exited = supervisor.first_exited()
        if exited is not None or _healthy(api):
            return exited
        if time.monotonic() > deadline:
            raise CliError(f"the API did not answer at {api.base_url} within {timeout:g} s")
        stop.wait(0.3)
    return None


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@app.command()
def sim(
    data: Annotated[
        Path | None, typer.Option("--data", exists=True, dir_okay=False, help="Seed file.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8700,
    generate: Annotated[int, typer.Option(min=0, help="Generated candidates to add.")] = 0,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
) -> None:
    """Serve the Recruit simulator (client 'cid', secret 'secret', refresh token 'rt' by default)."""
    # imported here: only this command needs the simulator
    from recruit_sync.sim.data import DataFileError
    from recruit_sync.sim.server import serve

    try:
        serve(str(data) if data else None, port, generate, host)
    except DataFileError as exc:
        raise CliError(str(exc)) from None


# --- connections -------------------------------------------------------------------------------------


@connection_app.command("add")
def connection_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Name syncs use to refer to it.")],
    base_url: Annotated[str, typer.Option(help="Recruit data-centre URL.")],
    accounts_url: Annotated[str, typer.Option(help="OAuth accounts server URL.")],
    client_id: Annotated[str, typer.Option()],
    client_secret: Annotated[str, typer.Option()],
    refresh_token: Annotated[str, typer.Option()],
    primary_email: Annotated[str | None, typer.Option()] = None,
    daily_credit_budget: Annotated[int | None, typer.Option(min=1, max=MAX_INT32)] = None,
    as_json: Json = False,
) -> None:
    """Register a Recruit account; prints its id."""
    body = {
        "name": name,
        "base_url": base_url,
        "accounts_url": accounts_url,
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
        "primary_email": primary_email,
        "daily_credit_budget": daily_credit_budget,
    }
    created = _state(ctx).api().post("/connections", {k: v for k, v in body.items() if v is not None})
    _show(ctx, as_json, created, _say(created["id"]))


@connection_app.command("rekey")
def connection_rekey(
    ctx: typer.Context,
    name: str,
    refresh_token: Annotated[str | None, typer.Option()] = None,
    client_id: Annotated[str | None, typer.Option()] = None,
    client_secret: Annotated[str | None, typer.Option()] = None,
    primary_email: Annotated[str | None, typer.Option()] = None,
    as_json: Json = False,
) -> None:
    """Change credentials; every sync of the connection becomes inactive until re-activated."""
    changes = {
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
        "primary_email": primary_email,
    }
    body = {k: v for k, v in changes.items() if v is not None}
    if not body:
        raise typer.BadParameter("give --refresh-token, --client-id, --client-secret or --primary-email")
    result = _state(ctx).api().post(f"/connections/{name}/rekey", body)

    def show(_: Any) -> None:
        print(f"connection {name} rekeyed")
        render.note(
            f"its syncs are inactive (deactivated: {render.text(result.get('deactivated'))}); "
            "re-activate each with 'recruit-sync sync activate ID'"
        )

    _show(ctx, as_json, result, show)


@connection_app.command("list")
def connection_list(ctx: typer.Context, as_json: Json = False) -> None:
    """Registered Recruit accounts (never their secrets)."""
    connections = _state(ctx).api().get("/connections")
    _show(
        ctx,
        as_json,
        connections,
        lambda rows: render.table(rows, render.columns_of(rows, ["id", "name", "base_url"]), "connections"),
    )


# --- syncs -------------------------------------------------------------------------------------------


@sync_app.command("create")
def sync_create(ctx: typer.Context, file: SpecFile, as_json: Json = False) -> None:
    """Create a sync from a spec file; prints its id."""
    created = _state(ctx).api().post("/syncs", read_json_object(file, "a sync spec"))
    _show(ctx, as_json, created, _say(created["id"]))


@sync_app.command("list")
def sync_list(ctx: typer.Context, as_json: Json = False) -> None:
    """All syncs."""
    _show(ctx, as_json, _state(ctx).api().get("/syncs"), render.show_syncs)


@sync_app.command("show")
def sync_show(
    ctx: typer.Context, sync_id: Annotated[str, typer.Argument(metavar="ID")], as_json: Json = False
) -> None:
    """A sync's configuration, state, next due time and runs (newest first)."""
    _show(ctx, as_json, _state(ctx).api().get(f"/syncs/{sync_id}"), render.show_sync)


@sync_app.command("edit")
def sync_edit(
    ctx: typer.Context,
    sync_id: Annotated[str, typer.Argument(metavar="ID")],
    file: SpecFile,
    as_json: Json = False,
) -> None:
    """Change mapping, options, schedule or retrieval from a patch file; applies from the next run."""
    edited = _state(ctx).api().patch(f"/syncs/{sync_id}", read_json_object(file, "a sync patch"))
    _show(ctx, as_json, edited, render.show_sync)


@sync_app.command("activate")
def sync_activate(
    ctx: typer.Context, sync_id: Annotated[str, typer.Argument(metavar="ID")], as_json: Json = False
) -> None:
    """Make a sync active: it runs at its next due time."""
    sync = _state(ctx).api().post(f"/syncs/{sync_id}/activate")
    _show(
        ctx,
        as_json,
        sync,
        lambda s: print(f"sync {sync_id}: {s.get('state')}, next due {s.get('next_due_at')}"),
    )


@sync_app.command("pause")
def sync_pause(
    ctx: typer.Context, sync_id: Annotated[str, typer.Argument(metavar="ID")], as_json: Json = False
) -> None:
    """Pause a sync: nothing runs on schedule until it is activated again."""
    sync = _state(ctx).api().post(f"/syncs/{sync_id}/pause")
    _show(ctx, as_json, sync, lambda s: print(f"sync {sync_id}: {s.get('state')}"))


@sync_app.command("preview")
def sync_preview(
    ctx: typer.Context,
    sync_id: Annotated[str | None, typer.Argument(metavar="[ID]", show_default=False)] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="A sync spec file, as for 'sync create'.", dir_okay=False)
    ] = None,
    as_json: Json = False,
) -> None:
    """What a run of sync ID (or of a spec file's sync) would do now; writes nothing, but fetches from
    Recruit, so it spends credits."""
    if (sync_id is None) == (file is None):
        raise typer.BadParameter(
            "give a sync ID or --file SPEC.json" + (", not both" if file is not None else "")
        )
    api = _state(ctx).api()
    spec = read_json_object(file, "a sync spec") if file is not None else None
    with render.waiting(f"preview of {sync_id or file}: fetching from Recruit and deciding each record"):
        if spec is not None:
            preview = api.post("/syncs/preview", spec, timeout=LONG_TIMEOUT)
        else:
            preview = api.post(f"/syncs/{sync_id}/preview", timeout=LONG_TIMEOUT)
    _show(ctx, as_json, preview, render.show_preview)


@sync_app.command("run")
def sync_run(
    ctx: typer.Context,
    sync_id: Annotated[str, typer.Argument(metavar="ID")],
    full: Annotated[bool, typer.Option("--full", help="Re-import all data.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Block until the run ends; print its summary.")
    ] = False,
    timeout: Annotated[float | None, typer.Option(min=0, help="Give up waiting after SECONDS.")] = None,
    as_json: Json = False,
) -> None:
    """Start a run now; with --wait, show progress and print the run's summary (exit 1 if it failed)."""
    state = _state(ctx)
    api = state.api()
    started = api.post(f"/syncs/{sync_id}/runs", params={"full": str(full).lower()})
    run_id = started["run_id"]
    if not started.get("started"):
        render.note(
            f"a run of sync {sync_id} is already in progress ({run_id})"
            + ("; waiting for it" if wait else "; not starting another")
        )
    if not wait:
        _show(ctx, as_json, started, _say(run_id))
        return
    summary = _wait_for_run(api, run_id, timeout, state.poll_seconds)
    _show(ctx, as_json, summary, render.show_run)
    if summary.get("state") == "failed":
        raise CliError(f"run {run_id} failed: {summary.get('error') or 'no reason recorded'}")


def _wait_for_run(api: ApiClient, run_id: str, timeout: float | None, poll: float) -> dict[str, Any]:
    deadline = None if timeout is None else time.monotonic() + timeout
    with render.run_progress(run_id) as progress:
        while True:
            summary = _run_so_far(api, run_id)
            progress(summary)
            if summary is not None and summary.get("state") != "running":
                return summary
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    f"run {run_id} has not ended after {timeout:g} s (it goes on; see 'runs show')"
                )
            time.sleep(poll)


def _run_so_far(api: ApiClient, run_id: str) -> dict[str, Any] | None:
    """The run's summary, or None while history has not heard of it yet (or does not answer)."""
    try:
        summary: dict[str, Any] = api.get(f"/runs/{run_id}")
    except CliError as exc:
        if exc.status == 503:  # e.g. history restarting: the run goes on, so keep waiting
            render.note(f"{exc}; still waiting")
            return None
        if exc.status == 404:
            return None
        raise
    return summary


# --- history -----------------------------------------------------------------------------------------


@runs_app.command("list")
def runs_list(ctx: typer.Context, sync_id: str, as_json: Json = False) -> None:
    """A sync's runs, newest first."""
    _show(ctx, as_json, _state(ctx).api().get(f"/syncs/{sync_id}/runs"), render.show_runs)


@runs_app.command("show")
def runs_show(ctx: typer.Context, run_id: str, as_json: Json = False) -> None:
    """One run's summary."""
    _show(ctx, as_json, _state(ctx).api().get(f"/runs/{run_id}"), render.show_run)


@runs_app.command("cancel")
def runs_cancel(ctx: typer.Context, run_id: str, as_json: Json = False) -> None:
    """Stop a running run: it ends failed with error 'cancelled', and its sync may run again."""
    summary = _state(ctx).api().post(f"/runs/{run_id}/cancel")
    render.note(f"run {run_id} cancelled; its sync may run again")
    _show(ctx, as_json, summary, render.show_run)


RECORD_COLUMNS = tuple(RecordRow.model_fields)  # the CSV header: record_id,email,outcome,reason


@runs_app.command("records")
def runs_records(
    ctx: typer.Context,
    run_id: str,
    outcome: Annotated[Outcome | None, typer.Option(help="Only this outcome.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    as_json: Json = False,
) -> None:
    """Per-record outcomes of a run."""
    if as_csv and (as_json or _state(ctx).json):
        raise typer.BadParameter("choose one of --csv and --json")
    params = {"outcome": outcome.value} if outcome else None
    records = _state(ctx).api().get(f"/runs/{run_id}/records", params=params)
    if as_csv:
        writer = csv.DictWriter(sys.stdout, RECORD_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return
    _show(ctx, as_json, records, lambda rows: render.table(rows, RECORD_COLUMNS, f"records of run {run_id}"))


@app.command()
def alerts(ctx: typer.Context, sync_id: str, as_json: Json = False) -> None:
    """A sync's latest alert notifications, newest first, with their delivery attempts."""
    _show(ctx, as_json, _state(ctx).api().get(f"/syncs/{sync_id}/alerts"), render.show_alerts)


@app.command()
def explain(ctx: typer.Context, email: str, as_json: Json = False) -> None:
    """Every outcome recorded for an address, newest first."""
    columns = ["at", "outcome", "reason", "run_id", "sync_id", "record_id"]
    _show(
        ctx,
        as_json,
        _state(ctx).api().get(f"/explain/{email}"),
        lambda rows: render.table(rows, columns, email),
    )


@app.command()
def replay(
    ctx: typer.Context,
    run_id: str,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Decide the run's records again, against the store as the run found it; print the "
            "differences (writes nothing).",
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """A run's events from the journal, in order, and whether they add up to what history recorded."""
    api = _state(ctx).api()
    if not dry_run:
        _show(ctx, as_json, api.get(f"/runs/{run_id}/replay"), render.show_replay)
        return
    with render.waiting(f"dry run of run {run_id}: deciding its records again"):
        result = api.get(f"/runs/{run_id}/dry-run", timeout=LONG_TIMEOUT)
    _show(ctx, as_json, result, render.show_dry_run)


# --- dead letters ------------------------------------------------------------------------------------

DlqQueue = Annotated[
    str, typer.Argument(metavar="QUEUE", help="A work queue, as 'dlq list' names it, or its '.dlq'.")
]


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Messages shown per queue.")] = 100,
    as_json: Json = False,
) -> None:
    """Each work queue's dead-lettered messages: their reason, run, event type and age (none is taken)."""
    queues = _state(ctx).api().get("/dlq", params={"limit": limit})
    _show(ctx, as_json, queues, render.show_dead_letters)


@dlq_app.command("retry")
def dlq_retry(ctx: typer.Context, queue: DlqQueue, as_json: Json = False) -> None:
    """Put a queue's dead-lettered messages back into it, for its consumer to take again."""
    result = _state(ctx).api().post(f"/dlq/{quote(queue, safe='')}/retry")
    _show(ctx, as_json, result, lambda r: print(f"put back {r['retried']} message(s) into {r['queue']}"))


@dlq_app.command("purge")
def dlq_purge(ctx: typer.Context, queue: DlqQueue, as_json: Json = False) -> None:
    """Drop a queue's dead-lettered messages for good."""
    result = _state(ctx).api().post(f"/dlq/{quote(queue, safe='')}/purge")
    _show(ctx, as_json, result, lambda r: print(f"dropped {r['purged']} message(s) from {r['dlq']}"))


# --- lists, suppressions, mapping --------------------------------------------------------------------


@list_app.command("members")
def list_members(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="LIST")], as_json: Json = False
) -> None:
    """A list's contacts with their fields."""
    members = _state(ctx).api().get(f"/lists/{name}/members")
    first = ["email", "first_name", "last_name"]
    _show(ctx, as_json, members, lambda rows: render.table(rows, render.columns_of(rows, first), name))


@list_app.command("all")
def list_all(ctx: typer.Context, as_json: Json = False) -> None:
    """Every mailing list."""
    lists = _state(ctx).api().get("/lists")
    _show(ctx, as_json, lists, lambda rows: render.table(rows, render.columns_of(rows, ["name"]), "lists"))


ReasonOpt = Annotated[SuppressionReason, typer.Option(help="Why these addresses must not be mailed.")]


@suppress_app.command("add")
def suppress_add(
    ctx: typer.Context,
    reason: ReasonOpt,
    emails: Annotated[list[str], typer.Argument(metavar="EMAIL...")],
    as_json: Json = False,
) -> None:
    """Put addresses on the registry; syncs ignore them from the next run."""
    result = _state(ctx).api().post("/suppressions", {"reason": reason.value, "emails": emails})
    _show(
        ctx, as_json, result, lambda r: print(f"suppressed ({reason.value}): {render.text(r.get('added'))}")
    )


@suppress_app.command("remove")
def suppress_remove(
    ctx: typer.Context,
    emails: Annotated[list[str], typer.Argument(metavar="EMAIL...")],
    as_json: Json = False,
) -> None:
    """Take addresses off the registry."""
    result = _state(ctx).api().post("/suppressions/remove", {"emails": emails})
    _show(ctx, as_json, result, lambda r: print(f"removed: {render.text(r.get('removed'))}"))


@suppress_app.command("import")
def suppress_import(
    ctx: typer.Context,
    reason: ReasonOpt,
    file: Annotated[
        Path, typer.Argument(dir_okay=False, help="One address a line, or CSV with an email column.")
    ],
    as_json: Json = False,
) -> None:
    """Bulk-add addresses from a file; lines that are not addresses are reported and skipped."""
    parsed = parse_addresses(read_text(file), str(file))
    for problem in parsed.skipped:
        render.note(problem)
    api = _state(ctx).api()
    added = 0
    for start in range(0, len(parsed.emails), SUPPRESS_CHUNK):
        chunk = parsed.emails[start : start + SUPPRESS_CHUNK]
        added += int(api.post("/suppressions", {"reason": reason.value, "emails": chunk}).get("added") or 0)
    result = {"read": len(parsed.emails), "added": added, "skipped": len(parsed.skipped)}
    _show(
        ctx, as_json, result, lambda r: print(f"read {r['read']}, added {r['added']}, skipped {r['skipped']}")
    )


@suppress_app.command("list")
def suppress_list(
    ctx: typer.Context,
    reason: Annotated[SuppressionReason | None, typer.Option(help="Only this reason.")] = None,
    as_json: Json = False,
) -> None:
    """The registry."""
    rows = _state(ctx).api().get("/suppressions", params={"reason": reason.value} if reason else None)
    columns = ["email", "reason", "created_at"]
    _show(ctx, as_json, rows, lambda r: render.table(r, render.columns_of(r, columns), "suppressions"))


@favourite_app.command("save")
def favourite_save(ctx: typer.Context, name: str, file: SpecFile, as_json: Json = False) -> None:
    """Save a mapping (a JSON list of {"from", "to"}) under NAME."""
    mapping = read_json(file)
    if isinstance(mapping, dict) and "mapping" in mapping:
        mapping = mapping["mapping"]  # a sync spec or patch file works too
    if not isinstance(mapping, list):
        raise CliError(f'{file}: a mapping is a JSON list of {{"from": ..., "to": ...}}')
    saved = _state(ctx).api().post("/mapping/favourites", {"name": name, "mapping": mapping})
    _show(ctx, as_json, saved, _say(f"saved favourite {name!r}"))


@favourite_app.command("list")
def favourite_list(ctx: typer.Context, as_json: Json = False) -> None:
    """Saved mappings."""
    favourites = _state(ctx).api().get("/mapping/favourites")
    _show(ctx, as_json, favourites, lambda rows: render.table(rows, ["name", "mapping"], "favourites"))


# --- users and tokens: operator commands on the database ---------------------------------------------
# recruit_sync.cli.accounts imports asyncpg and argon2: imported by these commands only, like migrate's.

RoleOpt = Annotated[Role, typer.Option(help="admin: everything; editor: syncs, runs, lists; viewer: reads.")]
Email = Annotated[str, typer.Argument(metavar="EMAIL")]


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: Email,
    role: RoleOpt,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password (one line) from stdin.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Add a console user; the password comes on stdin, never on the command line."""
    from recruit_sync.cli import accounts

    if not password_stdin:
        raise CliError("give the password on stdin with --password-stdin (never as an argument)")
    password = sys.stdin.readline().rstrip("\r\n")
    user = accounts.add_user(accounts.valid(NewUser, email=email, role=role, password=password))
    _show(ctx, as_json, user.model_dump(mode="json"), _say(f"user {user.email} added ({user.role})"))


@user_app.command("list")
def user_list(ctx: typer.Context, as_json: Json = False) -> None:
    """Console users and their roles (never their passwords)."""
    from recruit_sync.cli import accounts

    users = [user.model_dump(mode="json") for user in accounts.list_users()]
    _show(ctx, as_json, users, render.show_users)


@user_app.command("remove")
def user_remove(ctx: typer.Context, email: Email, as_json: Json = False) -> None:
    """Remove a console user (not the last admin); their sessions end at their next request."""
    from recruit_sync.cli import accounts

    accounts.remove_user(email)
    _show(ctx, as_json, {"removed": True}, _say(f"user {email} removed"))


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Unique name, to list and revoke it by.")],
    role: RoleOpt,
    as_json: Json = False,
) -> None:
    """Create an API token and print it: the only time it is shown (only its hash is kept)."""
    from recruit_sync.cli import accounts

    created = accounts.create_token(accounts.valid(NewToken, name=name, role=role))
    _show(ctx, as_json, created.model_dump(mode="json"), lambda token: print(token["token"]))
    render.note(f"token {created.name!r} ({created.role}) is shown this once: keep it now")


@token_app.command("list")
def token_list(ctx: typer.Context, as_json: Json = False) -> None:
    """API tokens: name, role, when made and last used (never the token)."""
    from recruit_sync.cli import accounts

    tokens = [token.model_dump(mode="json") for token in accounts.list_tokens()]
    _show(ctx, as_json, tokens, render.show_tokens)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME")], as_json: Json = False
) -> None:
    """Revoke an API token: its next request is refused."""
    from recruit_sync.cli import accounts

    accounts.revoke_token(name)
    _show(ctx, as_json, {"removed": True}, _say(f"token {name} revoked"))
