"""The console as people use it, in headless Chromium against the whole stack: signing in, creating a
criteria sync in the wizard and reading its run, filtering and exporting records, what a viewer may
not do, forms without their CSRF token, and a tour of the other pages.

With ``RECRUIT_SYNC_SCREENSHOTS=1`` each main page is saved at phone and laptop widths in
docs/screenshots (every run checks that it fits a phone's width).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, USERS
from tests.browser.person import Person
from tests.e2e.stack import Stack, not_due_today

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


def a_run(stack: Stack, name: str) -> tuple[str, dict[str, Any]]:
    """A sync of every candidate, made and run with the CLI: its id and its run's summary."""
    sync_id = stack.create_sync({"name": name, "connection": "acme-recruit", "list": name})
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", summary
    return sync_id, summary


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def test_signing_in_after_a_refused_attempt(person: Person) -> None:
    person.visit("/")
    assert person.path == "/login?next=%2F" and person.heading() == "Sign in"
    person.snapshot("sign-in")
    person.type_into("Email", USERS["editor"])
    person.type_into("Password", "not the password at all")
    person.click("Sign in")
    person.wait_until_sees("the email or password is wrong")
    assert person.field("Email").get_attribute("value") == USERS["editor"]
    assert person.field("Password").get_attribute("value") == ""
    person.type_into("Password", PASSWORD)
    person.click("Sign in")
    person.wait_until_sees("Sign out")
    assert person.path == "/" and person.heading() == "Syncs"
    assert person.sees(USERS["editor"])


CONDITIONS = [
    ("Department", "equals", "Information Technology"),
    ("Experience_in_Years", "greater equal", "2"),
    ("Graduation_Year", "equals", "2015"),
    ("Graduation_Year", "equals", "2016"),
]


def test_an_editor_creates_a_criteria_sync_in_the_wizard_runs_it_and_reads_the_run(editor: Person) -> None:
    assert not editor.sees("Users") and not editor.sees("Tokens")  # no admin page for an editor
    editor.click("New sync")
    assert editor.heading() == "New sync"
    editor.choose("Connection", "acme-recruit")
    editor.pick("Records matching criteria")
    for number, (field, operator, value) in enumerate(CONDITIONS, start=1):
        if number > 1:
            editor.click("Add condition")
        condition = f"Condition {number}"
        editor.type_into("Field", field, within=condition)
        editor.choose("Operator", operator, within=condition)
        editor.type_into("Value", value, within=condition)
    editor.type_into("Pattern", "((1 and 2) and (3 or 3))")
    editor.type_into("Mailing list", "IT talent")
    name = unique("IT graduates 2015-16")
    editor.type_into("Sync name", name)
    editor.pick("Daily")
    editor.set_time("Time", not_due_today()["at"])

    editor.click("Create sync")
    [problem] = editor.problems_beside("Pattern")
    assert problem.startswith("selection.pattern: "), problem  # the scheduler's words, as the CLI prints
    assert editor.field("Value", within="Condition 4").get_attribute("value") == "2016"  # nothing lost
    editor.snapshot("new-sync")

    editor.type_into("Pattern", "((1 and 2) and (3 or 4))")
    editor.click("Create sync")
    editor.wait_until_sees("The sync was created.")
    assert editor.heading() == name
    assert editor.sees("((1 and 2) and (3 or 4))") and editor.sees("daily at")
    editor.snapshot("sync")

    editor.click("Edit")
    editor.snapshot("sync-edit")
    editor.pick("Weekly")
    editor.choose("Weekday", "Friday")
    editor.click("Save schedule")
    editor.wait_until_sees("Saved. The change applies from the next run.")
    assert editor.sees("weekly on friday at")

    editor.click("Run now")
    editor.wait_until_sees("Ignored, by reason")  # the page follows the run live, then shows its records
    assert editor.sees("succeeded")
    by_email = {row["Email"]: (row["Outcome"], row["Reason"]) for row in editor.table("Recruit id")}
    assert by_email == {
        "ADA.LOVELACE@analytical.example": ("new", ""),  # the more recently modified of the two
        "grace.hopper@navy.example": ("new", ""),
        "info@zylker.example": ("ignored", "role address"),
        "not-an-email": ("ignored", "invalid pattern"),
        "ada.lovelace@analytical.example": ("ignored", "file duplicate"),
    }
    assert {row["Reason"]: row["Records"] for row in editor.table("Reason")} == {
        "role address": "1",
        "invalid pattern": "1",
        "file duplicate": "1",
    }
    editor.snapshot("run")
    editor.click("Syncs")
    assert any(row["Name"] == name and row["State"] == "active" for row in editor.table("Next due"))
    editor.snapshot("syncs")


def test_a_running_run_updates_itself_until_it_ends(stack: Stack, editor: Person) -> None:
    sync_id = stack.create_sync({"name": unique("slow"), "connection": "acme-recruit", "list": "slow"})
    stack.sim("POST", "/_sim/faults", {"delay": 1.5, "count": 3})  # a slow Recruit: the run takes seconds
    try:
        editor.visit(f"/console/syncs/{sync_id}")
        editor.click("Run now")
        editor.wait_until_sees("running", timeout=5)
        assert editor.sees("The records are shown when the run has ended.")
        editor.wait_until_sees("succeeded")  # no reload by hand: htmx asks, then the page reloads itself
        editor.wait_until_sees("Ignored, by reason", timeout=10)
        assert len(editor.table("Recruit id")) == 8
    finally:
        stack.sim("POST", "/_sim/reset")


