"""A claim's ``Prior`` as stored in ``run_emails.prior`` (jsonb), and back; and the facts the run found
(``run_emails.found``, docs/adr/0020). Pure.

Kept small: it is written for every record that changes an existing contact. The address is not kept
(it never changes: the reader passes the contact's), nor the membership when the claimant left it
alone (``Prior.membership_changed``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.importer.claims import CREATED, Prior
from recruit_sync.importer.contacts import Membership, StoredContact


def prior_to_json(prior: Prior) -> dict[str, Any]:
    contact = prior.contact
    if contact is None:
        return {"contact": None}
    document: dict[str, Any] = {
        "contact": {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "fields": contact.fields,
            "deleted": contact.deleted,
        }
    }
    if prior.membership_changed:
        document["membership"] = _membership_to_json(contact.membership) if contact.membership else None
    if prior.elsewhere:
        document["elsewhere"] = [[list_id, _membership_to_json(m)] for list_id, m in prior.elsewhere]
    return document


def prior_from_json(data: dict[str, Any], email: str | None) -> Prior:
    """``email``: the contact's address now (None only when it no longer exists)."""
    contact = data["contact"]
    if contact is None or email is None:
        return CREATED
    membership = data.get("membership")
    return Prior(
        contact=StoredContact(
            email=email,
            first_name=contact["first_name"],
            last_name=contact["last_name"],
            fields=contact["fields"],
            deleted=contact["deleted"],
            membership=_membership_from_json(membership) if membership else None,
        ),
        elsewhere=tuple((list_id, _membership_from_json(m)) for list_id, m in data.get("elsewhere", ())),
        membership_changed="membership" in data,
    )


def _membership_to_json(membership: Membership) -> dict[str, Any]:
    return {
        "sync_id": membership.sync_id,
        "added_at": membership.added_at.isoformat(),
        "settings_version": membership.settings_version,
        "record_id": membership.record_id,
    }


def _membership_from_json(data: dict[str, Any]) -> Membership:
    return Membership(
        data["sync_id"], datetime.fromisoformat(data["added_at"]), data["settings_version"], data["record_id"]
    )


NOTHING_FOUND: dict[str, Any] = {"contact": None}


def found_to_json(contact: StoredContact | None, suppressed: frozenset[IgnoreReason]) -> dict[str, Any]:
    """The facts of an email as the run found them: the whole contact, address and membership of the
    run's list included (later runs may change both), and the suppression reasons, if any."""
    document: dict[str, Any] = {"contact": None}
    if contact is not None:
        document["contact"] = {
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "fields": contact.fields,
            "deleted": contact.deleted,
            "membership": _membership_to_json(contact.membership) if contact.membership else None,
        }
    if suppressed:
        document["suppressed"] = sorted(suppressed)
    return document


def found_from_json(data: dict[str, Any]) -> tuple[StoredContact | None, frozenset[IgnoreReason]]:
    contact = data["contact"]
    suppressed = frozenset(IgnoreReason(reason) for reason in data.get("suppressed", ()))
    if contact is None:
        return None, suppressed
    membership = contact["membership"]
    stored = StoredContact(
        email=contact["email"],
        first_name=contact["first_name"],
        last_name=contact["last_name"],
        fields=contact["fields"],
        deleted=contact["deleted"],
        membership=_membership_from_json(membership) if membership else None,
    )
    return stored, suppressed
