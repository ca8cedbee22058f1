"""What happens to each record of a batch (SPEC section 5), and which rows change because of it.

Pure: ``read_records`` parses the raw records; the store fetches the ``Facts`` for their email keys;
``decide`` walks the batch against an in-memory copy of those facts and returns the outcomes plus a
``Decision`` the store applies with a few set-based statements.

Deletions are applied before the records, so a live record in the same batch as a deleted one with
the same email wins (the contact ends up on the list, reported ``deleted`` then ``re_added``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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

OPT_OUT_FIELD = "Email_Opt_Out"
CONVERTED_FIELD = "$converted"


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


def read_records(records: Iterable[object], settings: ImportSettings) -> list[ParsedRecord | MalformedRecord]:
    fields = mapped_fields(settings.mapping)
    return [_read_record(record, fields) for record in records]


def _read_record(record: object, fields: tuple[tuple[str, str], ...]) -> ParsedRecord | MalformedRecord:
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
        modified_at=modified_time_of(record),
        names=names,
        custom=custom,
    )


def records_to_look_up(parsed: Iterable[ParsedRecord | MalformedRecord]) -> list[tuple[str, str]]:
    """(record id, email key) of the records whose facts ``decide`` needs: those past checks 1-3."""
    return [(r.record_id, r.key) for r in parsed if isinstance(r, ParsedRecord) and r.key is not None]


# ---------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class Membership:
    """A contact's membership of the batch's target list."""

    sync_id: str
    added_at: datetime
    settings_version: int


@dataclass(frozen=True, slots=True)
class StoredContact:
    email: str
    first_name: str | None
    last_name: str | None
    fields: Mapping[str, Any]
    deleted: bool
    membership: Membership | None  # on the batch's target list


@dataclass(frozen=True)
class Facts:
    """What the store knows about a batch's emails and record ids, read inside the batch's transaction."""

    contacts: Mapping[str, StoredContact] = field(default_factory=dict)  # by email key
    suppressed: Mapping[str, frozenset[IgnoreReason]] = field(default_factory=dict)  # by email key
    seen_in_run: frozenset[str] = frozenset()  # email keys placed by earlier batches of the run
    # Recruit record id -> email key (this module), for deleted records and for live records whose
    # contact exists; a record missing here is linked (again) when it places a contact
    links: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- output


# The write sets are plain tuples (a batch builds thousands of them; a dataclass costs several times
# as much), in the order the store's statements read them.
ContactRow = tuple[str, str, str | None, str | None, Mapping[str, Any]]
"""(email key, email, first name, last name, custom fields): insert, or update and restore a contact.
Names overwrite; custom fields merge into the stored ones."""
MembershipRow = tuple[str, str]
"""(email key, record id): add the contact to the target list."""
SeenRow = tuple[str, str, datetime | None]
"""(email key, record id, modified at): the record that placed an email first in this run, kept so a
later change can pick the winner among file duplicates by modification time."""


@dataclass
class Decision:
    """Outcomes in batch order (records, then acted-on deletions) and the writes, applied in field order."""

    outcomes: list[RecordOutcome] = field(default_factory=list)
    soft_delete: list[str] = field(default_factory=list)  # contacts removed from the organisation
    leave_all_lists: list[str] = field(default_factory=list)  # ... and from every list
    leave_list: list[str] = field(default_factory=list)  # contacts removed from the target list
    unlink: list[str] = field(default_factory=list)  # record ids deleted in Recruit
    contacts: list[ContactRow] = field(default_factory=list)
    join_list: list[MembershipRow] = field(default_factory=list)
    link: dict[str, str] = field(default_factory=dict)  # record id -> email key (a record placed twice: last)
    seen: list[SeenRow] = field(default_factory=list)
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
    membership_sync: str | None  # who added it to the target list; None when not on it

    @classmethod
    def from_facts(cls, stored: StoredContact) -> _Contact:
        membership = stored.membership.sync_id if stored.membership is not None else None
        return cls(
            stored.email, stored.first_name, stored.last_name, dict(stored.fields), stored.deleted, membership
        )

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
    deletion_outcomes = [walk.delete(record.id) for record in deleted]
    for record in parsed:
        walk.decision.outcomes.append(walk.place(record))
    walk.decision.outcomes += [o for o in deletion_outcomes if o is not None]
    return walk.decision


class _Walk:
    def __init__(self, sync_id: str, settings: ImportSettings, facts: Facts) -> None:
        self.sync_id = sync_id
        self.settings = settings
        self.facts = facts
        self.contacts = {key: _Contact.from_facts(c) for key, c in facts.contacts.items()}
        self.seen: set[str] = set(facts.seen_in_run)
        self.linked: dict[str, str] = dict(facts.links)
        self.decision = Decision()

    # deletions (SPEC section 2.5, on_recruit_delete)

    def delete(self, record_id: str) -> RecordOutcome | None:
        # Options take effect from the moment they are enabled (SPEC 2.5): a later change compares the
        # membership's added_at with settings.options_enabled_at here. For now every membership counts.
        option = self.settings.options.on_recruit_delete
        if option is OnRecruitDelete.KEEP:
            return None
        key = self.linked.pop(record_id, None)
        if key is None:
            return None
        self.decision.unlink.append(record_id)  # a re-reported deletion must not act on a later re-add
        contact = self.contacts.get(key)
        if contact is None or contact.deleted:
            return None
        if option is OnRecruitDelete.REMOVE_FROM_ORG:
            contact.deleted = True
            contact.membership_sync = None
            self.decision.soft_delete.append(key)
            self.decision.leave_all_lists.append(key)
        elif contact.membership_sync == self.sync_id:
            contact.membership_sync = None
            self.decision.leave_list.append(key)
        else:
            return None  # on the list by another sync's hand, or not on it: not ours to remove
        return RecordOutcome(record_id=record_id, email=contact.email, outcome=Outcome.DELETED)

    # records (SPEC section 5, checks in order)

    def place(self, record: ParsedRecord | MalformedRecord) -> RecordOutcome:
        if isinstance(record, MalformedRecord):
            return _ignored(
                record.record_id, record.email, f"{IgnoreReason.MALFORMED.value}: {record.problem}"
            )
        if record.reason is not None:  # checks 1-3
            return _ignored(record.record_id, record.email, record.reason)
        key = record.key
        assert key is not None and record.email is not None
        if key in self.seen:  # check 4
            return _ignored(record.record_id, record.email, IgnoreReason.FILE_DUPLICATE)
        self.seen.add(key)
        self.decision.seen.append((key, record.record_id, record.modified_at))
        reason = self._refusal(record, key)  # checks 5-8
        if reason is not None:
            return _ignored(record.record_id, record.email, reason)
        return RecordOutcome(
            record_id=record.record_id, email=record.email, outcome=self._import(record, key)
        )

    def _refusal(self, record: ParsedRecord, key: str) -> IgnoreReason | None:
        options = self.settings.options
        if options.exclude_opt_out and record.opted_out:
            return IgnoreReason.OPT_OUT
        if options.exclude_converted and record.converted:
            contact = self.contacts.get(key)
            if contact is not None and contact.membership_sync is not None:
                contact.membership_sync = None
                self.decision.leave_list.append(key)
            return IgnoreReason.CONVERTED
        suppressed = self.facts.suppressed.get(key, frozenset())
        for reason in (IgnoreReason.DO_NOT_MAIL, IgnoreReason.BOUNCED):
            if reason in suppressed:
                return reason
        return None

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
            if contact.membership_sync is None:  # soft deletion leaves every list; this is a safeguard
                self._join(key, record.record_id, contact)
            return Outcome.RE_ADDED
        changed = contact.differs(record)
        if changed:
            self._write(key, contact, record)
        if contact.membership_sync is None:
            self._join(key, record.record_id, contact)
            return Outcome.DUPLICATE
        return Outcome.UPDATED if changed else Outcome.UNCHANGED

    def _write(self, key: str, contact: _Contact, record: ParsedRecord) -> None:
        contact.apply(record)
        row = (key, contact.email, contact.first_name, contact.last_name, record.custom)
        self.decision.contacts.append(row)

    def _join(self, key: str, record_id: str, contact: _Contact) -> None:
        contact.membership_sync = self.sync_id
        self.decision.join_list.append((key, record_id))


def _ignored(record_id: str | None, email: str | None, reason: str) -> RecordOutcome:
    return RecordOutcome(record_id=record_id, email=email, outcome=Outcome.IGNORED, reason=str(reason))
