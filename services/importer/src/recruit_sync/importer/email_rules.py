"""Checks 1-3 of SPEC section 5 on one email address: empty, not a valid address, role address.

``classify_email`` is on the hot path (every fetched record), so a strict pre-check regex accepts the
ordinary address (ASCII dot-atom local part, ASCII host names, a TLD ending in a letter) and builds the
normalised form itself; everything else (Unicode, IDNA, quoted parts, oddities) goes to
``email_validator``, about a hundred times slower. The regex accepts only addresses that
``email_validator`` accepts with the same normalised form (tests/test_email_rules.py checks that), so
the two paths never disagree. A syntactically valid address whose domain cannot exist or misspells a
popular provider is invalid too (typo_domains.py, cached per domain).

Normalised form: domain lower-cased and IDNA-encoded (ASCII), local part kept as given, so that
``user@BÜCHER.de`` and ``user@xn--bcher-kva.de`` are one contact. The contact's identity,
``email_key``, is the whole normalised address lower-cased: local parts compare case-insensitively
(SPEC section 1). Nothing provider-specific: Gmail's dots and "+tags" stay part of the address.
"""

from __future__ import annotations

import re
from typing import Final

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.importer.shipped_data import data_lines
from recruit_sync.importer.typo_domains import domain_problem, missing_dot

# Local parts of role or group mailboxes (SPEC section 5, check 3), compared lower-cased, also after
# dropping a "+tag": public lists reviewed for personal names (data/role_local_parts.tsv and README.md).
ROLE_LOCAL_PARTS: Final[frozenset[str]] = frozenset(
    line.split("\t")[0] for line in data_lines("role_local_parts.tsv")
)

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

    Surrounding whitespace is dropped (Recruit data carries stray spaces). An address refused for its
    domain (a likely typo) or as a role address is returned normalised with its reason, so the outcome
    can show the address it refused; one that is not an address at all comes back as None.
    """
    if raw is None:
        return None, IgnoreReason.EMPTY_EMAIL
    text = raw.strip()
    if not text:
        return None, IgnoreReason.EMPTY_EMAIL
    parts = _normalise(text)
    if parts is None:
        return None, IgnoreReason.INVALID_PATTERN
    local, domain = parts
    normalised = f"{local}@{domain}"
    if domain_problem(domain) is not None:
        return normalised, IgnoreReason.INVALID_PATTERN
    if _is_role_local_part(local.lower()):
        return normalised, IgnoreReason.ROLE_ADDRESS
    return normalised, None


def explain_email(raw: str | None) -> str | None:
    """Why checks 1-3 ignore ``raw``, in a sentence for the admin; None when it passes them."""
    normalised, reason = classify_email(raw)
    if reason is IgnoreReason.EMPTY_EMAIL:
        return "the email address is empty"
    if reason is IgnoreReason.ROLE_ADDRESS:
        return f"{normalised} is a role or group address, not a person's"
    if reason is IgnoreReason.INVALID_PATTERN:
        if normalised is not None:
            problem = domain_problem(normalised[normalised.rindex("@") + 1 :])
            return None if problem is None else problem.message
        return _syntax_problem((raw or "").strip())
    return None


def email_key(normalised: str) -> str:
    """The contact's identity: the normalised address, compared case-insensitively."""
    return normalised.lower()


def is_role_address(normalised: str) -> bool:
    return _is_role_local_part(normalised.rpartition("@")[0].lower())


def _is_role_local_part(lowered: str) -> bool:
    return lowered in ROLE_LOCAL_PARTS or lowered.partition("+")[0] in ROLE_LOCAL_PARTS


def _normalise(text: str) -> tuple[str, str] | None:
    """(local part, domain) of the normalised address, or None when it is not a valid address."""
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


def _syntax_problem(text: str) -> str:
    """The reason an address failed the syntax check, naming a glued-on ending when there is one."""
    domain = text.rpartition("@")[2].lower()
    if "@" in text and domain and "." not in domain:
        glued = missing_dot(domain)
        if glued is not None:
            return f"the domain {domain} has no dot: did you mean {glued}?"
        return f"the domain {domain} has no ending such as .com"
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"not a valid email address: {exc}"
    return "not a valid email address"
