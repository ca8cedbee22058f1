from __future__ import annotations

import pytest

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
