"""What of each record goes to the importer: the fields it reads, nothing else (docs/adr/0015).

Selection has already been decided on the whole record (local criteria read fields the import does
not), so a record is slimmed last, just before it joins a batch. Values stay as Recruit gave them: the
importer still reads them and reports the ones it cannot read as ``malformed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recruit_sync.contracts.events import ImportSettings
from recruit_sync.contracts.records import fields_read


def batch_fields(settings: ImportSettings) -> tuple[str, ...]:
    """The fields a run's records keep, in a fixed order (a redelivered run encodes its batches alike)."""
    return tuple(sorted(fields_read(settings.mapping)))


def slim(records: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each record with only ``fields``, those it has. One pass over the few wanted names per record,
    not over its every field: a Recruit record has dozens (bench/batch_bytes.py measures it)."""
    return [{name: record[name] for name in fields if name in record} for record in records]
