"""What a batch does: each record's outcome (SPEC section 5), the deletions (``on_recruit_delete``), the
earlier outcomes of the run it displaces, and the rows to write. Pure.

``decide`` walks the parsed records in batch order through the checks (``checks.py``; check 4 is
``claims.py``) against an in-memory copy of the facts, then the deleted records. It returns a
``Decision``: the ``outcomes`` and ``superseded`` of the batch's BatchImported, and the write sets the
store applies with a few set-based statements (``store/writes.py``).

Deletions come after the records of their batch and claim the email too: a run never both places and
deletes one contact, and the live record wins whatever the order (``claims.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recruit_sync.contracts.events import (
    DeletedRecord,
    IgnoreReason,
    ImportSettings,
    Outcome,
    Outcomes,
    Superseded,
)
from recruit_sync.contracts.sync_spec import OnRecruitDelete
from recruit_sync.importer.checks import NO_SUPPRESSION, ON_RECRUIT_DELETE, in_effect, placement, refusal
from recruit_sync.importer.claims import CREATED, Claim, Prior, displaced, found_before, most_recent_per_email
from recruit_sync.importer.contacts import Contact, StoredContact
from recruit_sync.importer.facts import Facts
from recruit_sync.importer.parse import MalformedRecord, ParsedRecord

IGNORED = Outcome.IGNORED

# The write sets are plain tuples (a batch builds thousands of them; a dataclass costs several times
# as much), in the order the store's statements read them.
ContactRow = tuple[str, str, str | None, str | None, Mapping[str, Any]]
"""(email key, email, first name, last name, custom fields): insert, or update and restore a contact.
Names overwrite; custom fields merge into the stored ones."""
MembershipRow = tuple[str, str]
"""(email key, record id): add the contact to the target list."""
ClaimRow = tuple[str, str, datetime | None, int, bool, Prior | None]
"""(email key, record id, modified at, position of its outcome in the batch, deletion, prior): the
run's claim on an email (``claims.Claim``; the store adds the batch's seq)."""
Found = tuple[StoredContact | None, frozenset[IgnoreReason]]
"""An email's facts as the run first read them: its contact (None: none) and suppression reasons; kept
with the run's first claim on it, so ``replay --dry-run`` can put the store back as the run found it."""


@dataclass
class Decision:
    """Outcomes in batch order (records, then acted-on deletions), the earlier outcomes they displace,
    and the writes, applied in field order."""

    outcomes: Outcomes = field(default_factory=Outcomes)
    superseded: list[Superseded] = field(default_factory=list)
    restore: list[tuple[str, Prior]] = field(default_factory=list)  # put back before a more recent record
    soft_delete: list[str] = field(default_factory=list)  # contacts removed from the organisation
    leave_all_lists: list[str] = field(default_factory=list)  # ... and from every list
    leave_list: list[str] = field(default_factory=list)  # contacts removed from the target list
    unlink: list[str] = field(default_factory=list)  # record ids that no longer stand for a contact
    contacts: list[ContactRow] = field(default_factory=list)
    join_list: list[MembershipRow] = field(default_factory=list)
    link: dict[str, str] = field(default_factory=dict)  # record id -> email key
    claims: list[ClaimRow] = field(default_factory=list)  # emails this run had not claimed yet
    reclaims: list[ClaimRow] = field(default_factory=list)  # claims taken over from an earlier batch
    created: dict[str, int] = field(default_factory=dict)  # email key -> index of its `new` outcome
    found: dict[str, Found] = field(default_factory=dict)  # the facts of newly claimed emails, if any

    def counted_as_existing(self, keys: Iterable[str]) -> Outcomes:
        """The outcomes when another transaction created some ``new`` contacts first: those are duplicates."""
        positions = [index for key in keys if (index := self.created.get(key)) is not None]
        if not positions:
            return self.outcomes
        column = list(self.outcomes.outcome)
        for index in positions:
            column[index] = Outcome.DUPLICATE
        return self.outcomes.model_copy(update={"outcome": column})


def decide(
    parsed: Sequence[ParsedRecord | MalformedRecord],
    deleted: Sequence[DeletedRecord],
    *,
    sync_id: str,
    settings: ImportSettings,
    facts: Facts,
) -> Decision:
    *_, decision = deciding(parsed, deleted, sync_id=sync_id, settings=settings, facts=facts)
    assert decision is not None  # (the last step is the decision)
    return decision


DECIDE_SLICE = 200  # records decided between two yields of ``deciding`` (under a millisecond)


