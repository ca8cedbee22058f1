"""Write the simulator's demo data file, deterministically.

    .venv/bin/python sim/scripts/make_demo_data.py [OUTPUT]

OUTPUT defaults to sim/src/recruit_sync/sim/demo_data.json. The categories below are disjoint and
their sizes are fixed; sim/README.md lists them and sim/tests/test_demo_data.py checks them.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recruit_sync.sim.generate import (
    CITIES,
    COMPANIES,
    FREE_MAIL,
    JOB_TITLES,
    SKILLS,
    SOURCES,
    STATUSES,
)
from recruit_sync.sim.timeutil import SIM_TZ

OUTPUT = Path(__file__).resolve().parents[1] / "src" / "recruit_sync" / "sim" / "demo_data.json"
SEED = 4242
CANDIDATES = 300
FREE_MAIL_ORDINARY = 40

FIRST = [
    "Aarav", "Aditi", "Ananya", "Arjun", "Deepa", "Divya", "Farhan", "Gaurav", "Ishaan", "Kavya",
    "Lakshmi", "Meera", "Nikhil", "Pooja", "Rahul", "Riya", "Sanjay", "Sneha", "Suresh", "Vikram",
    "Emily", "James", "Olivia", "Daniel", "Sophia", "Michael", "Grace", "Ethan", "Hannah", "Lucas",
    "Chloe", "Noah", "Isabella", "Benjamin", "Amelia", "Samuel", "Charlotte", "Henry", "Zoë", "José",
    "Renée", "Søren", "Björn", "Chloé", "Mateo", "Valentina", "Wei", "Mei", "Hiroshi", "Yuki",
    "Min-jun", "Seo-yeon", "Omar", "Layla", "Tunde", "Amara", "Kwame", "Nadia", "Ivan", "Elena",
]  # fmt: skip
LAST = [
    "Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Rao", "Krishnan", "Banerjee", "Chatterjee",
    "Patel", "Desai", "Kapoor", "Malhotra", "Pillai", "Smith", "Johnson", "Brown", "Taylor", "Walker",
    "Harris", "Clark", "Lewis", "Young", "King", "Wright", "Green", "Baker", "Adams", "Nelson",
    "O'Brien", "McAllister", "García", "Müller", "Dubois", "Rossi", "Novak", "Kowalski", "Larsen", "Berg",
    "Chen", "Wang", "Tanaka", "Sato", "Kim", "Park", "Haddad", "Rahman", "Okafor", "Mensah",
]  # fmt: skip
ROLE = [
    ("info", "northwind.com"), ("support", "contoso.com"), ("careers", "fabrikam.com"),
    ("admin", "globex.com"), ("hr", "initech.com"), ("jobs", "tatadigital.in"),
    ("sales", "zenith-analytics.io"), ("noreply", "orionlabs.ai"),
]  # fmt: skip
INVALID = [
    ("John", "Doe", "john.doe@"),
    ("Jane", "Fischer", "jane@@example.com"),
    ("Karl", "Weber", "no-at-sign.example.com"),
    ("Abel", "Barros", "a b@example.com"),
    ("Mark", "Lee", "mark.lee@example..com"),
    ("Nora", "Quinn", "@northwind.com"),
    ("Ravi", "Kumar", "ravi.kumar@.infoway.in"),
    ("Sofia", "Rossi", "sofia.rossi@contoso,com"),
    ("Lucas", "Silva", ".lucas.silva@globex.com"),
    ("Anna", "Berg", "anna..berg@fabrikam.com"),
]
DELETED = [
    {"id": "100901", "display_name": "Tomás Ferreira", "deleted_time": "2026-11-01T09:00:00+05:30"},
    {"id": "100902", "display_name": "Greta Holm", "deleted_time": "2026-11-15T14:30:00+05:30"},
]
# Blank emails: how the field is blank, per record.
BLANK = ["absent", "absent", "absent", "null", "null", "null", "empty", "empty", "spaces", "spaces"]
COUNTS = {"blank_email": 10, "invalid_email": 10, "role_email": 8, "duplicate_email": 10, "opt_out": 12}
COUNTS["converted"] = 6
ASCII = str.maketrans({"ë": "e", "é": "e", "ø": "o", "ö": "o", "ü": "u", "í": "i", "'": "", "-": ""})


def ascii_fold(text: str) -> str:
    return text.lower().translate(ASCII)


def stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def make(rng: random.Random) -> dict[str, Any]:
    # Special records go anywhere after the first ten, so a duplicate always has an earlier original.
    kinds = ["ordinary"] * (CANDIDATES - sum(COUNTS.values()))
    for kind, count in COUNTS.items():
        for _ in range(count):
            kinds.insert(rng.randrange(10, len(kinds) + 1), kind)
    free_mail_slots = set(rng.sample([n for n, k in enumerate(kinds) if k == "ordinary"], FREE_MAIL_ORDINARY))

    start = datetime(2026, 6, 1, 9, 0, tzinfo=SIM_TZ)
    used_emails: set[str] = set()
    ordinary: list[dict[str, Any]] = []
    copied: set[str] = set()
    counters = {"invalid": 0, "role": 0, "blank": 0, "dup": 0}
    candidates = []
    for n, kind in enumerate(kinds):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        employer, company_domain = rng.choice(COMPANIES)
        city, country = rng.choice(CITIES)
        created = start + timedelta(minutes=n * 700 + rng.randrange(0, 600))
        updated = created + timedelta(hours=rng.randrange(0, 24 * 20))
        record: dict[str, Any] = {
            "id": str(100001 + n),
            "Candidate_ID": f"ZR_{101 + n}_CAND",
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Email": None,
            "Phone": f"+91 9{rng.randrange(100000000, 999999999)}",
            "City": city,
            "Country": country,
            "Current_Employer": employer,
            "Current_Job_Title": rng.choice(JOB_TITLES),
            "Experience_in_Years": rng.randrange(0, 21),
            "Skill_Set": ", ".join(rng.sample(SKILLS, rng.randrange(2, 5))),
            "Candidate_Status": rng.choice(STATUSES),
            "Source": rng.choice(SOURCES),
            "Candidate_Owner": {"name": "Priya Raman", "id": "486812000000002011"},
            "Email_Opt_Out": kind == "opt_out",
            "$converted": kind == "converted",
            "Created_Time": stamp(created),
            "Updated_On": stamp(updated),
        }
        if kind == "blank_email":
            how = BLANK[counters["blank"]]
            counters["blank"] += 1
            if how == "absent":
                del record["Email"]
            else:
                record["Email"] = {"null": None, "empty": "", "spaces": "   "}[how]
        elif kind == "invalid_email":
            record["First_Name"], record["Last_Name"], record["Email"] = INVALID[counters["invalid"]]
            record["Full_Name"] = f"{record['First_Name']} {record['Last_Name']}"
            counters["invalid"] += 1
        elif kind == "role_email":
            prefix, domain = ROLE[counters["role"]]
            record["Email"] = f"{prefix}@{domain}"
            record["Current_Employer"] = next(name for name, d in COMPANIES if d == domain)
            counters["role"] += 1
        elif kind == "duplicate_email":
            original = rng.choice([o for o in ordinary if o["id"] not in copied])
            copied.add(original["id"])
            exact = counters["dup"] % 2 == 0
            counters["dup"] += 1
            local, domain = original["Email"].split("@")
            record["Email"] = original["Email"] if exact else f"{local.title()}@{domain.capitalize()}"
            for key in ("First_Name", "Last_Name", "Full_Name"):
                record[key] = original[key]
            later = datetime.fromisoformat(original["Updated_On"]) + timedelta(days=1 + n % 9, minutes=n)
            record["Updated_On"] = stamp(max(later, updated))
        else:
            domain = rng.choice(FREE_MAIL) if n in free_mail_slots else company_domain
            f, la = ascii_fold(first), ascii_fold(last)
            local = rng.choice([f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f}_{la}", f"{f}.{la}"])
            if domain in FREE_MAIL and rng.random() < 0.3:
                local += str(rng.randrange(1, 99))
            email = f"{local}@{domain}"
            while email in used_emails:
                email = f"{local}{rng.randrange(2, 999)}@{domain}"
            used_emails.add(email)
            record["Email"] = email
            if kind == "ordinary":
                ordinary.append(record)
        candidates.append(record)

    by_kind: dict[str, list[str]] = {}
    for record, kind in zip(candidates, kinds, strict=True):
        by_kind.setdefault(kind, []).append(record["id"])
    view_ids = (
        rng.sample(by_kind["ordinary"], 16)
        + rng.sample(by_kind["opt_out"], 2)
        + rng.sample(by_kind["converted"], 1)
        + rng.sample(by_kind["role_email"], 1)
    )
    contacts = [
        {
            "id": str(200001 + n),
            "First_Name": first,
            "Last_Name": last,
            "Email": f"{ascii_fold(first)}.{ascii_fold(last)}@{domain}",
            "Client_Name": {"name": client, "id": str(300001 + n)},
            "Email_Opt_Out": n == 4,
            "Created_Time": stamp(start + timedelta(days=10 * n)),
            "Modified_Time": stamp(start + timedelta(days=10 * n + 3, hours=n)),
        }
        for n, (first, last, client, domain) in enumerate(
            [
                ("Harriet", "Vance", "Northwind Traders", "northwind.com"),
                ("Sunil", "Mehta", "Tata Digital", "tatadigital.in"),
                ("Claire", "Dupont", "Helios Energy", "helios-energy.de"),
                ("Kenji", "Mori", "Sakura Soft", "sakurasoft.jp"),
                ("Grace", "Okoye", "Orion Labs", "orionlabs.ai"),
                ("Peter", "Lindqvist", "Nimbus Cloud", "nimbuscloud.io"),
            ]
        )
    ]
    return {
        "modules": {"Candidates": candidates, "Contacts": contacts},
        "custom_views": {
            "Candidates": [
                {
                    "id": "5001",
                    "display_value": "Hot leads",
                    "sort_by": "Updated_On",
                    "record_ids": sorted(view_ids),
                }
            ]
        },
        "deleted": {"Candidates": DELETED},
    }


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    document = make(random.Random(SEED))
    output.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
