"""Which records a run reads: every record, a custom view, or the records matching criteria.

Criteria go to Recruit's search endpoint when it selects exactly what the local evaluator would
(``recruit_sync.criteria.plan_fetch``); otherwise every record is listed and filtered here. Search
results are filtered here too: search narrows, the local evaluator decides, so a search that answers
more loosely than documented cannot add records the user excluded (it is logged when it happens).
Records arrive with all their fields in every mode (no ``fields`` parameter is sent): the filter reads
any field the criteria name. Of each record the client builds only the fields the caller reads and
those the criteria name (docs/adr/0028); ``fetch`` drops the criteria's own after the filter.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog

from recruit_sync.contracts.sync_spec import SelectCriteria, SelectCustomView, Selection
from recruit_sync.criteria import Criteria, SearchPlan, compile_criteria, plan_fetch
from recruit_sync.fetcher.recruit_client import Converted, RecruitClient

log = structlog.get_logger()

Page = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """The endpoint a selection is read from, and the filter its pages pass through."""

    endpoint: Literal["list", "search"]
    cvid: str | None = None
    search_criteria: str | None = None
    criteria: Criteria | None = None
    why_not_search: str | None = None  # criteria that are listed and filtered: why (for the log)


def plan_selection(selection: Selection) -> FetchPlan:
    """How to read ``selection``; raises ``CriteriaError`` for criteria that cannot be used."""
    if isinstance(selection, SelectCustomView):
        return FetchPlan("list", cvid=selection.cvid)
    if not isinstance(selection, SelectCriteria):
        return FetchPlan("list")
    criteria = compile_criteria(selection)
    plan = plan_fetch(criteria)
    if isinstance(plan, SearchPlan):
        return FetchPlan("search", search_criteria=plan.criteria, criteria=criteria)
    return FetchPlan("list", criteria=criteria, why_not_search=plan.reason)


def fields_to_read(plan: FetchPlan, wanted: Iterable[str]) -> frozenset[str]:
    """The fields read of each record: those the caller wants and those the plan's criteria name."""
    return frozenset(wanted).union(plan.criteria.fields if plan.criteria is not None else ())


async def selected_pages(
    client: RecruitClient,
    module: str,
    plan: FetchPlan,
    *,
    converted: Converted,
    since: datetime | None,
    fields: frozenset[str] | None = None,
) -> AsyncGenerator[Page, None]:
    """The selected records, a page at a time (pages the filter empties are skipped). ``fields``: read
    only these of each record (``fields_to_read``), else all."""
    if plan.search_criteria is not None:
        pages = client.search_records(
            module, plan.search_criteria, converted=converted, since=since, fields=fields
        )
    else:
        pages = client.list_records(module, cvid=plan.cvid, converted=converted, since=since, fields=fields)
    criteria = plan.criteria
    async for page in pages:
        if criteria is None:
            yield page
            continue
        kept = [record for record in page if criteria.matches(record)]
        if plan.endpoint == "search" and len(kept) < len(page):
            log.warning(
                "search answered records the criteria exclude; they were dropped",
                dropped=len(page) - len(kept),
                criteria=plan.search_criteria,
            )
        if kept:
            yield kept
