"""What the store knows about a batch's emails and record ids: the input of ``decide``. Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.importer.claims import Claim
from recruit_sync.importer.contacts import Membership, StoredContact


@dataclass(frozen=True)
class Facts:
    """Read inside the batch's transaction (``store.facts.read_facts``), for the emails past checks 1-3
    and the deleted record ids."""

    contacts: Mapping[str, StoredContact] = field(default_factory=dict)  # by email key
    suppressed: Mapping[str, frozenset[IgnoreReason]] = field(default_factory=dict)  # by email key
    claims: Mapping[str, Claim] = field(default_factory=dict)  # by email key: earlier batches of the run
    # Recruit record id -> email key (this module), for deleted records and for live records whose
    # contact exists; a record missing here is linked (again) when it places a contact
    links: Mapping[str, str] = field(default_factory=dict)
    # other lists' memberships of the deleted records' contacts (read for remove_from_org only)
    elsewhere: Mapping[str, tuple[tuple[int, Membership], ...]] = field(default_factory=dict)
