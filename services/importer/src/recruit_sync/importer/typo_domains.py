"""Check 2's second half: a domain that cannot exist or is a likely misspelling of a popular mailbox provider.

The design leans hard against false positives (ignoring a real person costs more than letting one
mistyped address through; docs/adr/0006-email-classification.md):

- every exact member of the known mail domains (data/known_mail_domains.txt, about 4,500 real free-mail
  and provider domains) is valid, and so is any domain whose registrable part is one (mx.yahoo.co.uk);
- the top-level domain must exist (ICANN section of the Public Suffix List): ``gmail.con``, ``x.cmo``;
- only a short list of mass-market providers (data/typo_targets.tsv) are typo targets, and only for the
  endings they really use (``hotmial.fr`` is a typo because ``hotmail.fr`` exists; ``gmial.ai`` is not);
- the registrable name and the public suffix are judged separately: a typo in the name with a real
  ending of the provider (``gnail.com``), or the provider's exact name with an ending one edit from its
  .com/.net/.org (``gmail.co``, ``yahoo.om``);
- names of four letters or fewer are never compared (``hey``, ``cox``, ``aol``, ``mail`` collide with
  real words and companies); 5-7 letters allow one edit, 8 or more two (restricted Damerau-Levenshtein,
  so a swap of neighbours is one edit);
- a different first letter usually means a different word (``wahoo``, ``email``, ``cloud``): there we
  accept only an extra letter typed before it, a swap with the second letter or a neighbouring key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from recruit_sync.importer.public_suffix import TOP_LEVEL_DOMAINS, split_domain
from recruit_sync.importer.shipped_data import data_lines

# RFC 2606 reserves .example for documentation; email_validator accepts it and so do we (fixtures use it).
_RESERVED_FOR_DOCUMENTATION: Final = frozenset({"example"})
# Endings suggested when a TLD does not exist.
_COMMON_ENDINGS: Final = ("com", "net", "org", "edu", "gov", "info")
_GENERIC_ENDINGS: Final = frozenset({"com", "net", "org"})
_MIN_COMPARED_LENGTH: Final = 5
_TWO_EDITS_FROM_LENGTH: Final = 8
_KEYBOARD_ROWS: Final = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_ROW_OFFSETS: Final = (0.0, 0.5, 0.75, 1.25)  # stagger of each row on a QWERTY keyboard


@dataclass(frozen=True, slots=True)
class DomainProblem:
    """Why a domain is refused, and the domain the address was probably meant to have."""

    message: str
    suggestion: str | None = None


KNOWN_MAIL_DOMAINS: Final[frozenset[str]] = frozenset(data_lines("known_mail_domains.txt"))
TYPO_TARGETS: Final[frozenset[str]] = frozenset(
    line.split("\t")[0] for line in data_lines("typo_targets.tsv")
)


def _target_endings() -> dict[str, frozenset[str]]:
    """Each typo target's real endings, from the known domains: hotmail -> {com, fr, co.uk, ...}."""
    endings: dict[str, set[str]] = {name: set() for name in TYPO_TARGETS}
    for domain in KNOWN_MAIL_DOMAINS:
        split = split_domain(domain)
        if split.name in endings and split.registrable == domain:
            endings[split.name].add(split.suffix)
    return {name: frozenset(suffixes) for name, suffixes in endings.items()}


@dataclass(frozen=True, slots=True)
class _Target:
    name: str
    edit_limit: int
    letters: frozenset[str]  # each edit brings at most one letter the target lacks: a cheap pre-filter


def _edit_limit(target: str) -> int:
    if len(target) < _MIN_COMPARED_LENGTH:
        return 0
    return 2 if len(target) >= _TWO_EDITS_FROM_LENGTH else 1


_ENDINGS_BY_TARGET: Final = _target_endings()
_TARGETS_BY_ENDING: Final[dict[str, tuple[_Target, ...]]] = {
    suffix: tuple(
        _Target(name, _edit_limit(name), frozenset(name))
        for name, suffixes in sorted(_ENDINGS_BY_TARGET.items())
        if suffix in suffixes and _edit_limit(name) > 0
    )
    for suffix in {s for suffixes in _ENDINGS_BY_TARGET.values() for s in suffixes}
}


