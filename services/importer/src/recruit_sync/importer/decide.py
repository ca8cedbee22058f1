"""What happens to each record of a batch (SPEC section 5), and which rows change because of it.

Pure: ``read_records`` parses the raw records; the store fetches the ``Facts`` for their email keys;
``decide`` walks the batch against an in-memory copy of those facts and returns the outcomes plus a
``Decision`` the store applies with a few set-based statements.

File duplicates (check 4) are decided the same whatever the batch order (docs/adr/0007): each email
of a run is *claimed* by its most recently modified record (``Updated_On`` / ``Modified_Time``; ties:
the larger record id). A claim remembers the contact as the run found it (``Prior``), so when a later
batch brings a more recent record, the contact is put back as it was and the new record is decided
against that: the list ends up as if the winner had come first. The earlier claimant's published
outcome is corrected by history, which keeps one outcome past check 4 per email and run.

Deletions (``on_recruit_delete``) come after the records of their batch and claim the email too: a
run never both places and deletes one contact, and the live record wins whatever the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from recruit_sync.contracts.events import DeletedRecord, IgnoreReason, ImportSettings, Outcome, RecordOutcome
from recruit_sync.contracts.sync_spec import OnRecruitDelete
from recruit_sync.importer.email_rules import classify_email, email_key
from recruit_sync.importer.mapping import (
    EMAIL_FIELD,
    Unreadable,
    email_of,
    flag_of,
    mapped_fields,
    mapped_values,
    modified_time_of,
    record_id_of,
)

OPT_OUT_FIELD: Final = "Email_Opt_Out"
CONVERTED_FIELD: Final = "$converted"
# settings.options_enabled_at keys (the scheduler's names for the options that take effect later)
EXCLUDE_OPT_OUT: Final = "exclude_opt_out"
ON_RECRUIT_DELETE: Final = "on_recruit_delete"

# ---------------------------------------------------------------------------------------------- input


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs three times as much, per record
class ParsedRecord:
    """A readable record. ``reason`` is set when checks 1-3 (empty, invalid, role) already refuse it."""

    record_id: str
    email: str | None  # normalised when valid, else the address as given (stripped), None when empty
    key: str | None  # email_key, when checks 1-3 passed
    reason: IgnoreReason | None
    opted_out: bool
    converted: bool
    modified_at: datetime | None
    # mapped fields the record carries, converted: first_name / last_name, and the custom fields
    names: Mapping[str, str | None]
    custom: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    record_id: str | None
    email: str | None
    problem: str


def read_records(
    records: Iterable[object], settings: ImportSettings, module: str
) -> list[ParsedRecord | MalformedRecord]:
    fields = mapped_fields(settings.mapping)
    return [_read_record(record, fields, module) for record in records]


def _read_record(
    record: object, fields: tuple[tuple[str, str], ...], module: str
) -> ParsedRecord | MalformedRecord:
    if not isinstance(record, dict):
        return MalformedRecord(None, None, "record is not an object")
    record_id: str | None = None
    raw_email: str | None = None
    try:
        record_id = record_id_of(record)
        raw_email = email_of(record, EMAIL_FIELD)
        opted_out = flag_of(record, OPT_OUT_FIELD)
        converted = flag_of(record, CONVERTED_FIELD)
        names, custom = mapped_values(record, fields)
    except Unreadable as exc:
        return MalformedRecord(record_id, (raw_email or "").strip() or None, str(exc))
    normalised, reason = classify_email(raw_email)
    return ParsedRecord(
        record_id=record_id,
        email=normalised or (raw_email or "").strip() or None,
        key=email_key(normalised) if normalised is not None and reason is None else None,
        reason=reason,
        opted_out=opted_out,
        converted=converted,
        modified_at=modified_time_of(record, module),
        names=names,
        custom=custom,
    )


def records_to_look_up(parsed: Iterable[ParsedRecord | MalformedRecord]) -> list[tuple[str, str]]:
    """(record id, email key) of the records whose facts ``decide`` needs: those past checks 1-3."""
    return [(r.record_id, r.key) for r in parsed if isinstance(r, ParsedRecord) and r.key is not None]


Recency = tuple[float, int, str]


def recency(record_id: str, modified_at: datetime | None) -> Recency:
    """Which of two records of one email is the more recent: modification time, then the larger id
    (numeric ids compare as numbers). A record without a readable time is the oldest."""
    stamp = modified_at.timestamp() if modified_at is not None else float("-inf")
    numeric = record_id.isascii() and record_id.isdigit()
    return stamp, int(record_id) if numeric else -1, record_id


# ---------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class Membership:
    """A contact's membership of a list: who added it, when, under which settings, from which record."""

    sync_id: str
    added_at: datetime
    settings_version: int
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredContact:
    email: str
    first_name: str | None
    last_name: str | None
    fields: Mapping[str, Any]
    deleted: bool
    membership: Membership | None  # on the batch's target list


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


