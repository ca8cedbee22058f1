"""Checks 1-3 of SPEC section 5 on one email address: empty, not a valid address, role address.

The address's normal form and syntax verdict are ``recruit_sync.addresses.normalise``'s (the one
normalisation every service shares; its fast path agrees with ``email_validator``, which
tests/test_email_rules.py checks). This module adds what only the import decides: a syntactically
valid address whose domain cannot exist or misspells a popular provider is invalid too
(typo_domains.py, cached per domain), and a role or group mailbox is refused.
"""

from __future__ import annotations

import os
from typing import Final

from recruit_sync.addresses import normalise
from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.importer.shipped_data import data_lines
from recruit_sync.importer.typo_domains import domain_problem


def _role_local_parts() -> frozenset[str]:
    """Local parts of role or group mailboxes (SPEC section 5, check 3), compared lower-cased, also after
    dropping a "+tag": public lists reviewed for personal names (data/role_local_parts.tsv and README.md),
    plus an organisation's own (``RECRUIT_SYNC_EXTRA_ROLE_WORDS``, comma-separated: ``careers,talent``)."""
    shipped = {line.split("\t")[0] for line in data_lines("role_local_parts.tsv")}
    extra = os.environ.get("RECRUIT_SYNC_EXTRA_ROLE_WORDS", "")
    return frozenset(shipped | {word.strip().lower() for word in extra.split(",") if word.strip()})


ROLE_LOCAL_PARTS: Final[frozenset[str]] = _role_local_parts()


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
    parts = normalise(text)
    if parts is None:
        return None, IgnoreReason.INVALID_PATTERN
    local, domain = parts
    normalised = f"{local}@{domain}"
    if domain_problem(domain) is not None:
        return normalised, IgnoreReason.INVALID_PATTERN
    if _is_role_local_part(local.lower()):
        return normalised, IgnoreReason.ROLE_ADDRESS
    return normalised, None


def _is_role_local_part(lowered: str) -> bool:
    return lowered in ROLE_LOCAL_PARTS or lowered.partition("+")[0] in ROLE_LOCAL_PARTS
