"""A contact as the store holds it (``StoredContact``), and the working copy a batch decides against. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recruit_sync.importer.parse import ParsedRecord


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


@dataclass(slots=True)
class Contact:
    """The batch's working copy of one contact: what the records before this one made of it."""

    email: str
    first_name: str | None
    last_name: str | None
    fields: dict[str, Any]
    deleted: bool
    membership: Membership | None  # on the target list; None when not on it
    joined: bool = False  # added to the target list by this batch

    @classmethod
    def from_stored(cls, stored: StoredContact) -> Contact:
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
        """The record's mapped fields would change the contact (only the fields it carries count)."""
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
