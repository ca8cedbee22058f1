"""Reading ahead (docs/adr/0025): a batch reads its facts and decides while the batch before it on its
list holds the list's lock, then checks, once it holds the lock itself, that what it read still holds.
Pure.

What a batch decides on is of two kinds:

* the list's own state (its memberships, the run's claims), written only by batches of the list under
  its lock, each of which advances the list's ``version``. It still holds if no batch was applied since
  the batch read it, or only the one that held the turn meanwhile and it touched none of the same email
  keys or record ids;
* contacts that existed, which batches of other lists may change meanwhile (and their memberships of
  this list, which a ``remove_from_org`` deletion elsewhere may end): each one's row versions
  (``Stamps``) are read again, row-locked, and must be the same.

Anything else (a suppression added meanwhile) may be decided on as it was when the batch read it, as a
suppression added while a batch is being written always could.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from recruit_sync.importer.decide import Decision
from recruit_sync.importer.facts import Facts

Stamps = Mapping[str, tuple[str, str | None]]
"""By email key of each contact that existed: (its row version, its membership of the list's row
version or None), as ``xmin`` reads them."""


@dataclass(eq=False)
class Turn:
    """A batch's turn on its list, in this process: the writer id its writes carry into the list's row,
    and the email keys and record ids they may touch (set before it writes)."""

    writer: uuid.UUID = field(default_factory=uuid.uuid4)
    keys: frozenset[str] = frozenset()
    record_ids: frozenset[str] = frozenset()

    def touches(self, keys: Iterable[str], record_ids: Iterable[str]) -> bool:
        return not self.keys.isdisjoint(keys) or not self.record_ids.isdisjoint(record_ids)


@dataclass(frozen=True)
class ReadAhead:
    """A batch's decision, and what it was read at, from facts read before its turn."""

    list_id: int
    version: int  # the list's version the facts were read at
    before: Turn | None  # the batch that held the list's turn meanwhile (None: none did)
    stamps: Stamps
    decision: Decision
    keys: frozenset[str]
    record_ids: frozenset[str]


class Verdict(StrEnum):
    """Whether a read-ahead still holds once the batch holds the lock; any other than HOLDS: read again."""

    HOLDS = "holds"
    LIST_CHANGED = "list_changed"  # batches the read did not see touched the list, or the same emails
    CONTACTS_CHANGED = "contacts_changed"  # a contact it read (or its membership) changed meanwhile


def list_verdict(ahead: ReadAhead, previous_version: int, previous_writer: uuid.UUID | None) -> Verdict:
    """From the list's version and writer as the batch found them under the lock (before its own)."""
    if previous_version == ahead.version:
        return Verdict.HOLDS
    before = ahead.before
    if (
        previous_version == ahead.version + 1
        and before is not None
        and previous_writer == before.writer
        and not before.touches(ahead.keys, ahead.record_ids)
    ):
        return Verdict.HOLDS
    return Verdict.LIST_CHANGED


def marks(
    facts: Facts, records: Iterable[tuple[str, str]], deleted_ids: Iterable[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """The email keys and record ids a batch's writes may touch: those it read facts for (its
    (record id, email key) pairs, its deleted record ids, the links read); a decision writes no other."""
    pairs = list(records)
    keys = frozenset(key for _, key in pairs).union(facts.links.values())
    return keys, frozenset(record_id for record_id, _ in pairs).union(deleted_ids, facts.links)
