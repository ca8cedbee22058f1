"""Synthetic candidates, computed on demand from their index.

`GeneratedCandidates(count, seed)` stands for `count` Candidates records without holding them: record
`i` (0-based) is a pure function of `(seed, i)`, so a page of a million-record module costs what the
page costs, and two simulators with the same seed serve identical data.

Distribution (per generated record):

- `id` = `9000000000001 + i` (numeric string), `Candidate_ID` = `ZR_{1000001 + i}_CAND`.
- `First_Name` / `Last_Name` from built-in lists (ASCII), `Full_Name` = both.
- `Current_Employer` from a list of companies, each with its own domain; `City`, `Country`,
  `Current_Job_Title`, `Skill_Set` (three skills, comma-separated), `Experience_in_Years` (0-24),
  `Candidate_Status`, `Source`, `Phone`.
- `Created_Time` = 2024-01-01T00:00:00+05:30 + 60 s * i + (0..59 s): strictly increasing with `i`.
  `Updated_On` = `Created_Time` for about 35 % of records, otherwise 1 minute to 7 days later.
  Both are written with offset `+05:30`.
- `Email` of an ordinary record: `first.last{i+1}@domain`, lower case, unique; the domain is the
  employer's for about 60 % of records and a free-mail domain (gmail.com, yahoo.com, ...) otherwise.

Indices are cut into blocks of 1,000. In every block, offset 0 is ordinary and exactly 15 other
offsets (chosen per block from the seed) fall in each of six disjoint categories, so every full
block has 910 ordinary records and 15 of each category (1.5 % each; for a count that is a multiple
of 1,000 the totals are exactly 1.5 % of it; a final partial block has what falls below its end):

- `blank_email`: `Email` is null, `""` or `"   "` (a third each, by index).
- `invalid_email`: syntactically invalid, one of `local@`, `local@@domain`, `local.domain`,
  `first last{n}@domain`, `local@domain..com`, `@domain`.
- `role_email`: `{prefix}@{employer domain}` with prefix among info, support, careers, admin, sales,
  hr, jobs, noreply, contact, webmaster (role addresses may repeat each other).
- `duplicate_email`: the email and name of an earlier ordinary record of the same block; every
  second duplicate (by its rank in the block) keeps the address exactly, the others change its case
  (`John.Smith12@gmail.com`).
- `opt_out`: ordinary email, `Email_Opt_Out` true.
- `converted`: ordinary email, `$converted` true.

All other records have `Email_Opt_Out` false and `$converted` false.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from recruit_sync.sim.timeutil import (
    DAY_TEXT,
    MINUTE_TEXT,
    SECOND_TEXT,
    SIM_OFFSET,
    SIM_TZ,
    day_text,
)

GEN_ID_BASE: Final = 9_000_000_000_001
DEFAULT_SEED: Final = 20261127
BLOCK: Final = 1000
PER_CATEGORY: Final = 15
CATEGORIES: Final = ("blank_email", "invalid_email", "role_email", "duplicate_email", "opt_out", "converted")
GEN_EPOCH: Final = int(datetime(2024, 1, 1, tzinfo=SIM_TZ).timestamp())
SPACING: Final = 60
MAX_LAG: Final = 7 * 24 * 3600

_M64: Final = (1 << 64) - 1

FIRST_NAMES: Final = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Kavya", "Arjun", "Meera", "Rahul", "Divya",
    "Wei", "Mei", "Hiroshi", "Yuki", "Min-jun", "Ji-woo", "Omar", "Layla", "Ahmed", "Fatima",
    "Lukas", "Emma", "Noah", "Mia", "Mateo", "Sofia", "Lucas", "Chloe", "Elias", "Ines",
    "Kwame", "Amara", "Tunde", "Zainab", "Diego", "Valentina", "Pedro", "Camila", "Ivan", "Olga",
)  # fmt: skip
LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh", "Kumar", "Menon", "Rao",
    "Chen", "Wang", "Tanaka", "Sato", "Kim", "Park", "Haddad", "Khan", "Hassan", "Rahman",
    "Muller", "Schmidt", "Rossi", "Bianchi", "Dubois", "Moreau", "Silva", "Santos", "Novak", "Ivanova",
    "Mensah", "Okafor", "Adeyemi", "Burns", "Walsh", "Murphy", "Kowalski", "Nowak", "Berg", "Larsen",
)  # fmt: skip
COMPANIES: Final = (
    ("Northwind Traders", "northwind.com"), ("Contoso Ltd", "contoso.com"),
    ("Fabrikam Inc", "fabrikam.com"), ("Globex Corporation", "globex.com"),
    ("Initech", "initech.com"), ("Umbrella Health", "umbrellahealth.com"),
    ("Acme Robotics", "acme-robotics.com"), ("Tata Digital", "tatadigital.in"),
    ("Infoway Systems", "infoway.in"), ("Zenith Analytics", "zenith-analytics.io"),
    ("Bluewave Logistics", "bluewave.co.uk"), ("Helios Energy", "helios-energy.de"),
    ("Sakura Soft", "sakurasoft.jp"), ("Maple Fintech", "maplefin.ca"),
    ("Orion Labs", "orionlabs.ai"), ("Pinnacle Retail", "pinnacleretail.com"),
    ("Vertex Pharma", "vertexpharma.com"), ("Quantum Media", "quantummedia.net"),
    ("Atlas Construction", "atlasbuild.com"), ("Nimbus Cloud", "nimbuscloud.io"),
)  # fmt: skip
FREE_MAIL: Final = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me", "aol.com",
)  # fmt: skip
ROLE_PREFIXES: Final = (
    "info", "support", "careers", "admin", "sales", "hr", "jobs", "noreply", "contact", "webmaster",
)  # fmt: skip
CITIES: Final = (
    ("Chennai", "India"), ("Bengaluru", "India"), ("Mumbai", "India"), ("Pune", "India"),
    ("Austin", "United States"), ("Chicago", "United States"), ("Seattle", "United States"),
    ("London", "United Kingdom"), ("Berlin", "Germany"), ("Toronto", "Canada"), ("Sydney", "Australia"),
    ("Singapore", "Singapore"), ("Tokyo", "Japan"), ("Dubai", "United Arab Emirates"),
    ("Lagos", "Nigeria"), ("Sao Paulo", "Brazil"),
)  # fmt: skip
JOB_TITLES: Final = (
    "Software Engineer", "Senior Software Engineer", "Data Analyst", "Data Scientist", "Product Manager",
    "QA Engineer", "DevOps Engineer", "UX Designer", "Business Analyst", "Project Manager",
    "Sales Executive", "HR Generalist", "Accountant", "Marketing Specialist", "Support Engineer",
)  # fmt: skip
SKILLS: Final = (
    "Python", "Java", "SQL", "JavaScript", "TypeScript", "Go", "Kubernetes", "AWS", "Azure", "React",
    "Excel", "Tableau", "Power BI", "Salesforce", "Figma", "Selenium", "Docker", "Terraform", "Spark", "C#",
)  # fmt: skip
STATUSES: Final = (
    "New", "Contacted", "Qualified", "Screening", "Interview-Scheduled", "Interview-in-Progress",
    "Offer-Made", "Hired", "Rejected", "On-Hold",
)  # fmt: skip
SOURCES: Final = ("Added by User", "Import", "Career Site", "LinkedIn", "Referral", "Job Board")

# Per-record pieces that depend only on a few bits of a hash, built once: record building is what a
# listing of generated candidates spends its time on.
#: (first, last, "first last", "first.last" lower case without "-") by `first * len(LAST_NAMES) + last`.
_NAMES: Final = tuple(
    (first, last, f"{first} {last}", f"{first}.{last}".lower().replace("-", ""))
    for first in FIRST_NAMES
    for last in LAST_NAMES
)
_N_FIRST: Final = len(FIRST_NAMES)
_N_LAST: Final = len(LAST_NAMES)
_N_COMPANIES: Final = len(COMPANIES)
_N_FREE_MAIL: Final = len(FREE_MAIL)
_N_CITIES: Final = len(CITIES)
_N_TITLES: Final = len(JOB_TITLES)
_N_STATUSES: Final = len(STATUSES)
_N_SOURCES: Final = len(SOURCES)
_N_SKILLS: Final = len(SKILLS)
#: `Skill_Set` by `(a * n + b) * n + c` for the three skill numbers a, b, c (n skills).
_SKILL_SETS: Final = tuple(
    ", ".join(dict.fromkeys((SKILLS[a], SKILLS[b], SKILLS[c])))
    for a in range(_N_SKILLS)
    for b in range(_N_SKILLS)
    for c in range(_N_SKILLS)
)
_INDEX_SPREAD: Final = 0xD1B54A32D192ED03
#: Every generated record's keys in order; `Email_Opt_Out` and `$converted` false unless set.
_TEMPLATE: Final[dict[str, Any]] = {
    "id": None,
    "Candidate_ID": None,
    "First_Name": None,
    "Last_Name": None,
    "Full_Name": None,
    "Email": None,
    "Phone": None,
    "City": None,
    "Country": None,
    "Current_Employer": None,
    "Current_Job_Title": None,
    "Experience_in_Years": None,
    "Skill_Set": None,
    "Candidate_Status": None,
    "Source": None,
    "Email_Opt_Out": False,
    "$converted": False,
    "Created_Time": None,
    "Updated_On": None,
}
_PHONE_HEADS: Final = tuple(f"+1 555 {n:03d} " for n in range(100, 1000))
_PHONE_TAILS: Final = tuple(f"{n:04d}" for n in range(10000))


def _mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


_LANE: Final = 128  # bits per value in `_mix_indices`: room for index * _INDEX_SPREAD (< 2**104 here)
_PACKED_MIN: Final = 8  # fewer indices than this are hashed one by one


@lru_cache(maxsize=32)
def _ones(lanes: int) -> int:
    """1 in each of `lanes` lanes of `_LANE` bits."""
    return ((1 << (_LANE * lanes)) - 1) // ((1 << _LANE) - 1)


def _mix_indices(key: int, indices: list[int], salts: tuple[int, ...]) -> list[list[int]]:
    """`[[_mix(key ^ (i * _INDEX_SPREAD + salt)) for i in indices] for salt in salts]`, computed on
    all indices at once: each one a 128-bit lane of one big int, so the dozen steps of `_mix` are a
    dozen big-int operations per page instead of per record (hashing was a quarter of a record's
    cost). Needs 0 <= index < 2**40 and 0 <= key < 2**100, so no lane carries into the next:
    `GeneratedCandidates.records` checks."""
    n = len(indices)
    words = array("Q", bytes(16 * n))
    words[::2] = array("Q", indices)
    if sys.byteorder != "little":
        words.byteswap()
    spread = int.from_bytes(words.tobytes(), "little") * _INDEX_SPREAD
    ones = _ones(n)
    mask = _M64 * ones
    mixed: list[list[int]] = []
    for salt in salts:
        # _mix, lane-wise: shifted-in bits of the next lane are masked off before each multiply
        x = (((spread + salt * ones) ^ (key * ones)) + 0x9E3779B97F4A7C15 * ones) & mask
        x = (((x ^ (x >> 30)) & mask) * 0xBF58476D1CE4E5B9) & mask
        x = (((x ^ (x >> 27)) & mask) * 0x94D049BB133111EB) & mask
        x = (x ^ (x >> 31)) & mask
        words = array("Q")
        words.frombytes(x.to_bytes(16 * n, "little"))
        if sys.byteorder != "little":
            words.byteswap()
        mixed.append(words[::2].tolist())
    return mixed


@dataclass(frozen=True, slots=True)
class BlockLayout:
    """Which offsets of one block of 1,000 indices are special, and how."""

    category: dict[int, str]
    converted: tuple[int, ...]  # sorted offsets of converted records
    converted_set: frozenset[int]  # the same, for membership tests
    duplicate_of: dict[int, tuple[int, bool]]  # offset -> (source offset, exact copy?)


@lru_cache(maxsize=1024)
def block_layout(seed: int, block: int) -> BlockLayout:
    """Pick 6 x 15 distinct offsets in 1..999 by a seeded partial Fisher-Yates shuffle."""
    pool = list(range(1, BLOCK))
    state = _mix(seed * 0x100000001B3 + block)
    picked = PER_CATEGORY * len(CATEGORIES)
    for k in range(picked):
        state = _mix(state)
        j = k + state % (len(pool) - k)
        pool[k], pool[j] = pool[j], pool[k]
    category: dict[int, str] = {}
    for n, offset in enumerate(pool[:picked]):
        category[offset] = CATEGORIES[n // PER_CATEGORY]
    duplicate_of: dict[int, tuple[int, bool]] = {}
    duplicates = sorted(o for o, c in category.items() if c == "duplicate_email")
    ordinary = [o for o in range(BLOCK) if o not in category]
    for rank, offset in enumerate(duplicates):
        state = _mix(state)  # a source among the ordinary offsets below this one
        duplicate_of[offset] = (ordinary[state % bisect_left(ordinary, offset)], rank % 2 == 0)
    converted = tuple(sorted(o for o, c in category.items() if c == "converted"))
    return BlockLayout(category, converted, frozenset(converted), duplicate_of)


class GeneratedCandidates:
    """`count` synthetic Candidates; record `i` is computed from `(seed, i)` when asked for."""

    def __init__(self, count: int, seed: int = DEFAULT_SEED) -> None:
        if count < 0:
            raise ValueError("generated count must be >= 0")
        self.count = count
        self.seed = seed
        self._seed_key = seed << 24
        self._packable = 0 <= self._seed_key < 1 << 100  # see _mix_indices

    def __len__(self) -> int:
        return self.count

    # identities ---------------------------------------------------------------------------------
    @staticmethod
    def id_of(index: int) -> str:
        return str(GEN_ID_BASE + index)

    def index_of(self, record_id: str) -> int | None:
        """The index whose id this is, None if the id is not a generated one."""
        if not record_id.isdigit():
            return None
        index = int(record_id) - GEN_ID_BASE
        return index if 0 <= index < self.count else None

    # cheap per-index facts (no record built) ---------------------------------------------------
    def _hash(self, index: int, salt: int = 0) -> int:
        return _mix(self._seed_key ^ (index * _INDEX_SPREAD + salt))

    def category(self, index: int) -> str | None:
        return block_layout(self.seed, index // BLOCK).category.get(index % BLOCK)

    def is_converted(self, index: int) -> bool:
        return self.category(index) == "converted"

    def times(self, index: int) -> tuple[int, int]:
        """`(Created_Time, Updated_On)` of the record at `index`, as epoch seconds."""
        h = self._hash(index, 1)
        created = GEN_EPOCH + SPACING * index + h % SPACING
        lag = 0 if (h >> 8) % 100 < 35 else SPACING + (h >> 16) % (MAX_LAG - SPACING)
        return created, created + lag

    def updated_epoch(self, index: int) -> int:
        return self.times(index)[1]

    def first_index_possibly_after(self, epoch: float) -> int:
        """Every index below this has `Updated_On <= epoch`."""
        bound = (epoch - GEN_EPOCH - SPACING - MAX_LAG) // SPACING + 1
        return int(min(max(bound, 0), self.count))

    def first_index_surely_after(self, epoch: float) -> int:
        """Every index from this on has `Updated_On > epoch` (Created_Time already is)."""
        bound = (epoch - GEN_EPOCH) // SPACING + 1
        return int(min(max(bound, 0), self.count))

    # converted rank / select, O(1) per call ----------------------------------------------------
    def converted_before(self, index: int) -> int:
        """How many of the indices `0 .. index-1` are converted."""
        block, offset = divmod(index, BLOCK)
        return block * PER_CATEGORY + bisect_left(block_layout(self.seed, block).converted, offset)

    def select_converted(self, k: int) -> int:
        """The index of the k-th (0-based) converted record."""
        block, r = divmod(k, PER_CATEGORY)
        return block * BLOCK + block_layout(self.seed, block).converted[r]

    def unconverted_from(self, index: int, count: int) -> list[int]:
        """The first `count` indices from `index` on (inclusive) that are not converted."""
        found: list[int] = []
        if count <= 0:
            return found
        block, offset = divmod(index, BLOCK)
        while True:
            skip = block_layout(self.seed, block).converted_set
            base = block * BLOCK
            for o in range(offset, BLOCK):
                if o not in skip:
                    found.append(base + o)
                    if len(found) == count:
                        return found
            block, offset = block + 1, 0

    def select_unconverted(self, k: int) -> int:
        """The index of the k-th (0-based) record that is not converted."""
        block, offset = divmod(k, BLOCK - PER_CATEGORY)
        for converted in block_layout(self.seed, block).converted:
            if converted <= offset:
                offset += 1
            else:
                break
        return block * BLOCK + offset

    # records ----------------------------------------------------------------------------------
    def _person(self, index: int) -> tuple[str, str, str, str, str]:
        """First name, last name, ordinary email, employer and its domain of the person at `index`."""
        h = self._hash(index)
        first = FIRST_NAMES[h % len(FIRST_NAMES)]
        last = LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
        employer, company_domain = COMPANIES[(h >> 16) % len(COMPANIES)]
        domain = company_domain if (h >> 24) % 100 < 60 else FREE_MAIL[(h >> 32) % len(FREE_MAIL)]
        local = f"{first}.{last}{index + 1}".lower().replace("-", "")
        return first, last, f"{local}@{domain}", employer, company_domain

    def _special_email(self, index: int, category: str, first: str, last: str, email: str) -> str | None:
        local, domain = email.split("@")
        h = self._hash(index, 3)
        if category == "blank_email":
            return (None, "", "   ")[h % 3]
        if category == "invalid_email":
            return (
                f"{local}@",
                f"{local}@@{domain}",
                f"{local}.{domain}",
                f"{first} {last}{index + 1}@{domain}".lower(),
                f"{local}@{domain.rsplit('.', 1)[0]}..com",
                f"@{domain}",
            )[h % 6]
        return email

    def record(self, index: int) -> dict[str, Any]:
        """The full record at `index` (0 <= index < count)."""
        return self.records((index,))[0]

    def records(self, indices: Iterable[int]) -> list[dict[str, Any]]:
        """`record(i)` for each of `indices`, in order, built in one loop (a page of a listing).

        Listing generated candidates spends most of its time here, so what `_person` and `times`
        compute is inlined, names, phones and skills come from tables, and a record is a copy of a
        template dict filled in. `tests/test_fast_paths.py` checks it against a plain implementation."""
        seed = self.seed
        indices = list(indices)
        # _hash(index): the person, _hash(index, 1): the times, _hash(index, 4): everything else
        if self._packable and len(indices) >= _PACKED_MIN and 0 <= min(indices) <= max(indices) < 1 << 40:
            hashes = _mix_indices(self._seed_key, indices, (0, 1, 4))
        else:
            hashes = [[], [], []]
            for index in indices:
                spread = index * _INDEX_SPREAD
                hashes[0].append(_mix(self._seed_key ^ spread))
                hashes[1].append(_mix(self._seed_key ^ (spread + 1)))
                hashes[2].append(_mix(self._seed_key ^ (spread + 4)))
        built: list[dict[str, Any]] = []
        days = DAY_TEXT
        layout_block, categories = -1, {}
        for index, hp, ht, h in zip(indices, *hashes, strict=True):
            block, offset = divmod(index, BLOCK)
            if block != layout_block:
                layout_block, categories = block, block_layout(seed, block).category
            category = categories.get(offset)
            record = _TEMPLATE.copy()
            record["id"] = str(GEN_ID_BASE + index)
            record["Candidate_ID"] = f"ZR_{1000001 + index}_CAND"
            employer, company_domain = COMPANIES[(hp >> 16) % _N_COMPANIES]
            if category is None:
                first, last, full_name, local = _NAMES[hp % _N_FIRST * _N_LAST + (hp >> 8) % _N_LAST]
                domain = company_domain if (hp >> 24) % 100 < 60 else FREE_MAIL[(hp >> 32) % _N_FREE_MAIL]
                record["Email"] = f"{local}{index + 1}@{domain}"
            else:
                first, last, full_name, record["Email"] = self._category_person(
                    index, category, h, company_domain
                )
                record["Email_Opt_Out"] = category == "opt_out"
                record["$converted"] = category == "converted"
            record["First_Name"] = first
            record["Last_Name"] = last
            record["Full_Name"] = full_name
            record["Phone"] = _PHONE_HEADS[(h >> 31) % 900] + _PHONE_TAILS[(h >> 41) % 10000]
            record["City"], record["Country"] = CITIES[(h >> 8) % _N_CITIES]
            record["Current_Employer"] = employer
            record["Current_Job_Title"] = JOB_TITLES[(h >> 12) % _N_TITLES]
            record["Experience_in_Years"] = (h >> 4) % 25
            record["Skill_Set"] = _SKILL_SETS[
                ((h >> 16) % _N_SKILLS * _N_SKILLS + (h >> 21) % _N_SKILLS) * _N_SKILLS
                + (h >> 26) % _N_SKILLS
            ]
            record["Candidate_Status"] = STATUSES[(h >> 36) % _N_STATUSES]
            record["Source"] = SOURCES[(h >> 52) % _N_SOURCES]
            # format_epoch(created) and format_epoch(updated), inlined (a fifth of a record's cost)
            created = GEN_EPOCH + SIM_OFFSET + SPACING * index + ht % SPACING  # in SIM_TZ
            day, second = divmod(created, 86400)
            minute, second = divmod(second, 60)
            record["Created_Time"] = text = (
                (days.get(day) or day_text(day)) + MINUTE_TEXT[minute] + SECOND_TEXT[second]
            )
            if (ht >> 8) % 100 >= 35:
                day, second = divmod(created + SPACING + (ht >> 16) % (MAX_LAG - SPACING), 86400)
                minute, second = divmod(second, 60)
                text = (days.get(day) or day_text(day)) + MINUTE_TEXT[minute] + SECOND_TEXT[second]
            record["Updated_On"] = text
            built.append(record)
        return built

    def _category_person(
        self, index: int, category: str, h: int, company_domain: str
    ) -> tuple[str, str, str, str | None]:
        """First name, last name, full name and email of a record in one of the categories."""
        first, last, email, _, _ = self._person(index)
        email_value: str | None = email
        if category == "duplicate_email":
            source_offset, exact = block_layout(self.seed, index // BLOCK).duplicate_of[index % BLOCK]
            first, last, email, _, _ = self._person(index - index % BLOCK + source_offset)
            if exact:
                email_value = email
            else:
                local, domain = email.split("@")
                email_value = f"{local.title()}@{domain}"
        elif category == "role_email":
            email_value = f"{ROLE_PREFIXES[h % len(ROLE_PREFIXES)]}@{company_domain}"
        else:
            email_value = self._special_email(index, category, first, last, email)
        return first, last, f"{first} {last}", email_value
