"""Run pages: a run's summary and records (filtered, searched by address, paged, exported as CSV), and
the fragment htmx polls while the run is in progress."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from recruit_sync.api.auth import PageViewer, Svc
from recruit_sync.api.console.paging import Page
from recruit_sync.api.console.render import AnyChoice, PageNumber, link, page, partly
from recruit_sync.api.gateway import Services
from recruit_sync.contracts import rpc
from recruit_sync.contracts.events import Outcome, RunState, RunSummary
from recruit_sync.contracts.resources import EmailQuery, RecordRow, RecordsQuery, RunRef, SyncDetail, SyncRef

router = APIRouter()

RECORD_COLUMNS = tuple(RecordRow.model_fields)  # the CSV header, as `runs records --csv` writes it
OutcomeFilter = Annotated[Outcome | None, AnyChoice, Query()]
EmailSearch = Annotated[str, Query(max_length=320)]


@router.get("/console/runs/{run_id}")
async def run_detail(
    request: Request,
    run_id: str,
    who: PageViewer,
    services: Svc,
    outcome: OutcomeFilter = None,
    email: EmailSearch = "",
    page_number: PageNumber = 1,
) -> HTMLResponse:
    """The summary, the ignored by reason and one page of records. A run history has not heard of yet
    (just started) is a 404 page that keeps asking, and turns into the run when it appears."""
    run = await _run_or_none(services, run_id)
    if run is None:
        return page(request, "run.html", who, 404, section="syncs", run_id=run_id, run=None)
    sync, _ = await partly(_sync_of(services, run), None)
    asked = Page.asked(page_number)
    (records_page, records), problem = (
        ((asked, []), None)  # the page reloads itself with them when the run ends
        if run.state is RunState.RUNNING
        else await partly(_records(services, run, asked, outcome, email), (asked, []))
    )
    return page(
        request, "run.html", who,
        section="syncs", run_id=run_id, run=run, sync=sync, outcome=outcome and outcome.value, email=email,
        records=records, records_problem=problem, page=records_page,
        page_url=lambda n: link(request, page=n),
        csv_url=link(request, f"/console/runs/{run_id}/records.csv", page=None),
    )  # fmt: skip


@router.get("/console/runs/{run_id}/progress")
async def run_progress(request: Request, run_id: str, who: PageViewer, services: Svc) -> HTMLResponse:
    """The summary fragment. Polled by htmx while the run is in progress; the answer that finds it
    ended asks for a reload (``HX-Refresh``), so the page shows the records the run ended with."""
    run = await _run_or_none(services, run_id)
    response = page(request, "_run_progress.html", who, run_id=run_id, run=run)
    if request.headers.get("HX-Request") and run is not None and run.state is not RunState.RUNNING:
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/console/runs/{run_id}/records.csv")
async def run_records_csv(
    run_id: str, who: PageViewer, services: Svc, outcome: OutcomeFilter = None, email: EmailSearch = ""
) -> Response:
    """Every record the page's filters select, as ``runs records --csv`` writes them."""
    run = await services.call(rpc.RUNS_GET, RunRef(run_id=run_id))
    if email:
        rows = await _records_of_email(services, run, outcome, email)
    else:
        rows = await services.call(rpc.RUNS_RECORDS, RecordsQuery(run_id=run_id, outcome=outcome))
    out = io.StringIO()
    writer = csv.DictWriter(out, RECORD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.model_dump(mode="json") for row in rows)
    name = f"run-{run_id}-records{f'-{outcome.value}' if outcome else ''}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _run_or_none(services: Services, run_id: str) -> RunSummary | None:
    try:
        return await services.call(rpc.RUNS_GET, RunRef(run_id=run_id))
    except HTTPException as exc:
        if exc.status_code == 404:
            return None
        raise


async def _sync_of(services: Services, run: RunSummary) -> SyncDetail:
    return await services.call(rpc.SYNC_GET, SyncRef(id=run.sync_id))


async def _records(
    services: Services, run: RunSummary, asked: Page, outcome: Outcome | None, email: str
) -> tuple[Page, list[RecordRow]]:
    """One page of the run's records: fetched a page at a time from history, one row more than shown
    to know whether there is a next page; an address search asks for that address's outcomes."""
    if email:
        return asked.of(await _records_of_email(services, run, outcome, email))
    query = RecordsQuery(run_id=run.run_id, outcome=outcome, limit=asked.size + 1, offset=asked.offset)
    rows = await services.call(rpc.RUNS_RECORDS, query)
    counted = int(getattr(run, outcome.value)) if outcome else run.total + run.deleted
    return Page(asked.number, asked.size, total=counted).fetched(rows)


async def _records_of_email(
    services: Services, run: RunSummary, outcome: Outcome | None, email: str
) -> list[RecordRow]:
    """The run's records of one address (whatever its case): history's explain, kept to this run."""
    found = await services.call(rpc.EXPLAIN, EmailQuery(email=email))
    return [
        RecordRow(record_id=row.record_id, email=email, outcome=row.outcome, reason=row.reason)
        for row in found
        if row.run_id == run.run_id and (outcome is None or row.outcome is outcome)
    ]
