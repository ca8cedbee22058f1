from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recruit_sync.addresses import email_key, normalise


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("Jane@BÜCHER.de", "jane@xn--bcher-kva.de"),
        ("jane@xn--bcher-kva.de", "jane@xn--bcher-kva.de"),
        ("  JANE@Bücher.DE ", "jane@xn--bcher-kva.de"),
        ("Mary.Major@Example.COM", "mary.major@example.com"),
        ("jane@aol", "jane@aol"),  # not an address: keyed as given, so explain still finds it
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_an_address_has_one_key_whatever_its_case_or_the_unicode_form_of_its_domain(
    given: str | None, key: str | None
) -> None:
    assert email_key(given) == key


def test_the_normal_form_keeps_the_local_part_and_encodes_the_domain() -> None:
    assert normalise("Jane.Doe@BÜCHER.de") == ("Jane.Doe", "xn--bcher-kva.de")
    assert normalise("Jane.Doe@Example.COM") == ("Jane.Doe", "example.com")
    assert normalise("INFO@example.com") == ("info", "example.com")  # RFC 2142 mailbox names
    assert normalise("not an address") is None


def test_the_key_of_a_normal_form_is_itself_lower_cased() -> None:
    local, domain = normalise("Jane@BÜCHER.de") or ("", "")
    assert email_key(f"{local}@{domain}") == email_key("Jane@BÜCHER.de")


def _key_through_normalise(text: str) -> str:
    """``email_key`` without its ASCII shortcut: the normal form lower-cased, else the text."""
    stripped = text.strip()
    parts = normalise(stripped)
    return stripped.lower() if parts is None else f"{parts[0]}@{parts[1]}".lower()


ASCII_ODDITIES = [
    "Jane@Example.COM", "a.b-c+tag@sub.example.co.uk", "INFO@Example.com", "x@y", "a@b.c", "a@[1.2.3.4]",
    "a@localhost", "a@example.test", "a@x.com.", ".a@x.com", "a.@x.com", "a..b@x.com", "a@-x.com",
    "a@x--y.com", "\"Jane\"@x.com", "a\\\\b@x.com", "a@xn--bcher-kva.de", "A@XN--BCHER-KVA.DE",
    "a b@x.com", "(c)a@x.com", "a@x.com (c)",
    "@x.com", "a@", "a@@x.com", "a@x_y.com", "a@123.com", "a@x.123", "postmaster@X.ORG",
    f"{'a' * 65}@x.com", f"a@{'b' * 250}.com", "mailer-daemon@Example.Com", "a!#$%&'*+/=?^_`{|}~-@x.io",
]  # fmt: skip


@pytest.mark.parametrize("text", ASCII_ODDITIES)
def test_an_ascii_address_is_keyed_as_its_normal_form_would_be(text: str) -> None:
    assert email_key(text) == _key_through_normalise(text)


@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
        lambda s: s + "@x.Com"
    )
)
@settings(max_examples=500, deadline=None)
def test_any_ascii_text_is_keyed_as_its_normal_form_would_be(text: str) -> None:
    assert email_key(text) == _key_through_normalise(text)
