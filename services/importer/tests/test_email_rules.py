"""Checks 1-3 of SPEC section 5 on single addresses, and the agreement of the shared normalisation's
fast path (``recruit_sync.addresses.normalise``) with email_validator."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from recruit_sync.addresses import key_of_normalised
from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.importer.email_rules import ROLE_LOCAL_PARTS, classify_email
from recruit_sync.importer.typo_domains import domain_problem

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
    ("jöhn@bücher.de", "jöhn@xn--bcher-kva.de", None),  # internationalised: slow path, domain IDNA-encoded
    ("jane@BÜCHER.de", "jane@xn--bcher-kva.de", None),
    ("jane@xn--bcher-kva.de", "jane@xn--bcher-kva.de", None),  # the same contact as the line above
    ("Jane.Doe@gmail.com", "Jane.Doe@gmail.com", None),  # nothing provider-specific: dots stay
    ("jane@analytical.example", "jane@analytical.example", None),  # RFC 2606 documentation domain
    ("patriciazylker.com", None, INVALID),  # SPEC section 5's examples
    ("jane@aol", None, INVALID),
    ("ted@zylkercom", None, INVALID),
    ("john@gnail.com", "john@gnail.com", INVALID),  # a likely typo keeps its normalised form
    ("person@gmial.com", "person@gmial.com", INVALID),
    ("x@hotmial.com", "x@hotmial.com", INVALID),
    ("y@yahooo.cmo", "y@yahooo.cmo", INVALID),
    ("z@gmail.con", "z@gmail.con", INVALID),
    ("Jane@Company.CMO", "Jane@company.cmo", INVALID),  # no such top-level domain, whoever's it is
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
    ("hr@zylker.com", "hr@zylker.com", ROLE),
    ("info@gnail.com", "info@gnail.com", INVALID),  # check 2 comes before check 3
    ("sales.jane@zylker.com", "sales.jane@zylker.com", None),  # exact local parts only, no prefixes
    ("jobseeker@zylker.com", "jobseeker@zylker.com", None),
    ("allison@zylker.com", "allison@zylker.com", None),  # Constant Contact's "starts with all" is not used
]


@pytest.mark.parametrize(("raw", "normalised", "reason"), CASES)
def test_classify_email(raw: str | None, normalised: str | None, reason: IgnoreReason | None) -> None:
    assert classify_email(raw) == (normalised, reason)


def _key(raw: str) -> str:
    """The contact's key, as ``parse.py`` takes it from a classified address."""
    normalised, _ = classify_email(raw)
    assert normalised is not None
    return key_of_normalised(normalised)


def test_local_parts_compare_case_insensitively() -> None:
    first, _ = classify_email("Jane.Doe@Example.com")
    second, _ = classify_email("jane.doe@EXAMPLE.COM")
    assert first != second
    assert _key("Jane.Doe@Example.com") == _key("jane.doe@EXAMPLE.COM") == "jane.doe@example.com"


def test_unicode_and_punycode_domains_are_one_contact() -> None:
    assert {_key(raw) for raw in ("Jane@Bücher.DE", "jane@xn--bcher-kva.de")} == {"jane@xn--bcher-kva.de"}


def test_gmail_dots_and_tags_are_different_contacts() -> None:
    raws = ("jane.doe@gmail.com", "janedoe@gmail.com", "jane.doe+x@gmail.com")
    assert len({_key(raw) for raw in raws}) == 3


def test_role_list_holds_the_briefs_names() -> None:
    briefed = {"info", "administrator", "admin", "careers", "jobs", "service", "support", "sales"}
    briefed |= {"contact", "hello", "office", "hr", "marketing", "postmaster", "webmaster", "noreply"}
    briefed |= {"no-reply", "abuse", "billing", "help"}
    assert briefed <= ROLE_LOCAL_PARTS


# Common given names across the regions Recruit serves, and surnames used alone as mailbox names.
COMMON_NAMES = """
    john maria alex sam kim james mary robert patricia michael jennifer william linda david elizabeth
    richard barbara joseph susan thomas jessica charles sarah daniel karen matthew nancy anthony lisa
    mark betty paul sandra steven ashley andrew emily joshua donna kevin michelle brian carol george
    amanda edward melissa ronald deborah timothy stephanie jason rebecca jeff laura ryan sharon jacob
    cynthia gary kathleen nicholas amy eric angela jonathan anna larry ruth justin brenda scott pamela
    frank nicole benjamin katherine gregory samantha raymond christine patrick emma jack chris jo ali
    mohammed fatima ahmed aisha wei li ming yan hiroshi yuki sakura kenji raj priya amit anil sunita
    deepak ravi arjun neha pooja rahul vijay lakshmi olga ivan sergei natasha dmitri hans klaus petra
    jurgen anke pierre marie jean luc sophie camille lucas juan jose carlos ana lucia pedro miguel
    sofia giulia marco luca francesca lars per erik ingrid sven nils astrid liam noah oliver ava mia
    chloe zoe leo max ben tom dan don ray ann eve ian kai lee jay roy sue tim tina nina dev paris
    sydney india alexa alla arin denver france iana job reg brand gardner pastor mayor seo china alpha
    smith jones brown wilson taylor garcia martinez rodriguez nguyen tran chen wang zhang liu patel
    singh kumar sharma muller schmidt schneider fischer rossi russo dubois martin bernard kowalski
""".split()


def test_common_names_are_not_role_addresses() -> None:
    named_roles = sorted(name for name in COMMON_NAMES if classify_email(f"{name}@zylker.com")[1] is ROLE)
    assert named_roles == []


def test_two_letter_roles_are_only_unmistakable_functions() -> None:
    """Two letters are as likely a person's initials (md@, pm@, ca@), except for these departments."""
    assert {part for part in ROLE_LOCAL_PARTS if len(part) == 2} == {"hi", "hq", "hr", "it", "pr", "qa", "rh"}


def _reference(address: str) -> str | None:
    """email_validator's normalised form, with the domain in ASCII as ours keeps it."""
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return f"{checked.local_part}@{checked.ascii_domain}"


_ADDRESS_CHARS = st.sampled_from(list("abcXYZ019.-_+@'!#$%&*/=?^`{|}~ \"(),:;<>[]\\é"))
_PLAIN_ISH = st.from_regex(r"[a-zA-Z0-9._+'-]{1,20}@[a-zA-Z0-9.-]{1,20}\.[a-zA-Z0-9-]{1,6}", fullmatch=True)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_PLAIN_ISH, st.text(_ADDRESS_CHARS, min_size=1, max_size=30)))
def test_fast_path_agrees_with_email_validator(address: str) -> None:
    """Whatever path an address takes, its syntax verdict and normalised form are email_validator's;
    a syntactically valid address is refused as invalid only for its domain."""
    normalised, reason = classify_email(address)
    if reason is EMPTY:
        assert address.strip() == ""
    elif normalised is None:
        assert reason is INVALID and _reference(address.strip()) is None
    else:
        assert normalised == _reference(address.strip())
        domain_refused = domain_problem(normalised.rpartition("@")[2]) is not None
        assert (reason is INVALID) == domain_refused


def test_an_organisation_adds_role_words_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from recruit_sync.importer import email_rules

    assert "hiringdesk" not in email_rules._role_local_parts()
    monkeypatch.setenv("RECRUIT_SYNC_EXTRA_ROLE_WORDS", " HiringDesk, peoplecrew ,,")
    words = email_rules._role_local_parts()
    assert {"hiringdesk", "peoplecrew"} <= words
    assert words > email_rules.ROLE_LOCAL_PARTS  # the shipped list stays
