"""Where a refusal's message goes on a page (pure).

The models, the API and the scheduler all refuse with one line, ``key.path: problem``, several problems
joined by ``; `` (``describe_validation_error``). The console shows each problem beside the field or
section that its path names (the closest enclosing one on the page); a problem that names none of
them, or no key at all, goes above the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

GENERAL = ""  # the key for problems shown above the form
Problems = dict[str, list[str]]  # problems by the name of the field (or section) they are shown beside

# a problem starts with a key path and ": "; the "; " before the next one separates them
_PROBLEM = re.compile(r"(?:^|;\s+)(?=(?:\(spec\)|[A-Za-z_$][\w$]*(?:\.[\w$]+)*): )")
_PATH = re.compile(r"^(\(spec\)|[A-Za-z_$][\w$]*(?:\.[\w$]+)*): ")


def problems(message: str) -> list[tuple[str, str]]:
    """``[(path, problem), ...]`` of a refusal, each problem as the CLI prints it (with its path); a
    message without a key path is ``("", message)``."""
    found = []
    for part in _PROBLEM.split(message):
        part = part.strip()
        if part:
            match = _PATH.match(part)
            found.append((match.group(1) if match else GENERAL, part))
    return found


def place(message: str, names: Iterable[str]) -> Problems:
    """Each problem of ``message`` under the longest of ``names`` that is its path or encloses it."""
    known = set(names)
    placed: Problems = {}
    for path, problem in problems(message):
        parts = path.split(".")
        enclosing = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
        placed.setdefault(next((name for name in enclosing if name in known), GENERAL), []).append(problem)
    return placed
