"""Files the user hands the CLI: JSON specs and patches, and address lists for the suppression registry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recruit_sync.addresses import files
from recruit_sync.cli.client import CliError


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: spreadsheet exports often start with a BOM
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it: {exc.strerror}") from None


def read_json(path: Path) -> Any:
    """The JSON document in ``path``; a syntax error names the file, line and column."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    value = read_json(path)
    if not isinstance(value, dict):
        raise CliError(f"{path}: {what} must be a JSON object, not {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


@dataclass
class AddressFile:
    emails: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one message per line that was not an address


def parse_addresses(text: str, source: str) -> AddressFile:
    """One address per line, or CSV whose header has an ``email`` column; blank and ``#`` lines skipped.

    A line that is not an address is reported in ``skipped`` and does not stop the others.
    """
    result = AddressFile()
    try:
        values = files.entries(text)
    except files.NoEmailColumn as exc:
        raise CliError(f"{source}: {exc}") from None
    for number, value in values:
        if _looks_like_address(value):
            result.emails.append(value)
        else:
            result.skipped.append(f"{source}: line {number}: {value!r} is not an email address, skipped")
    return result


def _looks_like_address(value: str) -> bool:
    # The importer judges addresses properly; this only keeps stray text out of the registry.
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() for c in value)
