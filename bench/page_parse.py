"""Page parsing benchmark: reading a page of Recruit records whole, against reading only the fields used.

A page of generated candidates (the simulator's generator, 200 records as Recruit's largest page), read
the way the fetcher did until docs/adr/0028 (every field parsed by orjson, then the fields the import
reads kept, as ``fetcher.slim`` did then) and the way it does now (``recruit_client._page_body``:
msgspec parses those fields alone and skips the others unbuilt). Both are timed in the same run (best of
``--rounds``), and the ratio is printed with the time per record; the two must give the same records.
Run: ``.venv/bin/python bench/page_parse.py [--records 200] [--rounds 300]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

from recruit_sync.contracts.records import fields_read
from recruit_sync.contracts.sync_spec import DEFAULT_MAPPING, FieldMapping
from recruit_sync.fetcher.recruit_client import _page_body
from recruit_sync.sim.generate import GeneratedCandidates

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import best_seconds

# the mapping pipeline.py uses: the defaults and one more field
MAPPING = [
    FieldMapping(**{"from": source, "to": target})
    for source, target in (*DEFAULT_MAPPING, ("Current_Employer", "company"))
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    n: int = args.records
    records = GeneratedCandidates(n).records(range(n))
    info = {"per_page": n, "count": n, "page": 1, "more_records": True}
    response = httpx.Response(200, content=orjson.dumps({"data": records, "info": info}))
    fields = fields_read(MAPPING)
    wanted = tuple(sorted(fields))

    def whole() -> list[dict[str, Any]]:
        page = orjson.loads(response.content)["data"]
        return [{name: record[name] for name in wanted if name in record} for record in page]

    def only_used() -> list[dict[str, Any]]:
        return list(_page_body("GET /recruit/v2/Candidates", response, fields)["data"])

    assert whole() == only_used(), "the two readings differ"
    before, after = best_seconds(whole, args.rounds), best_seconds(only_used, args.rounds)
    size = len(response.content)
    print(f"a page of {n} generated candidates ({len(records[0])} fields each, {size:,} bytes),")
    print(f"{len(fields)} fields kept of each record")
    print(f"  whole (orjson, then slim)   {before * 1e6 / n:6.2f} us/record   (baseline)")
    print(f"  only the fields used        {after * 1e6 / n:6.2f} us/record   ratio {after / before:.2f}")


if __name__ == "__main__":
    main()