def deciding(
    parsed: Sequence[ParsedRecord | MalformedRecord],
    deleted: Sequence[DeletedRecord],
    *,
    sync_id: str,
    settings: ImportSettings,
    facts: Facts,
) -> Iterator[Decision | None]:
    """``decide`` in steps: None after every ``DECIDE_SLICE`` records, then the decision. For a caller
    that must not hold up its event loop meanwhile (``handlers``: a batch decides ahead while the batch
    before it waits on each answer of PostgreSQL)."""
    walk = _Walk(sync_id, settings, facts)
    winners = most_recent_per_email(parsed)
    for start in range(0, len(parsed), DECIDE_SLICE):
        for record in parsed[start : start + DECIDE_SLICE]:
            walk.place(record, winners)
        yield None
    for item in deleted:
        walk.delete(item.id)
    yield walk.decision


class _Walk:
    """The batch so far: the working copies of its contacts, the record links, the decision."""

    def __init__(self, sync_id: str, settings: ImportSettings, facts: Facts) -> None:
        self.sync_id = sync_id
        self.settings = settings
        self.facts = facts
        self.contacts = {key: Contact.from_stored(c) for key, c in facts.contacts.items()}
        self.claimed: set[str] = set()  # emails claimed by this batch
        self.linked: dict[str, str] = dict(facts.links)
        self.decision = Decision()

    # records: SPEC section 5's checks, in order

    def place(self, record: ParsedRecord | MalformedRecord, winners: Mapping[str, ParsedRecord]) -> None:
        outcomes = self.decision.outcomes
        if isinstance(record, MalformedRecord):
            outcomes.add(record.record_id, record.email, IGNORED, IgnoreReason.MALFORMED, record.problem)
            return
        if record.reason is not None:  # checks 1-3
            outcomes.add(record.record_id, record.email, IGNORED, record.reason)
            return
        key, email = record.key, record.email
        assert key is not None and email is not None  # (past checks 1-3, a record has both)
        claim = self.facts.claims.get(key)
        winner = winners[key]  # this batch's own repeats are settled first
        if claim is not None and not claim.beaten_by(winner):  # check 4: an earlier batch's record holds it
            self._file_duplicate(record, claim.record_id)
            return
        if record is not winner:  # check 4: a more recent record of this batch holds it
            self._file_duplicate(record, winner.record_id)
            return
        position = len(outcomes)
        prior = self._take_over(key, claim, record.record_id, position) if claim is not None else None
        contact = self.contacts.get(key)
        reason = refusal(record, contact, self.facts.suppressed.get(key, NO_SUPPRESSION), self.settings)
        if reason is None:  # checks 9-12
            placed = placement(record, contact)
            self._import(key, email, record, contact, placed)
            changed = placed is not Outcome.UNCHANGED
            outcomes.add(record.record_id, email, placed)
        else:  # checks 5-8
            changed = reason is IgnoreReason.CONVERTED and self._leave_list(key, contact)
            outcomes.add(record.record_id, email, IGNORED, reason)
        if claim is None:
            self._keep_found(key)
            prior = self._found(key) if changed else None
            self.decision.claims.append((key, record.record_id, record.modified_at, position, False, prior))
        else:  # a claim taken over keeps the prior the email had when the run found it
            self.decision.reclaims.append((key, record.record_id, record.modified_at, position, False, prior))
        self.claimed.add(key)

    def _file_duplicate(self, record: ParsedRecord, holder_id: str) -> None:
        """A file duplicate stands for no contact: deleting it in Recruit must not remove the one its
        more recent twin holds. (The same record twice, as when Recruit's pages shift during a run,
        keeps its link.)"""
        if record.record_id != holder_id:
            self._unlink(record.record_id)
        self.decision.outcomes.add(record.record_id, record.email, IGNORED, IgnoreReason.FILE_DUPLICATE)

    def _take_over(self, key: str, claim: Claim, record_id: str, position: int) -> Prior:
        """The record at ``position`` displaces the run's earlier claimant of ``key``: the claimant's
        outcome is named, the contact goes back to how the run found it, and the record is decided
        against that. Returns the contact as the run found it, which the new claim keeps."""
        if claim.record_id != record_id and not claim.deletion:  # (a deleted record's link is gone)
            self.linked.pop(claim.record_id, None)
            self.decision.unlink.append(claim.record_id)  # linked by an earlier batch: not in the facts
        superseded = displaced(claim, by=position)
        if superseded is not None:
            self.decision.superseded.append(superseded)
        prior = found_before(claim, self.facts.contacts.get(key))
        if claim.prior is not None:  # the claimant changed the contact: the store puts it back first
            self.decision.restore.append((key, prior))
            if prior.contact is None:
                self.contacts.pop(key, None)
            else:
                self.contacts[key] = Contact.from_stored(prior.contact)
        return prior

    def _keep_found(self, key: str) -> None:
        """The facts of an email the run claims for the first time, when there were any (an email
        with neither contact nor suppression, the common case of a first import, costs nothing)."""
        contact, suppressed = self.facts.contacts.get(key), self.facts.suppressed.get(key, NO_SUPPRESSION)
        if contact is not None or suppressed:
            self.decision.found[key] = (contact, suppressed)

    def _found(self, key: str) -> Prior:
        """The contact as the run found it, for the first claim on ``key`` of a record that changed it:
        the facts are that contact."""
        found = self.facts.contacts.get(key)
        if found is None:
            return CREATED
        left_or_joined = (found.membership is not None) != self.contacts[key].on_list
        return Prior(found, membership_changed=left_or_joined)

    def _import(
        self, key: str, email: str, record: ParsedRecord, contact: Contact | None, placed: Outcome
    ) -> None:
        """What checks 9-12's outcome writes: the contact, its membership of the list, the record's link."""
        if self.linked.get(record.record_id) != key:
            self.linked[record.record_id] = key
            self.decision.link[record.record_id] = key
        if contact is None:  # new; no working copy needed: the email cannot come up again in this batch
            names = record.names
            row = (key, email, names.get("first_name"), names.get("last_name"), record.custom)
            self.decision.contacts.append(row)
            self.decision.join_list.append((key, record.record_id))
            self.decision.created[key] = len(self.decision.outcomes)  # this record's outcome comes next
        elif placed is Outcome.RE_ADDED:
            contact.deleted = False
            self._write(key, contact, record)
            if not contact.on_list:  # soft deletion leaves every list; this is a safeguard
                self._join(key, record.record_id, contact)
        elif placed is Outcome.DUPLICATE:
            if contact.differs(record):
                self._write(key, contact, record)
            self._join(key, record.record_id, contact)
        elif placed is Outcome.UPDATED:
            self._write(key, contact, record)

    def _leave_list(self, key: str, contact: Contact | None) -> bool:
        """Check 6 takes a converted candidate off the list; True when it was on it."""
        if contact is None or not contact.on_list:
            return False
        contact.membership, contact.joined = None, False
        self.decision.leave_list.append(key)
        return True

    def _write(self, key: str, contact: Contact, record: ParsedRecord) -> None:
        contact.apply(record)
        row = (key, contact.email, contact.first_name, contact.last_name, record.custom)
        self.decision.contacts.append(row)

    def _join(self, key: str, record_id: str, contact: Contact) -> None:
        contact.joined = True
        self.decision.join_list.append((key, record_id))

    def _unlink(self, record_id: str) -> None:
        if self.linked.pop(record_id, None) is not None:
            self.decision.unlink.append(record_id)

    # deletions (SPEC section 2.5, on_recruit_delete)

    def delete(self, record_id: str) -> None:
        option = self.settings.options.on_recruit_delete
        if option is OnRecruitDelete.KEEP:
            return
        key = self.linked.pop(record_id, None)
        if key is None:
            return
        self.decision.unlink.append(record_id)  # a re-reported deletion must not act on a later re-add
        if key in self.claimed or key in self.facts.claims:  # a record of the run holds it, or it is gone
            return
        contact = self.contacts.get(key)
        if contact is None or contact.deleted or contact.membership is None:
            return
        if contact.membership.sync_id != self.sync_id or not in_effect(
            self.settings, ON_RECRUIT_DELETE, contact
        ):
            return  # not ours to remove, or added before the option was enabled
        prior = Prior(self.facts.contacts[key], self.facts.elsewhere.get(key, ()))
        self._keep_found(key)
        contact.membership = None
        if option is OnRecruitDelete.REMOVE_FROM_ORG:
            contact.deleted = True
            self.decision.soft_delete.append(key)
            self.decision.leave_all_lists.append(key)
        else:
            self.decision.leave_list.append(key)
        outcomes = self.decision.outcomes
        self.decision.claims.append((key, record_id, None, len(outcomes), True, prior))
        self.claimed.add(key)
        outcomes.add(record_id, contact.email, Outcome.DELETED)
