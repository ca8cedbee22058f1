"""How a claim's prior is stored (run_emails.prior): small, and read back as it was written."""

from __future__ import annotations

from datetime import UTC, datetime

from recruit_sync.importer.claims import CREATED, Prior
from recruit_sync.importer.contacts import Membership, StoredContact
from recruit_sync.importer.store.priors import prior_from_json, prior_to_json

ADDED = datetime(2026, 10, 1, 4, 30, tzinfo=UTC)
FOUND = StoredContact(
    "Jane@example.com", "Jane", None, {"company": "Zylker"}, False, Membership("s1", ADDED, 2, "41")
)


def test_a_prior_round_trips() -> None:
    elsewhere = ((7, Membership("s2", ADDED, 1, None)),)
    for prior in (Prior(FOUND), Prior(FOUND, elsewhere), CREATED):
        assert prior_from_json(prior_to_json(prior), FOUND.email) == prior


def test_an_untouched_membership_is_not_kept() -> None:
    stored = prior_from_json(prior_to_json(Prior(FOUND, membership_changed=False)), FOUND.email)
    assert stored == Prior(
        StoredContact(FOUND.email, "Jane", None, {"company": "Zylker"}, False, None), membership_changed=False
    )


def test_the_address_and_an_untouched_membership_are_not_stored() -> None:
    document = prior_to_json(Prior(FOUND, membership_changed=False))
    assert document == {
        "contact": {
            "first_name": "Jane",
            "last_name": None,
            "fields": {"company": "Zylker"},
            "deleted": False,
        }
    }
    assert prior_to_json(CREATED) == {"contact": None}