def test_filtering_a_runs_records_and_exporting_them(stack: Stack, viewer: Person) -> None:
    _, summary = a_run(stack, unique("everyone"))
    viewer.visit(f"/console/runs/{summary['run_id']}")
    viewer.choose("Outcome", "ignored")
    viewer.click("Show")
    rows = viewer.table("Recruit id")
    assert len(rows) == 3 and {row["Outcome"] for row in rows} == {"ignored"}

    export = viewer.download(str(viewer.link("Export CSV").get_attribute("href")))
    assert export["status"] == 200 and export["type"].startswith("text/csv")
    lines = export["text"].splitlines()
    assert lines[0] == "record_id,email,outcome,reason"
    assert sorted(line.split(",", 1)[1] for line in lines[1:]) == [
        "ada.lovelace@analytical.example,ignored,file_duplicate",
        "info@zylker.example,ignored,role_address",
        "not-an-email,ignored,invalid_pattern",
    ]

    viewer.choose("Outcome", "any")
    viewer.type_into("Email", "Grace.Hopper@navy.example")  # other runs have her too: only this one's
    viewer.click("Show")
    assert [row["Recruit id"] for row in viewer.table("Recruit id")] == ["400002"]


def test_a_viewer_sees_no_control_that_changes_anything_and_a_forged_post_is_refused(
    stack: Stack, viewer: Person
) -> None:
    sync_id, summary = a_run(stack, unique("read only"))
    for path in (
        "/",
        f"/console/syncs/{sync_id}",
        f"/console/runs/{summary['run_id']}",
        "/console/suppressions",
    ):
        viewer.visit(path)
        assert viewer.buttons() in (["Sign out", "Filter"], ["Sign out"], ["Sign out", "Show"]), path
    assert not viewer.sees("New sync")

    refused = viewer.post(
        f"/console/syncs/{sync_id}/run", {"csrf_token": viewer.csrf_token(), "full": "true"}
    )
    assert refused["status"] == 403
    assert f"{USERS['viewer']} has the viewer role; this needs editor or above" in refused["text"]
    assert len(stack.json("runs", "list", sync_id)) == 1


def test_a_form_posted_without_its_csrf_token_is_refused(stack: Stack, editor: Person) -> None:
    sync_id, _ = a_run(stack, unique("csrf"))
    editor.visit(f"/console/syncs/{sync_id}")
    refused = editor.post(f"/console/syncs/{sync_id}/pause", {})
    assert refused["status"] == 403 and "CSRF token missing or wrong" in refused["text"]
    assert stack.json("sync", "show", sync_id)["state"] == "active"
    editor.click("Pause")  # the page's own form carries it
    editor.wait_until_sees("The sync is paused")
    assert stack.json("sync", "show", sync_id)["state"] == "paused"


def test_an_admin_tours_the_other_pages(stack: Stack, admin: Person, tmp_path: Path) -> None:
    name = unique("tour")
    a_run(stack, name)

    admin.click("Explain")
    admin.type_into("Email", "info@zylker.example")
    admin.click("Explain")
    assert {(row["Outcome"], row["Reason"]) for row in admin.table("Outcome")} == {
        ("ignored", "role address")
    }
    admin.snapshot("explain")

    admin.click("Lists")
    admin.snapshot("lists")
    admin.click(name)
    assert "grace.hopper@navy.example" in [row["email"] for row in admin.table("email")]
    admin.snapshot("list-members")

    admin.click("Suppressions")
    admin.choose("Reason", "do not mail")
    admin.type_into("Addresses", "gone@example.com, nobody")
    admin.click("Suppress")
    admin.wait_until_sees("1 added as do not mail.")
    assert admin.sees("Not email addresses, left out: nobody")
    upload = tmp_path / "bounces.csv"
    upload.write_text("Name,Email\nPat,pat@example.com\n")
    admin.field("File").send_keys(str(upload))
    admin.click("Import")
    admin.wait_until_sees("1 added as bounced.")
    assert {row["Email"] for row in admin.table("Since")} >= {"gone@example.com", "pat@example.com"}
    admin.snapshot("suppressions")
    admin.click("Remove gone@example.com")
    admin.wait_until_sees("Removed.")
    assert "gone@example.com" not in {row["Email"] for row in admin.table("Since")}

    admin.click("Connections")
    assert [row["Name"] for row in admin.table("Client id")] == ["acme-recruit"]
    admin.snapshot("connections")

    admin.click("Users")
    assert {row["Email"] for row in admin.table("Role")} == set(USERS.values())
    admin.snapshot("users")

    admin.click("Tokens")
    admin.type_into("Name", "nightly-report")
    admin.click("Create token")
    admin.wait_until_sees("it is shown this once")
    token = str(admin.field("New token").get_attribute("value"))
    assert token.startswith("rs_")
    admin.snapshot("tokens")
    admin.click("Tokens")
    assert not admin.sees("it is shown this once") and token not in admin.driver.page_source