@dataclass(frozen=True, slots=True)
class Claim:
    """The record that holds an email in this run so far (check 4)."""

    record_id: str
    modified_at: datetime | None
    deletion: bool = False  # the record was reported deleted and the contact removed for it
    prior: Prior | None = None  # None: the claimant changed nothing, the contact is as the run found it


@dataclass(frozen=True)
class Facts:
    """What the store knows about a batch's emails and record ids, read inside the batch's transaction."""

    contacts: Mapping[str, StoredContact] = field(default_factory=dict)  # by email key
    suppressed: Mapping[str, frozenset[IgnoreReason]] = field(default_factory=dict)  # by email key
    claims: Mapping[str, Claim] = field(default_factory=dict)  # by email key: earlier batches of the run
    # Recruit record id -> email key (this module), for deleted records and for live records whose
    # contact exists; a record missing here is linked (again) when it places a contact
    links: Mapping[str, str] = field(default_factory=dict)
    # other lists' memberships of the deleted records' contacts (read for remove_from_org only)
    elsewhere: Mapping[str, tuple[tuple[int, Membership], ...]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- output


# The write sets are plain tuples (a batch builds thousands of them; a dataclass costs several times
# as much), in the order the store's statements read them.
ContactRow = tuple[str, str, str | None, str | None, Mapping[str, Any]]
"""(email key, email, first name, last name, custom fields): insert, or update and restore a contact.
Names overwrite; custom fields merge into the stored ones."""
MembershipRow = tuple[str, str]
"""(email key, record id): add the contact to the target list."""
ClaimRow = tuple[str, str, datetime | None, bool, Prior | None]
"""(email key, record id, modified at, deletion, prior): the run's claim on an email."""

CREATED: Final = Prior(None)  # the prior of every contact a run creates


@dataclass
class Decision:
    """Outcomes in batch order (records, then acted-on deletions) and the writes, applied in field order."""

    outcomes: list[RecordOutcome] = field(default_factory=list)
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

    def counted_as_existing(self, keys: Iterable[str]) -> list[RecordOutcome]:
        """The outcomes when another transaction created some ``new`` contacts first: those are duplicates."""
        outcomes = list(self.outcomes)
        for key in keys:
            index = self.created.get(key)
            if index is not None:
                outcomes[index] = outcomes[index].model_copy(update={"outcome": Outcome.DUPLICATE})
        return outcomes


# ---------------------------------------------------------------------------------------------- logic


@dataclass(slots=True)
class _Contact:
    """The walk's working copy of one contact."""

    email: str
    first_name: str | None
    last_name: str | None
    fields: dict[str, Any]
    deleted: bool
    membership: Membership | None  # on the target list; None when not on it
    joined: bool = False  # added to the target list by this batch

    @classmethod
    def from_stored(cls, stored: StoredContact) -> _Contact:
        return cls(
            stored.email,
            stored.first_name,
            stored.last_name,
            dict(stored.fields),
            stored.deleted,
            stored.membership,
        )

    @property
    def on_list(self) -> bool:
        return self.membership is not None or self.joined

    def differs(self, record: ParsedRecord) -> bool:
        names = record.names
        return (
            ("first_name" in names and names["first_name"] != self.first_name)
            or ("last_name" in names and names["last_name"] != self.last_name)
            # an absent field and a null one are the same to the user
            or any(self.fields.get(target) != value for target, value in record.custom.items())
        )

    def apply(self, record: ParsedRecord) -> None:
        self.first_name = record.names.get("first_name", self.first_name)
        self.last_name = record.names.get("last_name", self.last_name)
        self.fields.update(record.custom)


def decide(
    parsed: Sequence[ParsedRecord | MalformedRecord],
    deleted: Sequence[DeletedRecord],
    *,
    sync_id: str,
    settings: ImportSettings,
    facts: Facts,
) -> Decision:
    walk = _Walk(sync_id, settings, facts)
    winners = _most_recent_per_email(parsed)
    for record in parsed:
        walk.decision.outcomes.append(walk.place(record, winners))
    for item in deleted:
        outcome = walk.delete(item.id)
        if outcome is not None:
            walk.decision.outcomes.append(outcome)
    return walk.decision


def _most_recent_per_email(parsed: Sequence[ParsedRecord | MalformedRecord]) -> dict[str, ParsedRecord]:
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


class _Walk:
    def __init__(self, sync_id: str, settings: ImportSettings, facts: Facts) -> None:
        self.sync_id = sync_id
        self.settings = settings
        self.facts = facts
        self.contacts = {key: _Contact.from_stored(c) for key, c in facts.contacts.items()}
        self.claimed: set[str] = set()  # emails claimed by this batch
        self.linked: dict[str, str] = dict(facts.links)
        self.decision = Decision()

    # records (SPEC section 5, checks in order)

    def place(
        self, record: ParsedRecord | MalformedRecord, winners: Mapping[str, ParsedRecord]
    ) -> RecordOutcome:
        if isinstance(record, MalformedRecord):
            return _ignored(
                record.record_id, record.email, f"{IgnoreReason.MALFORMED.value}: {record.problem}"
            )
        if record.reason is not None:  # checks 1-3
            return _ignored(record.record_id, record.email, record.reason)
        key = record.key
        assert key is not None and record.email is not None
        claim = self.facts.claims.get(key)  # this batch's own repeats were settled by `winners`
        winner = winners[key]
        if winner is not record:  # check 4
            holder = (
                claim.record_id if claim is not None and not self._beats(winner, claim) else winner.record_id
            )
            self._unlink_duplicate(record.record_id, holder)
            return _ignored(record.record_id, record.email, IgnoreReason.FILE_DUPLICATE)
        prior: Prior | None = None
        if claim is not None:
            if not self._beats(record, claim):
                self._unlink_duplicate(record.record_id, claim.record_id)
                return _ignored(record.record_id, record.email, IgnoreReason.FILE_DUPLICATE)
            prior = self._take_over(key, claim, record.record_id)
        reason, changed = self._refusal(record, key)  # checks 5-8
        if reason is not None:
            outcome = _ignored(record.record_id, record.email, reason)
        else:
            placed = self._import(record, key)
            changed = placed is not Outcome.UNCHANGED
            outcome = RecordOutcome(record_id=record.record_id, email=record.email, outcome=placed)
        if claim is None and changed:  # no earlier claim: the facts are the contact as the run found it
            found = self.facts.contacts.get(key)
            if found is None:
                prior = CREATED
            else:
                left_or_joined = (found.membership is not None) != self.contacts[key].on_list
                prior = Prior(found, membership_changed=left_or_joined)
        # a claim taken over keeps the prior the email had when the run found it
        claims = self.decision.reclaims if claim is not None else self.decision.claims
        claims.append((key, record.record_id, record.modified_at, False, prior))
        self.claimed.add(key)
        return outcome

    def _unlink_duplicate(self, record_id: str, holder_id: str) -> None:
        """A file duplicate stands for no contact: deleting it in Recruit must not remove the one its
        more recent twin holds. (The same record twice, as when Recruit's pages shift during a run,
        keeps its link.)"""
        if record_id != holder_id:
            self._unlink(record_id)

    @staticmethod
    def _beats(record: ParsedRecord, claim: Claim) -> bool:
        """A live record beats a deletion; between two records the more recent one wins."""
        if claim.deletion:
            return True
        return recency(record.record_id, record.modified_at) > recency(claim.record_id, claim.modified_at)

    def _unlink(self, record_id: str) -> None:
        if self.linked.pop(record_id, None) is not None:
            self.decision.unlink.append(record_id)

    def _take_over(self, key: str, claim: Claim, record_id: str) -> Prior:
        """A more recent record displaces the run's earlier claimant of ``key``: the contact goes back
        to how the run found it, and the record is decided against that."""
        if claim.record_id != record_id and not claim.deletion:  # (a deleted record's link is gone)
            self.linked.pop(claim.record_id, None)
            self.decision.unlink.append(claim.record_id)  # linked by an earlier batch: not in the facts
        current = self.facts.contacts.get(key)
        prior = claim.prior
        if prior is None:  # the earlier claimant changed nothing
            return Prior(current)
        if not prior.membership_changed and prior.contact is not None:  # the store's is the one found
            found = replace(prior.contact, membership=current.membership if current is not None else None)
            prior = Prior(found, prior.elsewhere)
        self.decision.restore.append((key, prior))
        if prior.contact is None:
            self.contacts.pop(key, None)
        else:
            self.contacts[key] = _Contact.from_stored(prior.contact)
        return prior

    def _refusal(self, record: ParsedRecord, key: str) -> tuple[IgnoreReason | None, bool]:
        """Checks 5-8: the ignore reason, if any, and whether refusing changed the contact."""
        options = self.settings.options
        contact = self.contacts.get(key)
        if options.exclude_opt_out and record.opted_out and self._in_effect(EXCLUDE_OPT_OUT, contact):
            return IgnoreReason.OPT_OUT, False
        if options.exclude_converted and record.converted:  # every membership, whenever it was added
            if contact is not None and contact.on_list:
                contact.membership, contact.joined = None, False
                self.decision.leave_list.append(key)
                return IgnoreReason.CONVERTED, True
            return IgnoreReason.CONVERTED, False
        suppressed = self.facts.suppressed.get(key, frozenset())
        for reason in (IgnoreReason.DO_NOT_MAIL, IgnoreReason.BOUNCED):
            if reason in suppressed:
                return reason, False
        return None, False

    def _in_effect(self, option: str, contact: _Contact | None) -> bool:
        """SPEC 2.5: an option enabled later applies only to memberships added after it was enabled
        (and to contacts not on the list yet)."""
        membership = contact.membership if contact is not None else None
        enabled_at = self.settings.options_enabled_at.get(option)
        return membership is None or enabled_at is None or membership.added_at >= enabled_at

    def _import(self, record: ParsedRecord, key: str) -> Outcome:
        """Checks 9-12: create, restore, add to the list, or update."""
        assert record.email is not None
        if self.linked.get(record.record_id) != key:
            self.linked[record.record_id] = key
            self.decision.link[record.record_id] = key
        contact = self.contacts.get(key)
        if contact is None:  # no working copy needed: the email cannot come up again in this batch
            names = record.names
            row = (key, record.email, names.get("first_name"), names.get("last_name"), record.custom)
            self.decision.contacts.append(row)
            self.decision.join_list.append((key, record.record_id))
            self.decision.created[key] = len(self.decision.outcomes)  # this record's outcome comes next
            return Outcome.NEW
        if contact.deleted:
            contact.deleted = False
            self._write(key, contact, record)
            if not contact.on_list:  # soft deletion leaves every list; this is a safeguard
                self._join(key, record.record_id, contact)
            return Outcome.RE_ADDED
        changed = contact.differs(record)
        if changed:
            self._write(key, contact, record)
        if not contact.on_list:
            self._join(key, record.record_id, contact)
            return Outcome.DUPLICATE
        return Outcome.UPDATED if changed else Outcome.UNCHANGED

    def _write(self, key: str, contact: _Contact, record: ParsedRecord) -> None:
        contact.apply(record)
        row = (key, contact.email, contact.first_name, contact.last_name, record.custom)
        self.decision.contacts.append(row)

    def _join(self, key: str, record_id: str, contact: _Contact) -> None:
        contact.joined = True
        self.decision.join_list.append((key, record_id))

    # deletions (SPEC section 2.5, on_recruit_delete)

    def delete(self, record_id: str) -> RecordOutcome | None:
        option = self.settings.options.on_recruit_delete
        if option is OnRecruitDelete.KEEP:
            return None
        key = self.linked.pop(record_id, None)
        if key is None:
            return None
        self.decision.unlink.append(record_id)  # a re-reported deletion must not act on a later re-add
        if key in self.claimed or key in self.facts.claims:  # a record of the run holds it, or it is gone
            return None
        contact = self.contacts.get(key)
        if contact is None or contact.deleted or contact.membership is None:
            return None
        if contact.membership.sync_id != self.sync_id or not self._in_effect(ON_RECRUIT_DELETE, contact):
            return None  # not ours to remove, or added before the option was enabled
        prior = Prior(self.facts.contacts[key], self.facts.elsewhere.get(key, ()))
        contact.membership = None
        if option is OnRecruitDelete.REMOVE_FROM_ORG:
            contact.deleted = True
            self.decision.soft_delete.append(key)
            self.decision.leave_all_lists.append(key)
        else:
            self.decision.leave_list.append(key)
        self.decision.claims.append((key, record_id, None, True, prior))
        self.claimed.add(key)
        return RecordOutcome(record_id=record_id, email=contact.email, outcome=Outcome.DELETED)


def _ignored(record_id: str | None, email: str | None, reason: str) -> RecordOutcome:
    return RecordOutcome(record_id=record_id, email=email, outcome=Outcome.IGNORED, reason=str(reason))
