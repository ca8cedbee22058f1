"""Batch size benchmark: bytes per record of a ``RecordBatch`` with whole records against slim ones.

Builds a batch of generated candidates (the simulator's generator, as the pipeline benchmark serves
them) the old way, every field as Recruit gives it, and the fetcher's way (``fetcher.slim``: only the
fields the import reads, docs/adr/0015), encodes both as they are published
(``runtime.broker.encode_event``), and prints bytes per record before and after, for the default
mapping and for a mapping with three more fields. Then the cost of slimming per record against the
cost of encoding the whole batch and of parsing it again in the importer (orjson, as its decoder does),
timed in the same run (best of ``--rounds``). Since docs/adr/0028 the fetcher no longer parses the
fields it drops, so it slims whole records nowhere: bench/page_parse.py measures what it does instead.
Run: ``.venv/bin/python bench/batch_bytes.py [--records 1000]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from recruit_sync.contracts.events import ImportSettings, RecordBatch
from recruit_sync.contracts.sync_spec import DEFAULT_MAPPING, FieldMapping, Options
from recruit_sync.fetcher.slim import batch_fields, slim
from recruit_sync.runtime.broker import encode_event
from recruit_sync.sim.generate import GeneratedCandidates

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import best_seconds

EXTRA = (("City", "city"), ("Current_Employer", "company"), ("Skill_Set", "skills"))


def settings_for(pairs: Sequence[tuple[str, str]]) -> ImportSettings:
    mapping = [FieldMapping(**{"from": source, "to": target}) for source, target in pairs]
    return ImportSettings(
        list_name="Everyone",
        options=Options(),
        mapping=mapping,
        settings_version=1,
        options_enabled_at={"exclude_opt_out": datetime(2026, 11, 1, tzinfo=UTC)},
    )


def batch(records: list[dict[str, Any]], settings: ImportSettings) -> RecordBatch:
    return RecordBatch(
        run_id="3f1c9a52-6a0e-5b8e-9d4b-2f1e0c7a9b31",
        sync_id="8d2b7e14-1c5a-4f3e-a6b9-0e4d2c8f7a15",
        seq=0,
        module="Candidates",
        settings=settings,
        records=records,
        correlation_id="3f1c9a52-6a0e-5b8e-9d4b-2f1e0c7a9b31",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    n: int = args.records
    rounds: int = args.rounds
    generated = GeneratedCandidates(n)
    records = [generated.record(i) for i in range(n)]

    print(f"{n} generated candidates ({len(records[0])} fields each), one RecordBatch, encode_event")
    print(f"{'mapping':<28}{'fields kept':>12}{'before B/rec':>14}{'after B/rec':>13}{'after/before':>14}")
    for label, pairs in (("default", DEFAULT_MAPPING), ("default + 3 fields", DEFAULT_MAPPING + EXTRA)):
        settings = settings_for(pairs)
        fields = batch_fields(settings)
        before = len(encode_event(batch(records, settings))) / n
        after = len(encode_event(batch(slim(records, fields), settings))) / n
        print(f"{label:<28}{len(fields):>12}{before:>14.0f}{after:>13.0f}{after / before:>14.2f}")

    settings = settings_for(DEFAULT_MAPPING + EXTRA)
    fields = batch_fields(settings)
    whole, slimmed = batch(records, settings), batch(slim(records, fields), settings)
    whole_body, slim_body = encode_event(whole), encode_event(slimmed)
    per_record = 1e6 / n  # seconds per batch -> microseconds per record

    def timed(work: Callable[[], object]) -> float:
        return best_seconds(work, rounds) * per_record

    slimming = timed(lambda: slim(records, fields))
    encoding = (timed(lambda: encode_event(whole)), timed(lambda: encode_event(slimmed)))
    parsing = (timed(lambda: orjson.loads(whole_body)), timed(lambda: orjson.loads(slim_body)))
    heading = f"µs per record (default + 3 fields, best of {rounds})"
    print(f"\n{heading:<44}{'whole':>14}{'slim':>8}")
    print(f"{'slimming (fetcher)':<44}{'':>14}{slimming:>8.2f}")
    print(f"{'encode_event (fetcher)':<44}{encoding[0]:>14.2f}{encoding[1]:>8.2f}")
    print(f"{'orjson.loads (the importer decoder)':<44}{parsing[0]:>14.2f}{parsing[1]:>8.2f}")
    saved = encoding[0] - encoding[1] + parsing[0] - parsing[1]
    print(
        f"slimming costs {slimming / encoding[0]:.0%} of encoding the whole batch; encoding and parsing "
        f"the slim batch save {saved:.2f} µs per record (net {saved - slimming:+.2f} µs), before the "
        "broker and the journal carry the fewer bytes"
    )


if __name__ == "__main__":
    main()
