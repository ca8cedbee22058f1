"""The simulator's records: explicit ones (data file, control API) and the generated candidates.

A listing is a `Selection`: an ordered, filtered view with a length and random access, so a page
costs O(per_page) whatever the module's size. Explicit records are few enough to filter into lists
(cached per store version); generated candidates are never listed in full: `GenView` answers
"the k-th generated record passing the filters" by arithmetic on the generator's block layout.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from recruit_sync.sim.criteria import Matcher
from recruit_sync.sim.data import SimData
from recruit_sync.sim.generate import GEN_ID_BASE, GeneratedCandidates
from recruit_sync.sim.timeutil import format_epoch, record_epoch

ConvertedMode = Literal["false", "true", "both"]
GENERATED_MODULE: Final = "Candidates"
STANDARD_MODULES: Final = ("Candidates", "Contacts", "Clients", "JobOpenings")
_LABELS: Final = {
    "Candidates": ("Candidates", "Candidate"),
    "Contacts": ("Contacts", "Contact"),
    "Clients": ("Clients", "Client"),
    "JobOpenings": ("Job Openings", "Job Opening"),
    "Job_Openings": ("Job Openings", "Job Opening"),
}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T")
SIM_USER: Final = {"name": "Sim Admin", "id": "486812000000002001"}


def id_key(record_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order, then any others as text."""
    return (0, int(record_id), "") if record_id.isdigit() else (1, 0, record_id)


def modified_field(module: str) -> str:
    return "Updated_On" if module == "Candidates" else "Modified_Time"


def modified_epoch(record: dict[str, Any]) -> float | None:
    """When the record last changed: `Updated_On`, else `Modified_Time`, else `Created_Time`."""
    for name in ("Updated_On", "Modified_Time", "Created_Time"):
        epoch = record_epoch(record.get(name))
        if epoch is not None:
            return epoch
    return None


def converted_passes(converted: bool, mode: ConvertedMode) -> bool:
    return mode == "both" or converted == (mode == "true")


def sort_value(value: object) -> tuple[int, int, float, str]:
    """A sort key that orders mixed values without raising; null sorts last (ascending)."""
    if value is None or value == "":
        return (1, 0, 0.0, "")
    if isinstance(value, bool | int | float):
        return (0, 0, float(value), "")
    if isinstance(value, str):
        if _TIMESTAMP.match(value) and (epoch := record_epoch(value)) is not None:
            return (0, 0, epoch, "")
        return (0, 1, 0.0, value.casefold())
    if isinstance(value, dict):
        return (0, 1, 0.0, str(value.get("name", "")).casefold())
    return (0, 1, 0.0, str(value).casefold())


@dataclass(frozen=True, slots=True)
class Query:
    """What a list or search call asks for, after parameter parsing."""

    converted: ConvertedMode = "false"
    modified_after: float | None = None
    cvid: str | None = None
    sort_by: str | None = None
    descending: bool = False


class UnknownView(LookupError):
    """A `cvid` that names no custom view of the module."""


