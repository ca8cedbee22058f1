"""The lists shipped in data/ (sources and licences: data/README.md), read once at import."""

from __future__ import annotations

from importlib.resources import files


def data_lines(name: str, comment: str = "#") -> list[str]:
    """The non-blank, non-comment lines of data/``name``, stripped."""
    text = files("recruit_sync.importer").joinpath("data", name).read_text("utf-8")
    return [line for line in map(str.strip, text.splitlines()) if line and not line.startswith(comment)]
