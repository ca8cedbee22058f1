"""The Recruit fields a run reads from each record, beside the mapped ones (SPEC sections 4 and 5).

The fetcher sends the importer only these fields (docs/adr/0015): a ``RecordBatch`` carries what the
checks and the mapping read, not every field of every candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from recruit_sync.contracts.sync_spec import FieldMapping

ID_FIELD: Final = "id"
EMAIL_FIELD: Final = "Email"  # SPEC section 4: email is always mapped and cannot be unmapped
OPT_OUT_FIELD: Final = "Email_Opt_Out"  # check 5
CONVERTED_FIELD: Final = "$converted"  # check 6
# When Recruit last changed a record (file duplicates keep the most recent): Candidates say
# Updated_On, the other modules Modified_Time; each falls back on the other.
CANDIDATES_MODIFIED: Final = ("Updated_On", "Modified_Time")
OTHER_MODIFIED: Final = ("Modified_Time", "Updated_On")

CHECKED_FIELDS: Final = (ID_FIELD, EMAIL_FIELD, OPT_OUT_FIELD, CONVERTED_FIELD, *CANDIDATES_MODIFIED)


def modified_fields(module: str) -> tuple[str, str]:
    return CANDIDATES_MODIFIED if module.lower() == "candidates" else OTHER_MODIFIED


def fields_read(mapping: Iterable[FieldMapping]) -> frozenset[str]:
    """Every field the importer reads of a record under ``mapping``: the checked ones and the mapped."""
    return frozenset(CHECKED_FIELDS).union(entry.from_ for entry in mapping)
