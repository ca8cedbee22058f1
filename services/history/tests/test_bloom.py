"""The Bloom filter explain reads a batch's email keys through (``store/outcomes.py``): it holds every key
it was made of, and few others. Pure; ``test_handlers`` and ``test_migrations`` test it in SQL."""

from __future__ import annotations

import random

from recruit_sync.history.store.outcomes import PROBES, bloom, probes


def holds(filter_: bytes, key: str) -> bool:
    """The test ``outcomes_for_email`` makes in SQL, in Python."""
    h1, h2 = probes(key)
    bits = 8 * len(filter_)
    return all(filter_[(p := (h1 + i * h2) % bits) >> 3] & (1 << (p & 7)) for i in range(PROBES))


def test_a_filter_holds_every_key_it_was_made_of_and_few_others() -> None:
    rng = random.Random(11)
    keys = [f"{rng.getrandbits(40):x}.{i}@exämple{i % 97}.com" for i in range(1000)]
    filter_ = bloom(keys)
    assert len(filter_) == 1250  # 10 bits a key
    assert all(holds(filter_, key) for key in keys)
    strangers = [f"someone.{i}@elsewhere.org" for i in range(20_000)]
    assert sum(holds(filter_, key) for key in strangers) / len(strangers) < 0.02  # about 1%


def test_repeated_keys_count_once_and_a_small_batch_gets_a_small_filter() -> None:
    assert bloom(["a@x.org"] * 50) == bloom(["a@x.org"])
    assert len(bloom(["a@x.org"])) == 8  # 64 bits at least
    assert holds(bloom(["a@x.org"]), "a@x.org")
