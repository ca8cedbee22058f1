"""Checks 1-3 of SPEC section 5 on single addresses, and the fast path's agreement with email_validator."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.importer.email_rules import ROLE_LOCAL_PARTS, classify_email, email_key

EMPTY = IgnoreReason.EMPTY_EMAIL
INVALID = IgnoreReason.INVALID_PATTERN
ROLE = IgnoreReason.ROLE_ADDRESS

CASES = [
    # (raw, normalised, reason)
    (None, None, EMPTY),
    ("", None, EMPTY),
    ("   ", None, EMPTY),
    ("\t\n", None, EMPTY),
    ("jane@example.com", "jane@example.com", None),
    ("Jane.Doe@Example.COM", "Jane.Doe@example.com", None),  # domain lower-cased, local part kept
    ("  jane@zylker.com \n", "jane@zylker.com", None),  # stray whitespace from Recruit data
    ("first.last+tag@sub.example.co.in", "first.last+tag@sub.example.co.in", None),
    ("o'brien@example.ie", "o'brien@example.ie", None),
    ("a_b-c@x-y.io", "a_b-c@x-y.io", None),
    ("jöhn@bücher.de", "jöhn@bücher.de", None),  # internationalised: slow path
    ("user@BÜCHER.de", "user@bücher.de", None),
    ("user@xn--bcher-kva.de", "user@bücher.de", None),  # IDNA decoded to the same contact
    ("patriciazylker.com", None, INVALID),  # SPEC section 5's examples
    ("jane@aol", None, INVALID),
    ("ted@zylkercom", None, INVALID),
    ("@example.com", None, INVALID),
    ("jane@", None, INVALID),
    ("jane@@example.com", None, INVALID),
    ("jane doe@example.com", None, INVALID),
    (".jane@example.com", None, INVALID),
    ("jane.@example.com", None, INVALID),
    ("ja..ne@example.com", None, INVALID),
    ("jane@example..com", None, INVALID),
    ("jane@-example.com", None, INVALID),
    ("jane@example.com.", None, INVALID),
    ("jane@exa_mple.com", None, INVALID),
    ("jane@127.0.0.1", None, INVALID),
    ("jane@localhost", None, INVALID),
    ("jane@intranet.local", None, INVALID),  # special-use domain
    ("Jane <jane@example.com>", None, INVALID),  # display names are not addresses
    ('"jane doe"@example.com', None, INVALID),  # quoted local parts are refused
    ("a" * 250 + "@example.com", None, INVALID),  # longer than 254 characters
    ("info@zylker.com", "info@zylker.com", ROLE),  # SPEC / seed examples
    ("INFO@Zylker.com", "info@zylker.com", ROLE),  # RFC 2142 names are case-insensitive
    ("administrator@zylker.com", "administrator@zylker.com", ROLE),
    ("Careers@zylker.com", "Careers@zylker.com", ROLE),
    ("service@zylker.com", "service@zylker.com", ROLE),
    ("support+billing@zylker.com", "support+billing@zylker.com", ROLE),
    ("no-reply@zylker.com", "no-reply@zylker.com", ROLE),
    ("noreply@zylker.com", "noreply@zylker.com", ROLE),
    ("hr@zylker.com", "hr@zylker.com", ROLE),
    ("information@zylker.com", "information@zylker.com", None),  # a person may well be called that
    ("sales.jane@zylker.com", "sales.jane@zylker.com", None),
    ("jobseeker@zylker.com", "jobseeker@zylker.com", None),
]


@pytest.mark.parametrize(("raw", "normalised", "reason"), CASES)
def test_classify_email(raw: str | None, normalised: str | None, reason: IgnoreReason | None) -> None:
    assert classify_email(raw) == (normalised, reason)


def test_email_key_compares_local_parts_case_insensitively() -> None:
    first, _ = classify_email("Jane.Doe@Example.com")
    second, _ = classify_email("jane.doe@EXAMPLE.COM")
    assert first != second and first is not None and second is not None
    assert email_key(first) == email_key(second) == "jane.doe@example.com"


def test_role_list_holds_the_briefs_names() -> None:
    briefed = {"info", "administrator", "admin", "careers", "jobs", "service", "support", "sales"}
    briefed |= {"contact", "hello", "office", "hr", "marketing", "postmaster", "webmaster", "noreply"}
    briefed |= {"no-reply", "abuse", "billing", "help"}
    assert briefed <= ROLE_LOCAL_PARTS


def _reference(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


_ADDRESS_CHARS = st.sampled_from(list("abcXYZ019.-_+@'!#$%&*/=?^`{|}~ \"(),:;<>[]\\é"))
_PLAIN_ISH = st.from_regex(r"[a-zA-Z0-9._+'-]{1,20}@[a-zA-Z0-9.-]{1,20}\.[a-zA-Z0-9-]{1,6}", fullmatch=True)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_PLAIN_ISH, st.text(_ADDRESS_CHARS, min_size=1, max_size=30)))
def test_fast_path_agrees_with_email_validator(address: str) -> None:
    """Whatever path an address takes, the verdict and normalised form are email_validator's."""
    normalised, reason = classify_email(address)
    if reason in (EMPTY, INVALID):
        assert address.strip() == "" or _reference(address.strip()) is None
    else:
        assert normalised == _reference(address.strip())
