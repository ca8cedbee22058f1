"""Check 4 across a run's batches: which record holds each email, whatever the batch order. Pure.

SPEC section 5: an email that appears twice in a run is a ``file_duplicate``, the fields kept are the
most recently modified record's, and the counts do not depend on the batch order (docs/adr/0007).

* A batch settles its own repeats first (``most_recent_per_email``).
* The run's earlier batches left a ``Claim`` on each email they placed: the outcome that holds it so
  far (which record, how recent, where its outcome was published), and the contact as the run found
  it (``Prior``). A record less recent than the claim is a file duplicate.
* A more recent record *takes the email over*: the contact is put back as the run found it
  (``found_before``) and the record is decided against that, so the store ends as if the winner had
  come first; and the batch names the claimant's published outcome as displaced (``displaced``):
  it becomes a ``file_duplicate``, or, for a deletion the live record undoes, is void. History
  applies that, whatever order it receives the batches in.

Deletions claim their email too (``decide.py``): a run never both places and deletes one contact,
and a live record beats a deletion whatever the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from recruit_sync.contracts.events import Displacement, Superseded
from recruit_sync.importer.contacts import Membership, StoredContact
from recruit_sync.importer.parse import MalformedRecord, ParsedRecord

Recency = tuple[float, int, str]


def recency(record_id: str, modified_at: datetime | None) -> Recency:
    """Which of two records of one email is the more recent: modification time, then the larger id
    (numeric ids compare as numbers). A record without a readable time is the oldest."""
    stamp = modified_at.timestamp() if modified_at is not None else float("-inf")
    numeric = record_id.isascii() and record_id.isdigit()
    return stamp, int(record_id) if numeric else -1, record_id


def most_recent_per_email(parsed: Sequence[ParsedRecord | MalformedRecord]) -> dict[str, ParsedRecord]:
    """The batch's own file duplicates, settled first: email key -> its most recent record here."""
    winners: dict[str, ParsedRecord] = {}
    for record in parsed:
        if isinstance(record, ParsedRecord) and record.key is not None:
            best = winners.get(record.key)
            if best is None:
                winners[record.key] = record
            elif recency(record.record_id, record.modified_at) > recency(best.record_id, best.modified_at):
                winners[record.key] = record
    return winners


@dataclass(frozen=True, slots=True)
class Prior:
    """A contact as the run found it, before the run's claimant changed it."""

    contact: StoredContact | None  # None: there was no contact, the run created it
    # memberships of other lists the run removed (remove_from_org), as (list id, membership)
    elsewhere: tuple[tuple[int, Membership], ...] = ()
    # False: the claimant left the target list's membership alone, so ``contact.membership`` is not
    # kept (the store's is still the one found); it is the costly part of a snapshot, and an updated
    # contact, the common case, keeps its membership
    membership_changed: bool = True


CREATED: Final = Prior(None)  # the prior of every contact a run creates


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome that holds an email in this run so far: batch ``seq``'s outcome at ``position``."""

    record_id: str
    modified_at: datetime | None
    seq: int
    position: int | None  # None: claimed before positions were kept (migration 0003 found none)
    deletion: bool = False  # the record was reported deleted and the contact removed for it
    prior: Prior | None = None  # None: the claimant changed nothing, the contact is as the run found it

    def beaten_by(self, record: ParsedRecord) -> bool:
        """A live record beats a deletion; between two records the more recent one wins."""
        if self.deletion:
            return True
        return recency(record.record_id, record.modified_at) > recency(self.record_id, self.modified_at)


def found_before(claim: Claim, current: StoredContact | None) -> Prior:
    """The contact as the run found it, for a record taking ``claim``'s email over; ``current`` is the
    contact as the store holds it now.

    A claimant that changed nothing left the contact as found. A claimant that kept the target list's
    membership left the store's as found: it is filled in, so the next takeover finds it explicit.
    """
    prior = claim.prior
    if prior is None:
        return Prior(current)
    if not prior.membership_changed and prior.contact is not None:
        membership = current.membership if current is not None else None
        return Prior(replace(prior.contact, membership=membership), prior.elsewhere)
    return prior


def displaced(claim: Claim, by: int) -> Superseded | None:
    """How the batch names the claimant's published outcome, displaced by its outcome at ``by``."""
    if claim.position is None:
        return None
    becomes = Displacement.VOID if claim.deletion else Displacement.FILE_DUPLICATE
    return Superseded(seq=claim.seq, position=claim.position, by=by, becomes=becomes)
