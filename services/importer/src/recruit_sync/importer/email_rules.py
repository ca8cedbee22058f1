"""Checks 1-3 of SPEC section 5 on one email address: empty, not a valid address, role address.

``classify_email`` is on the hot path (every fetched record), so a strict pre-check regex accepts the
ordinary address (ASCII dot-atom local part, ASCII host names, a TLD ending in a letter) and builds the
normalised form itself; everything else (Unicode, IDNA, quoted parts, oddities) goes to
``email_validator``, about a hundred times slower. The regex accepts only addresses that
``email_validator`` accepts with the same normalised form (tests/test_email_rules.py checks that), so
the two paths never disagree.

Normalised form: domain lower-cased (IDNA-decoded to Unicode), local part kept as given. The contact's
identity, ``email_key``, is the whole normalised address lower-cased: local parts compare
case-insensitively (SPEC section 1).
"""

from __future__ import annotations

import re
from typing import Final

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from recruit_sync.contracts.events import IgnoreReason

# Local parts of role or group mailboxes (SPEC section 5, check 3), compared lower-cased after dropping
# a "+tag". A later issue replaces this with a maintained list; keep it the one place that knows them.
ROLE_LOCAL_PARTS: Final[frozenset[str]] = frozenset(
    {
        "abuse", "accounting", "accounts", "admin", "administrator", "all", "billing", "careers",
        "compliance", "contact", "contactus", "customerservice", "devnull", "dns", "enquiries", "everyone",
        "feedback", "finance", "ftp", "hello", "help", "helpdesk", "hostmaster", "hr", "info", "inoc",
        "investorrelations", "ispfeedback", "ispsupport", "jobs", "list", "list-request", "mailer-daemon",
        "maildaemon", "marketing", "media", "news", "no-reply", "noc", "noreply", "do-not-reply",
        "donotreply", "null", "office", "orders", "phish", "phishing", "postmaster", "press", "privacy",
        "recruiting", "recruitment", "registrar", "remove", "root", "sales", "security", "service",
        "spam", "subscribe", "support", "sysadmin", "team", "tech", "undisclosed-recipients",
        "unsubscribe", "usenet", "uucp", "webmaster", "www",
    }
)  # fmt: skip

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


def classify_email(raw: str | None) -> tuple[str | None, IgnoreReason | None]:
    """``(normalised, None)`` for an importable address, else ``(normalised or None, reason)``.

    Surrounding whitespace is dropped (Recruit data carries stray spaces). A role address is returned
    normalised with its reason, so the outcome can show the address it refused.
    """
    if raw is None:
        return None, IgnoreReason.EMPTY_EMAIL
    text = raw.strip()
    if not text:
        return None, IgnoreReason.EMPTY_EMAIL
    normalised = _normalise(text)
    if normalised is None:
        return None, IgnoreReason.INVALID_PATTERN
    # Check 2's second half (a likely typo of a common domain) belongs here, before the role check.
    if is_role_address(normalised):
        return normalised, IgnoreReason.ROLE_ADDRESS
    return normalised, None


def email_key(normalised: str) -> str:
    """The contact's identity: the normalised address, compared case-insensitively."""
    return normalised.lower()


def is_role_address(normalised: str) -> bool:
    local = normalised.rpartition("@")[0].lower()
    return local in ROLE_LOCAL_PARTS or local.partition("+")[0] in ROLE_LOCAL_PARTS


def _normalise(text: str) -> str | None:
    """The normalised address, or None when it is not a valid address."""
    match = _PLAIN_ADDRESS.fullmatch(text)
    if match is not None and len(text) <= _MAX_ADDRESS_LENGTH and len(match[1]) <= _MAX_LOCAL_LENGTH:
        local, domain = match.groups()
        domain = domain.lower()
        if "--" not in domain and domain.rpartition(".")[2] not in _SPECIAL_USE_TLDS:
            # email_validator lower-cases the RFC 2142 mailbox names (info@, postmaster@, ...); do the same.
            if local.lower() in _CASE_INSENSITIVE_MAILBOXES:
                local = local.lower()
            return f"{local}@{domain}"
    if "@" not in text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