def _key_positions() -> dict[str, tuple[float, int]]:
    return {
        key: (column + offset, row)
        for row, (keys, offset) in enumerate(zip(_KEYBOARD_ROWS, _ROW_OFFSETS, strict=True))
        for column, key in enumerate(keys)
    }


_KEY_POSITIONS: Final = _key_positions()


@lru_cache(maxsize=1 << 16)
def domain_problem(domain: str) -> DomainProblem | None:
    """None for a domain that may well be real; else why not. ``domain``: ASCII, lower-case, dotted.

    Cached: real data repeats a few thousand domains, so the work below runs once per domain.
    """
    if domain in KNOWN_MAIL_DOMAINS:
        return None
    split = split_domain(domain)
    if split.tld not in TOP_LEVEL_DOMAINS and split.tld not in _RESERVED_FOR_DOCUMENTATION:
        return _no_such_ending(split.name, split.tld)
    if split.name is None or split.registrable in KNOWN_MAIL_DOMAINS:
        return None
    meant = provider_typo(split.name, split.suffix)
    if meant is None:
        return None
    return DomainProblem(f"{split.registrable} looks like a misspelling of {meant}", meant)


def provider_typo(name: str, suffix: str) -> str | None:
    """The popular provider domain that ``name``.``suffix`` misspells, if it is a likely misspelling.

    Ignores the known-domain list: callers check that first.
    """
    own_endings = _ENDINGS_BY_TARGET.get(name)
    if own_endings is not None:
        if len(name) < _MIN_COMPARED_LENGTH or suffix in own_endings:
            return None
        # Only near misses of .com/.net/.org (gmail.co, yahoo.om): the providers' country endings are
        # too many to list completely, and hotmail.cl is as likely real as a typo of hotmail.ca.
        ending = _nearest(suffix, own_endings & _GENERIC_ENDINGS, limit=1)
        return None if ending is None else f"{name}.{ending}"
    if len(name) < _MIN_COMPARED_LENGTH - 1:
        return None  # a four-letter target is never compared, so nothing shorter than 4 can be near one
    letters = frozenset(name)
    best: tuple[int, str] | None = None
    for target in _TARGETS_BY_ENDING.get(suffix, ()):
        limit = target.edit_limit
        if (
            abs(len(name) - len(target.name)) > limit
            or len(letters - target.letters) > limit
            or not _first_letter_plausible(name, target.name)
        ):
            continue
        distance = osa_distance(name, target.name)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, target.name)
    return None if best is None else f"{best[1]}.{suffix}"


def osa_distance(a: str, b: str) -> int:
    """Restricted Damerau-Levenshtein (optimal string alignment): edits, counting a neighbour swap as one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _first_letter_plausible(name: str, target: str) -> bool:
    """Same first letter, a letter typed before it, the first two swapped, or a neighbouring key."""
    if name[0] == target[0] or name[1:2] == target[0]:
        return True
    return (name[0] == target[1] and name[1] == target[0]) or _neighbouring_keys(name[0], target[0])


def _neighbouring_keys(a: str, b: str) -> bool:
    if a not in _KEY_POSITIONS or b not in _KEY_POSITIONS:
        return False
    (ax, arow), (bx, brow) = _KEY_POSITIONS[a], _KEY_POSITIONS[b]
    return abs(arow - brow) <= 1 and abs(ax - bx) <= 1


def _nearest(word: str, candidates: frozenset[str] | tuple[str, ...], limit: int) -> str | None:
    scored = sorted((osa_distance(word, candidate), candidate) for candidate in candidates)
    return scored[0][1] if scored and scored[0][0] <= limit else None


def _no_such_ending(name: str | None, tld: str) -> DomainProblem:
    ending = _nearest(tld, _COMMON_ENDINGS, limit=1)
    suggestion = None
    if name is not None and ending is not None:
        suggestion = provider_typo(name, ending) or f"{name}.{ending}"
    hint = f": did you mean {suggestion}?" if suggestion else ""
    return DomainProblem(f"there is no top-level domain .{tld}{hint}", suggestion)
