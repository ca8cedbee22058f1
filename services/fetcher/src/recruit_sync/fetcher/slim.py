"""What of each record goes to the importer: the fields it reads, nothing else (docs/adr/0015).

Selection has already been decided (local criteria may read fields the import does not), so a record
is slimmed last, just before it joins a batch, and only when the criteria read such fields. Values stay
as Recruit gave them: the importer still reads them and reports the ones it cannot read as ``malformed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recruit_sync.contracts.events import ImportSettings
from recruit_sync.contracts.records import fields_read


def batch_fields(settings: ImportSettings) -> frozenset[str]:
    """The fields a run's records keep."""
    return fields_read(settings.mapping)


def slim(records: Iterable[dict[str, Any]], fields: frozenset[str]) -> list[dict[str, Any]]:
    """Each record with only ``fields``, those it has, in the order Recruit sent them. The client has
    read only these and those the criteria name (``selection.fields_to_read``): a record has a few
    fields here, not the dozens of a Recruit record (bench/batch_bytes.py)."""
    return [{name: value for name, value in record.items() if name in fields} for record in records]
