"""slim: a record keeps the fields the import reads, those it has, with their values as Recruit gave them."""

from __future__ import annotations

from recruit_sync.contracts.events import ImportSettings
from recruit_sync.contracts.sync_spec import FieldMapping, Options
from recruit_sync.fetcher.slim import batch_fields, slim


def settings(*sources: str) -> ImportSettings:
    mapping = [FieldMapping(**{"from": source, "to": f"f{n}"}) for n, source in enumerate(sources)]
    return ImportSettings(list_name="L", options=Options(), mapping=mapping, settings_version=1)


def test_batch_fields_are_the_checked_and_the_mapped() -> None:
    assert batch_fields(settings("Last_Name", "Client_Name")) == {
        "$converted", "Client_Name", "Email", "Email_Opt_Out",
        "Last_Name", "Modified_Time", "Updated_On", "id",
    }  # fmt: skip
    assert batch_fields(settings()) == {
        "$converted",
        "Email",
        "Email_Opt_Out",
        "Modified_Time",
        "Updated_On",
        "id",
    }


def test_a_record_keeps_the_wanted_fields_it_has_and_their_values() -> None:
    lookup = {"name": "Zylker", "id": "7001"}
    record = {
        "id": 42,  # not a string: the importer reports it as malformed, so it is sent as it is
        "Email": None,
        "Email_Opt_Out": "yes",
        "Client_Name": lookup,
        "Phone": "+1 555",
        "Educational_Details": [{"School": "X"}],
    }
    original = dict(record)
    [slimmed] = slim([record], batch_fields(settings("Client_Name", "Last_Name")))
    assert slimmed == {"id": 42, "Email": None, "Email_Opt_Out": "yes", "Client_Name": lookup}
    assert slimmed["Client_Name"] is lookup  # values as Recruit gave them, not copies
    assert "Last_Name" not in slimmed  # absent stays absent (the contact keeps its value), not null
    assert record == original  # the page's record is not changed


def test_every_record_of_a_page_is_slimmed_in_order_its_fields_as_recruit_sent_them() -> None:
    page = [{"id": str(n), "City": "Pune", "Email": f"c{n}@example.com"} for n in range(3)]
    slimmed = slim(page, frozenset({"Email", "id"}))
    assert slimmed == [{"id": str(n), "Email": f"c{n}@example.com"} for n in range(3)]
    assert [list(record) for record in slimmed] == [["id", "Email"]] * 3
    assert slim([], frozenset({"id"})) == []
