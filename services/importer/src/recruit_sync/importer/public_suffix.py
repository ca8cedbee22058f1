"""Where a domain's registrable name ends and its public suffix begins (``yahoo`` | ``co.uk``).

Rules are the ICANN section of the Public Suffix List (data/public_suffix_list_icann.dat, MPL-2.0), with
the list's own algorithm: the longest matching rule wins, ``*.ck`` matches any one label under ``ck``
and ``!www.ck`` is an exception to such a wildcard. Domains here are ASCII (IDNA) and lower-case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from recruit_sync.importer.shipped_data import data_lines


@dataclass(frozen=True, slots=True)
class SplitDomain:
    """``mail.yahoo.co.uk`` -> ``name="yahoo"``, ``suffix="co.uk"``; a bare suffix has ``name=None``."""

    name: str | None
    suffix: str

    @property
    def registrable(self) -> str | None:
        return None if self.name is None else f"{self.name}.{self.suffix}"

    @property
    def tld(self) -> str:
        return self.suffix.rpartition(".")[2]


def _load_rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(plain rules, parents of wildcard rules, exception rules) of the shipped list."""
    plain: set[str] = set()
    wildcard_parents: set[str] = set()
    exceptions: set[str] = set()
    for rule in data_lines("public_suffix_list_icann.dat", comment="//"):
        if rule.startswith("!"):
            exceptions.add(rule[1:])
        elif rule.startswith("*."):
            wildcard_parents.add(rule[2:])
        else:
            plain.add(rule)
    return frozenset(plain), frozenset(wildcard_parents), frozenset(exceptions)


_RULES, _WILDCARD_PARENTS, _EXCEPTIONS = _load_rules()
# Every delegated top-level domain ends some rule of the ICANN section (.za and .ck only have rules
# below them, such as co.za and *.ck).
TOP_LEVEL_DOMAINS: Final[frozenset[str]] = frozenset(
    rule.rpartition(".")[2] for rule in _RULES | _WILDCARD_PARENTS | _EXCEPTIONS
)


def split_domain(domain: str) -> SplitDomain:
    """The registrable name and public suffix of ``domain`` (an unknown TLD is its own suffix)."""
    labels = domain.split(".")
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        if candidate in _EXCEPTIONS:
            # "!www.ck": www.ck is a registrable domain under the suffix "ck".
            return _split_at(labels, start + 1)
        parent = ".".join(labels[start + 1 :])
        if candidate in _RULES or (parent and parent in _WILDCARD_PARENTS):
            return _split_at(labels, start)
    return _split_at(labels, len(labels) - 1)


def _split_at(labels: list[str], suffix_start: int) -> SplitDomain:
    name = labels[suffix_start - 1] if suffix_start > 0 else None
    return SplitDomain(name, ".".join(labels[suffix_start:]))
