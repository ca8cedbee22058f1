"""Selection criteria shared by the scheduler (validation) and the fetcher (search planning, filtering).

* ``compile_criteria(selection)``: validate a criteria selection (pattern and values) and get a
  ``Criteria`` whose ``matches(record)`` is the local evaluator; ``check_selection`` for any selection.
* ``plan_fetch(criteria)``: ``SearchPlan`` (Recruit's search selects exactly the same records) or
  ``ListPlan`` (list everything and filter locally).
"""

from recruit_sync.criteria.evaluate import Criteria
from recruit_sync.criteria.search import ListPlan, SearchPlan, plan_fetch
from recruit_sync.criteria.validation import CriteriaError, check_selection, compile_criteria

__all__ = [
    "Criteria",
    "CriteriaError",
    "ListPlan",
    "SearchPlan",
    "check_selection",
    "compile_criteria",
    "plan_fetch",
]
