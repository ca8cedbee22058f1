"""One normal form of an email address, and the key a contact is found by (SPEC section 1).

Normal form: the domain lower-cased and IDNA-encoded (ASCII), the local part kept as given, so that
``Jane@BÜCHER.de`` and ``Jane@xn--bcher-kva.de`` are one address. The key is the normal form
lower-cased: local parts compare case-insensitively. Nothing provider-specific: Gmail's dots and
"+tags" stay part of the address.

Every place that keys an address uses ``email_key`` (the importer's contact store and suppressions,
history's ``explain``), so an address is found whatever its case or the Unicode form of its domain.

``normalise`` is on the importer's hot path (every fetched record): a strict regex accepts the ordinary
address (ASCII dot-atom local part, ASCII host names, a TLD ending in a letter) and builds the normal
form itself; everything else (Unicode, IDNA, quoted parts, oddities) goes to ``email_validator``,
about a hundred times slower. The regex accepts only addresses that ``email_validator`` accepts with
the same normal form (the importer's tests check that), so the two paths never disagree.
"""

from __future__ import annotations

import re
from typing import Final

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z0-9][A-Za-z0-9-]{0,61})?[A-Za-z]"
# The ordinary address. Deliberately narrower than email_validator: no "--" in the domain (IDNA rules
# apply there), a TLD ending in a letter, at most 64 characters before the @ (checked below).
_PLAIN_ADDRESS = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@((?:{_LABEL}\.)+{_TLD})")
_MAX_LOCAL_LENGTH: Final = 64
# Top-level names email_validator refuses as not globally deliverable; such addresses take the slow path.
_SPECIAL_USE_TLDS: Final = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_MAX_ADDRESS_LENGTH: Final = 254
_CASE_INSENSITIVE_MAILBOXES: Final = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def normalise(text: str) -> tuple[str, str] | None:
    """(local part, domain) of the address's normal form, or None when ``text`` (already stripped) is
    not a valid address."""
    match = _PLAIN_ADDRESS.fullmatch(text)
    if match is not None and len(text) <= _MAX_ADDRESS_LENGTH and len(match[1]) <= _MAX_LOCAL_LENGTH:
        local, domain = match.groups()
        domain = domain.lower()
        if "--" not in domain and domain.rpartition(".")[2] not in _SPECIAL_USE_TLDS:
            # email_validator lower-cases the RFC 2142 mailbox names (info@, postmaster@, ...); do the same.
            if local.lower() in _CASE_INSENSITIVE_MAILBOXES:
                local = local.lower()
            return local, domain
    if "@" not in text:
        return None
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.local_part, checked.ascii_domain


def key_of_normalised(address: str) -> str:
    """The key of an address already in normal form (the importer has it at hand: no second parse)."""
    return address.lower()


def email_key(text: str | None) -> str | None:
    """The key ``text`` is found by: its normal form lower-cased; text that is not an address (history
    records those too, e.g. ``jane@aol``) is keyed as given, trimmed and lower-cased. None for blanks."""
    if text is None:
        return None
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.isascii():
        # What history keys by the thousand. The normal form of an ASCII address differs from it only in
        # case (no IDNA to apply; quoted local parts are refused), and text that is no address is keyed
        # lower-cased anyway: no need to parse it (the tests compare both ways).
        return stripped.lower()
    parts = normalise(stripped)
    if parts is None:
        return stripped.lower()
    return key_of_normalised(f"{parts[0]}@{parts[1]}")