class GenView:
    """Generated records passing the converted and modified-after filters, minus hidden ones,
    in index order, with O(log) `select` (k-th element) and `rank` (elements below an index)."""

    def __init__(
        self, gen: GeneratedCandidates, mode: ConvertedMode, modified_after: float | None, hidden: set[int]
    ) -> None:
        self.gen = gen
        self.mode = mode
        if modified_after is None:
            self.window: list[int] = []
            self.tail_start = 0
        else:
            # Below `lo` nothing passes, from `hi` on everything does: only [lo, hi) needs a look.
            lo = gen.first_index_possibly_after(modified_after)
            hi = gen.first_index_surely_after(modified_after)
            self.window = [
                i for i in range(lo, hi) if gen.updated_epoch(i) > modified_after and self._mode_ok(i)
            ]
            self.tail_start = hi
        self._tail_base = self._mode_rank(self.tail_start)
        base_len = len(self.window) + self._mode_rank(gen.count) - self._tail_base
        self.hidden_ranks = sorted(self._base_rank(i) for i in hidden if self._in_base(i))
        self.length = base_len - len(self.hidden_ranks)

    def __len__(self) -> int:
        return self.length

    def _mode_ok(self, index: int) -> bool:
        return converted_passes(self.gen.is_converted(index), self.mode)

    def _mode_rank(self, index: int) -> int:
        if self.mode == "both":
            return index
        converted = self.gen.converted_before(index)
        return converted if self.mode == "true" else index - converted

    def _mode_select(self, k: int) -> int:
        if self.mode == "both":
            return k
        return self.gen.select_converted(k) if self.mode == "true" else self.gen.select_unconverted(k)

    def _in_base(self, index: int) -> bool:
        if index >= self.tail_start:
            return self._mode_ok(index)
        at = bisect_left(self.window, index)
        return at < len(self.window) and self.window[at] == index

    def _base_rank(self, index: int) -> int:
        if index <= self.tail_start:
            return bisect_left(self.window, index)
        return len(self.window) + self._mode_rank(index) - self._tail_base

    def _base_select(self, k: int) -> int:
        if k < len(self.window):
            return self.window[k]
        return self._mode_select(self._tail_base + k - len(self.window))

    def select(self, k: int) -> int:
        """Index of the k-th (0-based) element."""
        hidden = self.hidden_ranks
        if hidden:
            # smallest base position p, not hidden, with exactly k visible positions before it
            lo, hi = k, k + len(hidden)
            while lo < hi:
                mid = (lo + hi) // 2
                if mid + 1 - bisect_right(hidden, mid) >= k + 1:
                    hi = mid
                else:
                    lo = mid + 1
            k = lo
        return self._base_select(k)

    def select_run(self, k: int, count: int) -> list[int]:
        """Indices of the elements `k .. k+count-1` (all of them < len): what `select` gives for
        each, found in one walk instead of one search each (a page of a listing)."""
        if count <= 0:
            return []
        if self.hidden_ranks:
            return [self.select(j) for j in range(k, k + count)]
        found = self.window[k : k + count]
        rest = count - len(found)
        if rest > 0:
            rank = self._tail_base + max(k - len(self.window), 0)
            if self.mode == "both":
                found += range(rank, rank + rest)
            elif self.mode == "true":
                found += [self.gen.select_converted(r) for r in range(rank, rank + rest)]
            else:
                found += self.gen.unconverted_from(self.gen.select_unconverted(rank), rest)
        return found

    def rank(self, index: int) -> int:
        """How many elements have an index below `index`."""
        base = self._base_rank(index)
        return base - bisect_left(self.hidden_ranks, base)


class Selection:
    """An ordered view of a module's records for one query."""

    def __len__(self) -> int:
        raise NotImplementedError

    def item(self, position: int) -> dict[str, Any]:
        raise NotImplementedError

    def page(self, start: int, count: int) -> list[dict[str, Any]]:
        return [self.item(p) for p in range(start, min(start + count, len(self)))]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self.item(p) for p in range(len(self)))


class ListSelection(Selection):
    """Records held in a list; ints stand for generated records by index."""

    def __init__(self, items: list[dict[str, Any] | int], gen: GeneratedCandidates | None) -> None:
        self.items = items
        self.gen = gen

    def __len__(self) -> int:
        return len(self.items)

    def item(self, position: int) -> dict[str, Any]:
        found = self.items[position]
        if isinstance(found, int):
            assert self.gen is not None
            return self.gen.record(found)
        return found

    def page(self, start: int, count: int) -> list[dict[str, Any]]:
        """What `Selection.page` gives, with the generated records built in one run."""
        items = self.items[start : start + count] if start >= 0 else []
        if self.gen is None:
            return cast(list[dict[str, Any]], items)  # without a generator every item is a record
        built = iter(self.gen.records([i for i in items if isinstance(i, int)]))
        return [next(built) if isinstance(item, int) else item for item in items]


