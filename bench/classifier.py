"""Classifier benchmark: plain addresses per second of ``classify_email`` against ``email_validator`` alone.

Both run in the same process on the same generated addresses (person-like local parts; half on the big
providers, half on 2,000 company domains, as a Recruit export looks), timed by CPU time on one core,
best of three. Also prints the worst case, where every address has a domain never seen before (the
typo check then runs for each one instead of once per domain). Run:
``.venv/bin/python bench/classifier.py [--addresses 200000]``.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable, Sequence

from email_validator import validate_email

from recruit_sync.importer.email_rules import classify_email
from recruit_sync.importer.typo_domains import domain_problem

PROVIDERS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com")
ENDINGS = ("com", "com", "com", "io", "net", "co.uk", "de", "in", "ai")
COMPANY_DOMAINS = 2_000
ROUNDS = 3


def _word(rng: random.Random, shortest: int = 3, longest: int = 9) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(shortest, longest)))


def plain_addresses(rng: random.Random, count: int, domains: Sequence[str]) -> list[str]:
    return [f"{_word(rng).title()}.{_word(rng)}{i % 1000}@{rng.choice(domains)}" for i in range(count)]


def rate(check: Callable[[str], object], addresses: Sequence[str]) -> float:
    """Addresses per CPU second, best of ``ROUNDS`` (the typo cache is emptied before each round)."""
    best = 0.0
    for _ in range(ROUNDS):
        domain_problem.cache_clear()
        started = time.process_time()
        for address in addresses:
            check(address)
        best = max(best, len(addresses) / (time.process_time() - started))
    return best


def validator_alone(address: str) -> object:
    return validate_email(address, check_deliverability=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(20261101)
    companies = [f"{_word(rng, 4, 12)}.{rng.choice(ENDINGS)}" for _ in range(COMPANY_DOMAINS)]
    providers = list(PROVIDERS) * (COMPANY_DOMAINS // len(PROVIDERS))
    addresses = plain_addresses(rng, args.addresses, providers + companies)
    # email_validator runs ~20,000/s: a tenth of the sample measures it just as well.
    sample = addresses[: max(1, len(addresses) // 10)]
    unseen = [f"{_word(rng)}@{_word(rng, 5, 14)}.{rng.choice(ENDINGS)}" for _ in range(len(sample))]

    classifier = rate(classify_email, addresses)
    validator = rate(validator_alone, sample)
    worst = rate(classify_email, unseen)
    print(f"classify_email:                {classifier:12,.0f} plain addresses/s")
    print(f"email_validator alone:         {validator:12,.0f} plain addresses/s")
    print(f"ratio:                         {classifier / validator:12,.1f}x")
    print(f"classify_email, every domain new: {worst:9,.0f} addresses/s (worst case)")


if __name__ == "__main__":
    main()
