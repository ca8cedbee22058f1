"""The addresses in an uploaded suppression file (pure): a CSV with an ``email`` column, or one address
per line. Which entries are really addresses is the importer's call (it answers them as ``invalid``)."""

from __future__ import annotations

from recruit_sync.addresses import files


def addresses_in_file(content: bytes, largest: int) -> list[str]:
    """The entries of an uploaded file of at most ``largest`` bytes; ValueError names what is wrong
    with it (too large, not UTF-8 text, a CSV without an email column)."""
    if len(content) > largest:
        raise ValueError(f"larger than {largest:,} bytes; split it")
    try:
        text = content.decode("utf-8-sig")  # -sig: spreadsheet exports often start with a BOM
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    return addresses_in(text)


def addresses_in(text: str) -> list[str]:
    """Every entry of the file, blank cells left out (``recruit_sync.addresses.files``)."""
    return [entry for _, entry in files.entries(text) if entry]
