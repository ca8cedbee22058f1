"""SPEC section 5's table, in its order: which outcome a record gets. Pure.

    1-3   empty, not an address, role address     email_rules.classify_email, as the record is parsed
    4     the email already appeared in the run    claims.py: the batch's own repeats, then the run's claims
    5-8   opted out, converted, suppressed         refusal
    9-12  new, re-added, duplicate, updated        placement

``decide.py`` walks a batch through them and turns each outcome into the rows it writes.
"""

from __future__ import annotations

from typing import Final

from recruit_sync.contracts.events import IgnoreReason, ImportSettings, Outcome
from recruit_sync.importer.contacts import Contact
from recruit_sync.importer.parse import ParsedRecord

# settings.options_enabled_at keys (the scheduler's names for the options that take effect later)
EXCLUDE_OPT_OUT: Final = "exclude_opt_out"
ON_RECRUIT_DELETE: Final = "on_recruit_delete"
NO_SUPPRESSION: Final[frozenset[IgnoreReason]] = frozenset()


def refusal(
    record: ParsedRecord,
    contact: Contact | None,
    suppressed: frozenset[IgnoreReason],
    settings: ImportSettings,
) -> IgnoreReason | None:
    """Checks 5-8: why the record is ignored, if it is. ``contact``: the contact as the batch has it;
    ``suppressed``: the registry's reasons for its address."""
    options = settings.options
    if options.exclude_opt_out and record.opted_out and in_effect(settings, EXCLUDE_OPT_OUT, contact):
        return IgnoreReason.OPT_OUT
    if options.exclude_converted and record.converted:  # every membership, whenever it was added
        return IgnoreReason.CONVERTED
    if IgnoreReason.DO_NOT_MAIL in suppressed:
        return IgnoreReason.DO_NOT_MAIL
    if IgnoreReason.BOUNCED in suppressed:
        return IgnoreReason.BOUNCED
    return None


def placement(record: ParsedRecord, contact: Contact | None) -> Outcome:
    """Checks 9-12, for a record no check refused: ``contact`` as the batch has it."""
    if contact is None:
        return Outcome.NEW
    if contact.deleted:
        return Outcome.RE_ADDED
    if not contact.on_list:
        return Outcome.DUPLICATE
    return Outcome.UPDATED if contact.differs(record) else Outcome.UNCHANGED


def in_effect(settings: ImportSettings, option: str, contact: Contact | None) -> bool:
    """SPEC 2.5: an option enabled later applies only to memberships added after it was enabled
    (and to contacts not on the list yet)."""
    membership = contact.membership if contact is not None else None
    enabled_at = settings.options_enabled_at.get(option)
    return membership is None or enabled_at is None or membership.added_at >= enabled_at