class MergedSelection(Selection):
    """Explicit records (a short list) and a `GenView`, merged in id order (or its reverse)."""

    def __init__(self, explicit: list[dict[str, Any]], view: GenView, descending: bool) -> None:
        self.explicit = explicit
        self.view = view
        self.descending = descending
        self.length = len(explicit) + len(view)
        self.positions = [n + self._gen_rank(r["id"]) for n, r in enumerate(explicit)]

    def _gen_rank(self, record_id: str) -> int:
        if not record_id.isdigit():
            return len(self.view)
        index = int(record_id) - GEN_ID_BASE
        if index < 0:
            return 0
        return len(self.view) if index >= self.view.gen.count else self.view.rank(index)

    def __len__(self) -> int:
        return self.length

    def item(self, position: int) -> dict[str, Any]:
        if self.descending:
            position = self.length - 1 - position
        n = bisect_left(self.positions, position)
        if n < len(self.positions) and self.positions[n] == position:
            return self.explicit[n]
        return self.view.gen.record(self.view.select(position - n))

    def page(self, start: int, count: int) -> list[dict[str, Any]]:
        """What `Selection.page` gives, with the generated records' indices found in one run."""
        end = min(start + count, self.length)
        if start >= end:
            return []
        if self.descending:
            found = self._ascending(self.length - end, self.length - start)
            found.reverse()
            return found
        return self._ascending(start, end)

    def _ascending(self, low: int, high: int) -> list[dict[str, Any]]:
        """The items at ascending positions `low .. high-1`."""
        positions = self.positions
        first = n = bisect_left(positions, low)
        last = bisect_left(positions, high)
        generated = self.view.gen.records(self.view.select_run(low - first, (high - low) - (last - first)))
        if first == last:
            return generated
        found: list[dict[str, Any]] = []
        g = 0
        for position in range(low, high):
            if n < last and positions[n] == position:
                found.append(self.explicit[n])
                n += 1
            else:
                found.append(generated[g])
                g += 1
        return found


class SearchScan:
    """Matches of one criteria over one selection, found lazily and remembered for later pages."""

    def __init__(self, selection: Selection, criteria: Matcher) -> None:
        self.selection = selection
        self.criteria = criteria
        self.matches: list[int] = []  # positions in the selection (records are rebuilt when paged)
        self.scanned = 0

    def page(self, start: int, count: int) -> tuple[list[dict[str, Any]], bool]:
        """Matches `start .. start+count-1` and whether any lie beyond."""
        need = start + count + 1
        total = len(self.selection)
        built: dict[int, dict[str, Any]] = {}  # matches found by this call, so as not to build them twice
        while len(self.matches) < need and self.scanned < total:
            # a run at a time (a page is cheaper than its records one by one); at most 31 built in vain
            for record in self.selection.page(self.scanned, max(need - len(self.matches), 32)):
                if self.criteria.matches(record):
                    self.matches.append(self.scanned)
                    built[self.scanned] = record
                self.scanned += 1
                if len(self.matches) == need:
                    break
        item = self.selection.item
        found = [built.get(p) or item(p) for p in self.matches[start : start + count]]
        return found, len(self.matches) > start + count


