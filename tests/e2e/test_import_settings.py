"""Sync settings through the CLI on the real stack, each applying from the next run:

- the options (SPEC 2.5): exclude_opt_out, exclude_converted, on_recruit_delete (keep, remove_from_list,
  remove_from_org) and "options take effect from the moment they are enabled", with SPEC's worked
  example;
- field mapping (SPEC section 4): the defaults, "map more" to new contact fields with the type
  conversions, edits and deletions, and saved favourites loaded by a spec; ``list members --json``
  shows the mapped fields.

Each test keeps to its own records: a custom module of its own (the simulator creates a module on the
first record posted to it), or Candidates with ids of its own for the converted-candidate rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def people(prefix: str, ids: range, **fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": str(i),
            "Email": f"{prefix}.{i}@options.example",
            "First_Name": prefix.title(),
            "Last_Name": str(i),
        }
        | fields
        for i in ids
    ]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("options")) as running:
        running.add_connection()
        yield running


def create(stack: Stack, name: str, module: str, **extra: Any) -> str:
    return stack.create_sync(
        {"name": name, "connection": "acme-recruit", "module": module, "list": name, **extra}
    )


def edit(stack: Stack, sync_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    path = stack.workdir / f"patch-{sync_id}.json"
    path.write_text(json.dumps(patch))
    edited: dict[str, Any] = stack.json("sync", "edit", sync_id, "--file", str(path))
    return edited


def run(stack: Stack, sync_id: str, *, full: bool = False) -> dict[str, Any]:
    summary = stack.run_sync(sync_id, full=full)
    assert summary["state"] == "succeeded", (summary, stack.logs()[-4000:])
    return summary


def members(stack: Stack, list_name: str) -> set[str]:
    return {m["email"] for m in stack.json("list", "members", list_name)}


def record_ids(stack: Stack, run_id: str, outcome: str | None = None) -> set[str]:
    args = ("--outcome", outcome) if outcome else ()
    return {r["record_id"] for r in stack.json("runs", "records", run_id, *args)}


def test_spec_worked_example_remove_from_list_enabled_later(stack: Stack) -> None:
    """SPEC 2.5: 50 contacts added; remove_from_list enabled; 8 of the 50 deleted in Recruit; the next
    run removes none and reports them as neither deleted nor ignored. Contacts added after the option
    are removed when deleted."""
    module = "Worked_Example"
    stack.sim("POST", f"/_sim/records/{module}", people("jane", range(1, 51)))
    sync_id = create(stack, "Zylker", module)
    assert run(stack, sync_id)["new"] == 50

    shown = edit(stack, sync_id, {"options": {"on_recruit_delete": "remove_from_list"}})
    assert shown["spec"]["options"]["on_recruit_delete"] == "remove_from_list"
    assert "on_recruit_delete" in shown["options_enabled_at"]
    for i in range(1, 9):
        stack.sim("DELETE", f"/_sim/records/{module}/{i}")

    next_day = run(stack, sync_id)
    assert (next_day["deleted"], next_day["ignored"], next_day["total"]) == (0, 0, 42), next_day
    assert not record_ids(stack, next_day["run_id"]) & {str(i) for i in range(1, 9)}
    assert len(members(stack, "Zylker")) == 50

    # memberships added after the option was enabled: deleting those records removes them
    stack.sim("POST", f"/_sim/records/{module}", people("jane", range(51, 56)))
    assert run(stack, sync_id)["new"] == 5
    for i in (9, 51, 52):
        stack.sim("DELETE", f"/_sim/records/{module}/{i}")
    later = run(stack, sync_id)
    assert later["deleted"] == 2, later
    assert record_ids(stack, later["run_id"], "deleted") == {"51", "52"}
    assert len(members(stack, "Zylker")) == 53
    assert "jane.51@options.example" not in members(stack, "Zylker")


def test_remove_from_org_removes_from_every_list_and_a_later_sync_re_adds(stack: Stack) -> None:
    module = "Org_Removal"
    stack.sim("POST", f"/_sim/records/{module}", people("ola", range(1, 4)))
    remover = create(stack, "Org remover", module, options={"on_recruit_delete": "remove_from_org"})
    keeper = create(stack, "Org keeper", module, options={"on_recruit_delete": "keep"})
    assert run(stack, remover)["new"] == 3
    assert run(stack, keeper)["duplicate"] == 3

    stack.sim("DELETE", f"/_sim/records/{module}/2")
    kept = run(stack, keeper)  # keep: the deletion changes nothing
    assert (kept["deleted"], len(members(stack, "Org keeper"))) == (0, 3)
    removed = run(stack, remover)
    assert removed["deleted"] == 1
    assert record_ids(stack, removed["run_id"], "deleted") == {"2"}
    gone = "ola.2@options.example"
    assert gone not in members(stack, "Org remover") and gone not in members(stack, "Org keeper")

    # the record comes back in Recruit (restored from the recycle bin): the contact is re-added, to
    # the list of the sync that brings it only
    stack.sim("POST", f"/_sim/records/{module}", people("ola", range(2, 3)))
    back = run(stack, remover)
    assert back["re_added"] == 1 and record_ids(stack, back["run_id"], "re_added") == {"2"}
    assert gone in members(stack, "Org remover") and gone not in members(stack, "Org keeper")
    assert [e["outcome"] for e in stack.json("explain", gone)][:2] == ["re_added", "deleted"]


def test_exclude_opt_out_enabled_later_applies_to_new_memberships_only(stack: Stack) -> None:
    module = "Opt_Outs"
    stack.sim("POST", f"/_sim/records/{module}", people("otto", range(1, 3), Email_Opt_Out=True))
    sync_id = create(stack, "Opt-outs", module)
    assert run(stack, sync_id)["new"] == 2  # the option is off: opted-out records come in

    edit(stack, sync_id, {"options": {"exclude_opt_out": True}})
    stack.sim("POST", f"/_sim/records/{module}", people("otto", range(3, 5), Email_Opt_Out=True))
    stack.sim("POST", f"/_sim/records/{module}", people("otto", range(5, 6)))
    after = run(stack, sync_id)
    assert after["ignored_by_reason"]["opt_out"] == 2, after
    assert record_ids(stack, after["run_id"], "ignored") == {"3", "4"}
    assert record_ids(stack, after["run_id"], "unchanged") == {"1", "2"}  # added before: left alone
    assert members(stack, "Opt-outs") == {f"otto.{i}@options.example" for i in (1, 2, 5)}


def test_exclude_converted_applies_to_every_membership(stack: Stack) -> None:
    """Converted candidates already on the list leave it: on a full run (which reads every candidate,
    converted or not), or on the run after the conversion (which modifies the candidate)."""
    candidates = people("connie", range(710001, 710004))
    candidates[1]["$converted"] = True
    stack.sim("POST", "/_sim/records/Candidates", candidates)
    sync_id = create(
        stack, "Converted", "Candidates", selection={"kind": "all"}, options={"exclude_converted": False}
    )
    first = run(stack, sync_id)
    assert first["new"] == 3  # off: the converted candidate comes in (Recruit is asked for both)

    edit(stack, sync_id, {"options": {"exclude_converted": True}})
    full = run(stack, sync_id, full=True)
    assert full["ignored_by_reason"]["converted"] == 1
    assert record_ids(stack, full["run_id"], "ignored") == {"710002"}
    assert "connie.710002@options.example" not in members(stack, "Converted")

    stack.sim("POST", "/_sim/records/Candidates", [{**candidates[2], "$converted": True}])
    after = run(stack, sync_id)
    assert "710003" in record_ids(stack, after["run_id"], "ignored")
    assert members(stack, "Converted") == {"connie.710001@options.example"}
    explained = stack.json("explain", "connie.710003@options.example")
    assert (explained[0]["outcome"], explained[0]["reason"]) == ("ignored", "converted")


# ------------------------------------------------------------------------------------ mapping

TYPED = {  # one record per Recruit field type
    "id": "1",
    "Email": "Typed.Person@Mapping.example",
    "First_Name": "Typed",
    "Last_Name": "Person",
    "Date_Of_Birth": "1990-04-01",  # date
    "Interview_Time": "2026-10-01T10:00:00.000+05:30",  # date-time, with milliseconds
    "Last_Mailed": "2026-10-01 10:00:00",  # date-time as some exports write it
    "Experience_in_Years": 4,  # number
    "Expected_Salary": 55000.5,  # decimal
    "Willing_To_Relocate": True,  # boolean
    "Candidate_Status": "Qualified",  # picklist
    "Languages": ["English", "Tamil"],  # multi-select
    "Candidate_Owner": {"name": "Priya Raman", "id": "486812000000199001"},  # lookup
    "Fax": None,
    "Current_Employer": "Zylker",
    "Skill_Set": "Python, SQL",
}
TYPED_MAPPING = [
    {"from": "Date_Of_Birth", "to": "born"},
    {"from": "Interview_Time", "to": "interview"},
    {"from": "Last_Mailed", "to": "last_mailed"},
    {"from": "Experience_in_Years", "to": "experience"},
    {"from": "Expected_Salary", "to": "salary"},
    {"from": "Willing_To_Relocate", "to": "relocate"},
    {"from": "Candidate_Status", "to": "status"},
    {"from": "Languages", "to": "languages"},
    {"from": "Candidate_Owner", "to": "owner"},
    {"from": "Fax", "to": "fax"},
]
MAPPING_RECORDS = {
    "Mapping_Types": [TYPED],
    "Mapping_Edits": [
        {"id": "1", "Email": "eve@mapping.example", "First_Name": "Eve", "Last_Name": "Edit",
         "Current_Employer": "Zylker", "Skill_Set": "Python"},
    ],
    "Mapping_Favourites": [
        {"id": "1", "Email": "fay@mapping.example", "First_Name": "Fay", "Last_Name": "Fave",
         "Current_Employer": "Acme", "City": "Chennai"},
    ],
}  # fmt: skip


def only_member(stack: Stack, list_name: str) -> dict[str, Any]:
    members = stack.json("list", "members", list_name)
    assert len(members) == 1, members
    member: dict[str, Any] = members[0]
    return member


def test_defaults_and_every_type_conversion(stack: Stack) -> None:
    stack.sim("POST", "/_sim/records/Mapping_Types", MAPPING_RECORDS["Mapping_Types"])
    sync_id = create(stack, "Typed", "Mapping_Types", mapping=TYPED_MAPPING)
    assert run(stack, sync_id)["new"] == 1
    assert only_member(stack, "Typed") == {
        "email": "Typed.Person@mapping.example",  # domain lower-cased, local part kept
        "first_name": "Typed",
        "last_name": "Person",
        "born": "1990-04-01",
        "interview": "2026-10-01T10:00:00+05:30",
        "last_mailed": "2026-10-01T10:00:00",
        "experience": 4,
        "salary": 55000.5,
        "relocate": True,
        "status": "Qualified",
        "languages": ["English", "Tamil"],
        "owner": "Priya Raman",
        "fax": None,
    }
    # unmapped fields (Current_Employer, Skill_Set) stay in Recruit
    shown = stack.json("sync", "show", sync_id)
    assert shown["mapping"][:3] == [
        {"from": "Email", "to": "email"},
        {"from": "First_Name", "to": "first_name"},
        {"from": "Last_Name", "to": "last_name"},
    ]


def test_edited_and_deleted_mappings_apply_from_the_next_run(stack: Stack) -> None:
    module = "Mapping_Edits"
    stack.sim("POST", f"/_sim/records/{module}", MAPPING_RECORDS[module])
    sync_id = create(
        stack,
        "Edits",
        module,
        mapping=[{"from": "Current_Employer", "to": "company"}, {"from": "Skill_Set", "to": "skills"}],
    )
    run(stack, sync_id)
    assert only_member(stack, "Edits") == {
        "email": "eve@mapping.example", "first_name": "Eve", "last_name": "Edit", "company": "Zylker",
        "skills": "Python",
    }  # fmt: skip

    # remap the employer to a new contact field, stop mapping the skills, map the last name from City
    patch = stack.workdir / "mapping-patch.json"
    new_mapping = [{"from": "Current_Employer", "to": "employer"}, {"from": "City", "to": "last_name"}]
    patch.write_text(json.dumps({"mapping": new_mapping}))
    edited = stack.json("sync", "edit", sync_id, "--file", str(patch))
    assert edited["mapping"][-2:] == new_mapping
    assert [m for m in edited["mapping"] if m["to"] == "last_name"] == [{"from": "City", "to": "last_name"}]
    assert only_member(stack, "Edits")["skills"] == "Python"  # nothing changes before the next run

    stack.sim(
        "POST", f"/_sim/records/{module}", [{**MAPPING_RECORDS[module][0], "Skill_Set": "Go", "City": "Pune"}]
    )
    after = run(stack, sync_id)
    assert after["updated"] == 1
    assert only_member(stack, "Edits") == {
        "email": "eve@mapping.example",
        "first_name": "Eve",
        "last_name": "Pune",
        "employer": "Zylker",
        "company": "Zylker",  # the old field keeps its value: unmapped fields are not cleared
        "skills": "Python",  # no longer mapped: Recruit's new value does not reach the contact
    }


def test_favourites_are_saved_listed_and_loaded_by_a_spec(stack: Stack) -> None:
    favourite = stack.workdir / "favourite.json"
    mapping = [{"from": "Current_Employer", "to": "company"}, {"from": "City", "to": "city"}]
    favourite.write_text(json.dumps(mapping))
    stack.run("mapping", "favourite", "save", "Company and city", "--file", str(favourite))
    saved = stack.json("mapping", "favourite", "list")
    assert {"name": "Company and city", "mapping": mapping} in saved

    stack.sim("POST", "/_sim/records/Mapping_Favourites", MAPPING_RECORDS["Mapping_Favourites"])
    sync_id = create(
        stack,
        "Favourites",
        "Mapping_Favourites",
        favourite="Company and city",
        mapping=[{"from": "City", "to": "town"}],  # the spec's own entries come on top
    )
    shown = stack.json("sync", "show", sync_id)
    assert [m["to"] for m in shown["mapping"]] == [
        "email",
        "first_name",
        "last_name",
        "company",
        "city",
        "town",
    ]
    run(stack, sync_id)
    member = only_member(stack, "Favourites")
    assert (member["company"], member["city"], member["town"]) == ("Acme", "Chennai", "Chennai")

    unknown = stack.workdir / "unknown-favourite.json"
    unknown.write_text(
        json.dumps({"name": "Bad", "connection": "acme-recruit", "list": "Bad", "favourite": "Nope"})
    )
    refused = stack.run("sync", "create", "--file", str(unknown), check=False)
    assert refused.returncode != 0 and "favourite" in refused.stderr