class Store:
    """Mutable record state, built from `SimData`; `version` changes on every mutation."""

    def __init__(self, data: SimData, now: Callable[[], float]) -> None:
        self.now = now
        # Accounts spell Job Openings one way or the other: data under `Job_Openings` replaces `JobOpenings`.
        self.standard = tuple(
            "Job_Openings" if m == "JobOpenings" and "Job_Openings" in data.modules else m
            for m in STANDARD_MODULES
        )
        self.records: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in self.standard}
        for module, items in data.modules.items():
            self.records.setdefault(module, {}).update((r["id"], dict(r)) for r in items)
        self.views = {m: [dict(v) for v in vs] for m, vs in data.custom_views.items()}
        self.deleted: dict[str, list[dict[str, Any]]] = {}
        for module, items in data.deleted.items():
            self.deleted[module] = [self._deleted_item(dict(i), None) for i in items]
        self.labels = data.module_labels
        for module in (*self.views, *self.deleted, *self.labels):
            self.records.setdefault(module, {})
        self.generated = GeneratedCandidates(data.generate, data.seed) if data.generate else None
        self.hidden_generated: set[int] = set()  # generated indices replaced or deleted
        for record_id in (
            *self.records[GENERATED_MODULE],
            *(d["id"] for d in self.deleted.get(GENERATED_MODULE, [])),
        ):
            self._hide_generated(GENERATED_MODULE, record_id)
        self.version = 0
        self._next_id = 8_000_000_000_001
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    # reading ----------------------------------------------------------------------------------
    def has_module(self, module: str) -> bool:
        return module in self.records

    def modules(self) -> list[dict[str, Any]]:
        names = [*self.standard, *(m for m in self.records if m not in self.standard)]
        result = []
        for n, name in enumerate(names):
            plural, singular = _LABELS.get(name, (name.replace("_", " "), name.rstrip("s").replace("_", " ")))
            labels = self.labels.get(name, {})
            plural, singular = labels.get("plural_label", plural), labels.get("singular_label", singular)
            convertable = name == "Candidates" or any("$converted" in r for r in self.records[name].values())
            result.append(
                {
                    "api_name": name,
                    "plural_label": plural,
                    "singular_label": singular,
                    "module_name": name,
                    "api_supported": True,
                    "convertable": convertable,
                    "id": str(486812000000003001 + 3 * n),
                }
            )
        return result

    def custom_views(self, module: str) -> list[dict[str, Any]]:
        return [
            {
                "id": str(view["id"]),
                "display_value": view.get("display_value", f"View {view['id']}"),
                "system_name": view.get("system_name"),
                "sort_by": view.get("sort_by", modified_field(module)),
                "sort_order": view.get("sort_order", "desc"),
                "system_defined": False,
                "default": False,
                "criteria": None,
            }
            for view in self.views.get(module, [])
        ]

    def get(self, module: str, record_id: str) -> dict[str, Any] | None:
        found = self.records[module].get(record_id)
        if found is None and module == GENERATED_MODULE and self.generated is not None:
            index = self.generated.index_of(record_id)
            if index is not None and index not in self.hidden_generated:
                return self.generated.record(index)
        return found

    def select(self, module: str, query: Query) -> Selection:
        """The module's records matching `query`, in its order. Raises UnknownView for a bad cvid."""
        key = ("select", module, self.version, query)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._select(module, query)
            self._remember(key, cached)
        return cached

    def search(self, module: str, query: Query, criteria_text: str, criteria: Matcher) -> SearchScan:
        key = ("search", module, self.version, query, criteria_text)
        cached = self._cache.get(key)
        if cached is None:
            cached = SearchScan(self.select(module, query), criteria)
            self._remember(key, cached)
        return cached

    def deleted_items(self, module: str, kind: str, modified_after: float | None) -> list[dict[str, Any]]:
        items = self.deleted.get(module, [])
        return [
            item
            for item in items
            if (kind == "all" or item["type"] == kind)
            and (modified_after is None or (record_epoch(item["deleted_time"]) or 0) > modified_after)
        ]

    def _remember(self, key: tuple[Any, ...], value: Any) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > 64:
            self._cache.popitem(last=False)

    def _passes(self, record: dict[str, Any], query: Query) -> bool:
        if not converted_passes(bool(record.get("$converted")), query.converted):
            return False
        if query.modified_after is None:
            return True
        epoch = modified_epoch(record)
        return epoch is not None and epoch > query.modified_after

    def _select(self, module: str, query: Query) -> Selection:
        gen = self.generated if module == GENERATED_MODULE else None
        if query.cvid is not None:
            custom = next((v for v in self.views.get(module, []) if str(v["id"]) == query.cvid), None)
            if custom is None:
                raise UnknownView(query.cvid)
            members = (self.get(module, str(i)) for i in dict.fromkeys(custom.get("record_ids", [])))
            chosen = [r for r in members if r is not None and self._passes(r, query)]
            chosen.sort(key=lambda r: id_key(r["id"]))
            return self._ordered(chosen, query, gen)
        explicit = [r for r in self._by_id(module) if self._passes(r, query)]
        if gen is None:
            return self._ordered(explicit, query, None)
        view = GenView(gen, query.converted, query.modified_after, self.hidden_generated)
        if query.sort_by in (None, "id"):
            return MergedSelection(explicit, view, query.descending)
        merged: list[dict[str, Any] | int] = [*explicit, *(view.select(k) for k in range(len(view)))]
        merged.sort(key=lambda item: id_key(item["id"] if isinstance(item, dict) else gen.id_of(item)))
        return self._ordered(merged, query, gen)

    def _by_id(self, module: str) -> list[dict[str, Any]]:
        key = ("by_id", module, self.version)
        cached = self._cache.get(key)
        if cached is None:
            cached = sorted(self.records[module].values(), key=lambda r: id_key(r["id"]))
            self._remember(key, cached)
        return cached

    @staticmethod
    def _ordered(
        items: list[dict[str, Any]] | list[dict[str, Any] | int],
        query: Query,
        gen: GeneratedCandidates | None,
    ) -> ListSelection:
        """Items already in id order, re-sorted (stably) by `sort_by` and direction."""
        ordered: list[dict[str, Any] | int] = list(items)
        field = query.sort_by
        if field not in (None, "id"):
            assert field is not None

            def value(item: dict[str, Any] | int) -> tuple[int, int, float, str]:
                if isinstance(item, int):
                    assert gen is not None
                    if field in ("Created_Time", "Updated_On"):  # cheap: no record built
                        return (0, 0, float(gen.times(item)[field == "Updated_On"]), "")
                    return sort_value(gen.record(item).get(field))
                return sort_value(item.get(field))

            ordered.sort(key=value, reverse=query.descending)
        elif query.descending:
            ordered.reverse()
        return ListSelection(ordered, gen)

    # changing ---------------------------------------------------------------------------------
    def upsert(self, module: str, records: list[dict[str, Any]]) -> list[str]:
        """Add or replace records by id (assigning ids where missing); returns their ids."""
        now = format_epoch(self.now())
        stamp = modified_field(module)
        table = self.records.setdefault(module, {})
        ids = []
        for given in records:
            record = dict(given)
            if record.get("id") in (None, ""):
                while str(self._next_id) in table:
                    self._next_id += 1
                record["id"] = str(self._next_id)
                self._next_id += 1
            record_id = record["id"] = str(record["id"])
            previous = self.get(module, record_id)
            if record.get(stamp) is None:
                record[stamp] = now
            if record.get("Created_Time") is None:
                record["Created_Time"] = (previous or {}).get("Created_Time") or now
            table[record_id] = record
            self._hide_generated(module, record_id)
            self.deleted[module] = [d for d in self.deleted.get(module, []) if d["id"] != record_id]
            ids.append(record_id)
        self.version += 1
        return ids

    def delete(self, module: str, record_id: str) -> bool:
        """Move a record to the deleted list; False if there is no such record."""
        record = self.get(module, record_id)
        if record is None:
            return False
        self.records[module].pop(record_id, None)
        self._hide_generated(module, record_id)
        item = {"id": record_id, "deleted_time": format_epoch(self.now())}
        self.deleted.setdefault(module, []).append(self._deleted_item(item, record))
        self.version += 1
        return True

    def _hide_generated(self, module: str, record_id: str) -> None:
        if module == GENERATED_MODULE and self.generated is not None:
            index = self.generated.index_of(record_id)
            if index is not None:
                self.hidden_generated.add(index)

    @staticmethod
    def _deleted_item(item: dict[str, Any], record: dict[str, Any] | None) -> dict[str, Any]:
        record = record or {}
        name = record.get("Full_Name") or " ".join(
            str(record[k]) for k in ("First_Name", "Last_Name") if record.get(k)
        )
        return {
            "id": str(item["id"]),
            "display_name": item.get("display_name", name or None),
            "type": item.get("type", "recycle"),
            "deleted_time": item["deleted_time"],
            "deleted_by": item.get("deleted_by", SIM_USER),
            "created_by": item.get("created_by", record.get("Created_By", SIM_USER)),
        }
