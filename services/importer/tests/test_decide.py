"""SPEC section 5 on in-memory facts: every outcome, every ignore reason, the order of the checks,
file duplicates across batches and the earlier outcomes a takeover names, field mapping (SPEC
section 4), malformed records and deletions per option."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from recruit_sync.contracts.events import (
    DeletedRecord,
    Displacement,
    IgnoreReason,
    ImportSettings,
    Outcome,
    Superseded,
)
from recruit_sync.contracts.sync_spec import FieldMapping, OnRecruitDelete, Options
from recruit_sync.importer.claims import Claim, Prior, recency
from recruit_sync.importer.contacts import Membership, StoredContact
from recruit_sync.importer.decide import DECIDE_SLICE, Decision, decide, deciding
from recruit_sync.importer.facts import Facts
from recruit_sync.importer.mapping import Unreadable, convert_value
from recruit_sync.importer.parse import read_records, records_to_look_up

SYNC = "sync-1"
ADDED = datetime(2026, 10, 1, tzinfo=UTC)
DEFAULT_MAPPING = [
    FieldMapping(**{"from": "First_Name", "to": "first_name"}),
    FieldMapping(**{"from": "Last_Name", "to": "last_name"}),
]


def settings(
    mapping: list[FieldMapping] | None = None, enabled_at: dict[str, datetime] | None = None, **options: Any
) -> ImportSettings:
    return ImportSettings(
        list_name="IT talent",
        options=Options(**options),
        mapping=DEFAULT_MAPPING if mapping is None else mapping,
        settings_version=3,
        options_enabled_at=enabled_at or {},
    )


def rec(record_id: str = "1", email: object = "jane@example.com", **fields: Any) -> dict[str, Any]:
    return {"id": record_id, "Email": email, "First_Name": "Jane", "Last_Name": "Doe", **fields}


def contact(
    email: str = "jane@example.com",
    *,
    first: str | None = "Jane",
    last: str | None = "Doe",
    fields: dict[str, Any] | None = None,
    deleted: bool = False,
    on_list_by: str | None = None,
    membership_added: datetime = ADDED,
) -> StoredContact:
    membership = Membership(on_list_by, membership_added, 1) if on_list_by else None
    return StoredContact(email, first, last, fields or {}, deleted, membership)


def claim(
    record_id: str,
    modified_at: datetime | None = None,
    *,
    seq: int = 0,
    position: int = 0,
    deletion: bool = False,
    prior: Prior | None = None,
) -> Claim:
    """An earlier batch's claim: its outcome at ``position`` in batch ``seq`` holds the email."""
    return Claim(record_id, modified_at, seq, position, deletion, prior)


def run(
    records: list[Any],
    facts: Facts | None = None,
    import_settings: ImportSettings | None = None,
    deleted: tuple[str, ...] = (),
) -> Decision:
    import_settings = import_settings or settings()
    parsed = read_records(records, import_settings, "Candidates")
    return decide(
        parsed,
        [DeletedRecord(id=d) for d in deleted],
        sync_id=SYNC,
        settings=import_settings,
        facts=facts or Facts(),
    )


def outcomes(decision: Decision) -> list[tuple[str | None, str, str | None]]:
    return [(o.record_id, o.outcome.value, o.reason) for o in decision.outcomes]


# ------------------------------------------------------------------------------------ placing


def test_deciding_in_steps_yields_between_slices_then_the_same_decision() -> None:
    """``deciding`` is ``decide`` in slices (the importer decides ahead without holding up its loop):
    a None after each slice of records, then the decision, deletions included."""
    records = [rec(str(i), f"p{i % (DECIDE_SLICE + 50)}@example.com") for i in range(2 * DECIDE_SLICE + 1)]
    removing = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_LIST)
    parsed = read_records(records, removing, "Candidates")
    facts = Facts(links={"gone": "someone@example.com"})
    deleted = [DeletedRecord(id="gone")]
    steps = list(deciding(parsed, deleted, sync_id=SYNC, settings=removing, facts=facts))
    assert steps[:-1] == [None, None, None]
    assert steps[-1] == decide(parsed, deleted, sync_id=SYNC, settings=removing, facts=facts)
    assert steps[-1] is not None and len(steps[-1].outcomes) == 2 * DECIDE_SLICE + 1
    assert steps[-1].unlink == ["gone"]


def test_new_contact_is_created_linked_and_added() -> None:
    decision = run([rec("1", "Jane@Example.com")])
    assert outcomes(decision) == [("1", "new", None)]
    assert decision.outcomes[0].email == "Jane@example.com"
    assert decision.contacts == [("jane@example.com", "Jane@example.com", "Jane", "Doe", {})]
    assert decision.join_list == [("jane@example.com", "1")]
    assert decision.link == {"1": "jane@example.com"}
    # the run's claim on the email; the contact did not exist before the run
    assert decision.claims == [("jane@example.com", "1", None, 0, False, Prior(None))]
    assert decision.created == {"jane@example.com": 0}


def test_soft_deleted_contact_is_re_added() -> None:
    decision = run([rec()], Facts(contacts={"jane@example.com": contact(deleted=True)}))
    assert outcomes(decision) == [("1", "re_added", None)]
    assert [c[0] for c in decision.contacts] == ["jane@example.com"]  # restored
    assert decision.join_list == [("jane@example.com", "1")]


def test_contact_on_another_list_is_a_duplicate_added_here_too() -> None:
    decision = run([rec()], Facts(contacts={"jane@example.com": contact()}))
    assert outcomes(decision) == [("1", "duplicate", None)]
    assert decision.join_list == [("jane@example.com", "1")]
    assert decision.contacts == []  # same names: nothing to write


def test_duplicate_with_new_values_updates_the_contact() -> None:
    decision = run([rec(Last_Name="Smith")], Facts(contacts={"jane@example.com": contact()}))
    assert outcomes(decision) == [("1", "duplicate", None)]
    assert decision.contacts == [("jane@example.com", "jane@example.com", "Jane", "Smith", {})]


def test_contact_on_the_list_is_unchanged_or_updated() -> None:
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by="other-sync")}, links={"1": "jane@example.com"}
    )
    unchanged = run([rec()], facts)
    assert outcomes(unchanged) == [("1", "unchanged", None)]
    assert unchanged.contacts == [] and unchanged.join_list == [] and unchanged.link == {}
    updated = run([rec(First_Name="Janet")], facts)
    assert outcomes(updated) == [("1", "updated", None)]
    assert updated.contacts == [("jane@example.com", "jane@example.com", "Janet", "Doe", {})]
    assert updated.join_list == []


def test_only_mapped_fields_count_as_changes() -> None:
    mapping = [*DEFAULT_MAPPING, FieldMapping(**{"from": "Current_Employer", "to": "company"})]
    stored = contact(fields={"company": "Zylker", "skills": "SQL"}, on_list_by=SYNC)
    facts = Facts(contacts={"jane@example.com": stored})
    same = run([rec(Current_Employer="Zylker", City="Chennai")], facts, settings(mapping))
    assert outcomes(same) == [("1", "unchanged", None)]
    moved = run([rec(Current_Employer="Acme")], facts, settings(mapping))
    assert outcomes(moved) == [("1", "updated", None)]
    assert moved.contacts[0][4] == {"company": "Acme"}  # merged into the stored fields by the store


def test_a_field_absent_from_the_record_keeps_the_stored_value_and_null_clears_it() -> None:
    facts = Facts(contacts={"jane@example.com": contact(on_list_by=SYNC)})
    absent = {"id": "1", "Email": "jane@example.com", "First_Name": "Jane"}  # no Last_Name key
    assert outcomes(run([absent], facts)) == [("1", "unchanged", None)]
    cleared = run([{**absent, "Last_Name": None}], facts)
    assert outcomes(cleared) == [("1", "updated", None)]
    assert cleared.contacts[0][3] is None


def test_email_comes_from_the_email_field_even_when_the_mapping_omits_it() -> None:
    decision = run([{"id": "7", "Email": "ann@example.com"}], import_settings=settings(mapping=[]))
    assert outcomes(decision) == [("7", "new", None)]
    assert decision.contacts == [("ann@example.com", "ann@example.com", None, None, {})]


# ------------------------------------------------------------------------------------ ignore reasons


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": "1"}, "empty_email"),
        (rec(email=None), "empty_email"),
        (rec(email="  "), "empty_email"),
        (rec(email="patriciazylker.com"), "invalid_pattern"),
        (rec(email="john@gnail"), "invalid_pattern"),
        (rec(email="careers@zylker.com"), "role_address"),
        (rec(Email_Opt_Out=True), "opt_out"),
        (rec(**{"$converted": True}), "converted"),
    ],
)
def test_ignore_reasons_from_the_record(record: dict[str, Any], reason: str) -> None:
    decision = run([record], import_settings=settings(exclude_opt_out=True, exclude_converted=True))
    assert outcomes(decision) == [("1", "ignored", reason)]
    assert decision.contacts == [] and decision.join_list == [] and decision.link == {}


@pytest.mark.parametrize(
    ("suppressed", "reason"),
    [
        ({IgnoreReason.DO_NOT_MAIL}, "do_not_mail"),
        ({IgnoreReason.BOUNCED}, "bounced"),
        ({IgnoreReason.BOUNCED, IgnoreReason.DO_NOT_MAIL}, "do_not_mail"),  # check 7 before check 8
    ],
)
def test_suppressed_addresses_are_ignored(suppressed: set[IgnoreReason], reason: str) -> None:
    facts = Facts(suppressed={"jane@example.com": frozenset(suppressed)})
    decision = run([rec(email="JANE@example.com")], facts)
    assert outcomes(decision) == [("1", "ignored", reason)]
    assert decision.contacts == []


def test_options_off_let_opted_out_and_converted_records_in() -> None:
    decision = run(
        [rec("1", "a@example.com", Email_Opt_Out=True), rec("2", "b@example.com", **{"$converted": True})]
    )
    assert outcomes(decision) == [("1", "new", None), ("2", "new", None)]


def test_file_duplicates_within_the_batch_and_across_the_run() -> None:
    facts = Facts(claims={"earlier@example.com": claim("9")})  # placed by an earlier batch
    decision = run(
        [
            rec("1", "jane@example.com"),
            rec("2", "JANE@example.com"),  # same contact, other spelling, larger id: wins
            rec("3", "earlier@example.com"),  # smaller id than the earlier batch's record: loses
        ],
        facts,
    )
    assert outcomes(decision) == [
        ("1", "ignored", "file_duplicate"),
        ("2", "new", None),
        ("3", "ignored", "file_duplicate"),
    ]
    assert [c[:2] for c in decision.claims] == [("jane@example.com", "2")]


def test_the_most_recently_modified_record_keeps_the_email_whatever_its_place() -> None:
    older = rec("7", Last_Name="Older", Updated_On="2026-10-01T10:00:00+05:30")
    newer = rec("3", Last_Name="Newer", Updated_On="2026-10-02T10:00:00+05:30")
    for batch in ([older, newer], [newer, older]):
        decision = run(batch)
        assert sorted(outcomes(decision)) == [("3", "new", None), ("7", "ignored", "file_duplicate")]
        assert [c[3] for c in decision.contacts] == ["Newer"]


def test_recency_is_modification_time_then_the_larger_id() -> None:
    early, late = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)
    assert recency("1", late) > recency("9", early)
    assert recency("10", early) > recency("9", early)  # numeric ids compare as numbers
    assert recency("1", early) > recency("9", None)  # no readable time: oldest
    naive = read_records([rec(Updated_On="2026-10-01T10:00:00")], settings(), "Candidates")[0]
    assert naive.modified_at == datetime(2026, 10, 1, 10, tzinfo=UTC)  # type: ignore[union-attr]


def test_modification_time_is_updated_on_for_candidates_and_modified_time_elsewhere() -> None:
    both = rec(Updated_On="2026-10-01T10:00:00+00:00", Modified_Time="2026-10-05T10:00:00+00:00")
    candidate = read_records([both], settings(), "Candidates")[0]
    contact_record = read_records([both], settings(), "Contacts")[0]
    assert candidate.modified_at == datetime(2026, 10, 1, 10, tzinfo=UTC)  # type: ignore[union-attr]
    assert contact_record.modified_at == datetime(2026, 10, 5, 10, tzinfo=UTC)  # type: ignore[union-attr]


def test_a_less_recent_record_than_the_runs_claim_is_a_file_duplicate_and_loses_its_link() -> None:
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=SYNC)},
        claims={"jane@example.com": claim("5", datetime(2026, 10, 3, tzinfo=UTC))},
        links={"4": "jane@example.com"},  # record 4 held the contact in an earlier run
    )
    decision = run([rec("4", Updated_On="2026-10-02T00:00:00+00:00")], facts)
    assert outcomes(decision) == [("4", "ignored", "file_duplicate")]
    assert decision.unlink == ["4"] and decision.contacts == [] and decision.claims == []
    assert decision.superseded == []  # the claimant's outcome stands


def test_a_more_recent_record_takes_the_email_over_from_an_earlier_batch() -> None:
    """The earlier claimant updated the contact; the newer record is decided against the contact as
    the run found it, which the store puts back first."""
    found = contact(last="Original", on_list_by=SYNC)
    earlier = claim("5", datetime(2026, 10, 1, tzinfo=UTC), prior=Prior(found))
    facts = Facts(
        contacts={"jane@example.com": contact(last="Older", on_list_by=SYNC)},  # as the claimant left it
        claims={"jane@example.com": earlier},
    )
    same_as_found = run([rec("6", Last_Name="Original", Updated_On="2026-10-02T00:00:00+00:00")], facts)
    assert outcomes(same_as_found) == [("6", "unchanged", None)]
    assert same_as_found.restore == [("jane@example.com", Prior(found))]
    assert same_as_found.unlink == ["5"]
    # the new claim keeps the contact as the run found it, for a yet more recent record
    assert same_as_found.reclaims == [
        ("jane@example.com", "6", datetime(2026, 10, 2, tzinfo=UTC), 0, False, Prior(found))
    ]

    changed = run([rec("6", Last_Name="Newest", Updated_On="2026-10-02T00:00:00+00:00")], facts)
    assert outcomes(changed) == [("6", "updated", None)]
    assert changed.contacts == [("jane@example.com", "jane@example.com", "Jane", "Newest", {})]


def test_a_more_recent_record_takes_over_a_contact_the_run_created() -> None:
    earlier = claim("5", datetime(2026, 10, 1, tzinfo=UTC), prior=Prior(None))
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=SYNC)}, claims={"jane@example.com": earlier}
    )
    decision = run([rec("6", Last_Name="Newer", Updated_On="2026-10-02T00:00:00+00:00")], facts)
    assert outcomes(decision) == [("6", "new", None)]
    assert decision.restore == [("jane@example.com", Prior(None))]  # the store removes it first
    assert decision.join_list == [("jane@example.com", "6")]
    # a more recent but opted-out record: the contact the run created goes again and nothing replaces it
    opted_out = run(
        [rec("6", Email_Opt_Out=True, Updated_On="2026-10-02T00:00:00+00:00")],
        facts,
        settings(exclude_opt_out=True),
    )
    assert outcomes(opted_out) == [("6", "ignored", "opt_out")]
    assert opted_out.restore == [("jane@example.com", Prior(None))]
    assert opted_out.contacts == [] and opted_out.join_list == []


def test_a_claimant_that_changed_nothing_is_displaced_without_a_restore() -> None:
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=SYNC)},
        claims={"jane@example.com": claim("5", datetime(2026, 10, 1, tzinfo=UTC))},
    )
    decision = run([rec("6", Updated_On="2026-10-02T00:00:00+00:00")], facts)
    assert outcomes(decision) == [("6", "unchanged", None)]
    assert decision.restore == []
    assert decision.reclaims == [
        (
            "jane@example.com",
            "6",
            datetime(2026, 10, 2, tzinfo=UTC),
            0,
            False,
            Prior(facts.contacts["jane@example.com"]),
        )
    ]


# ------------------------------------------------------------------------------------ what a takeover names
# (the earlier outcome it displaces, as its batch's seq and its position in that batch's outcomes)

NEWER = "2026-10-02T00:00:00+00:00"


def test_a_more_recent_record_in_a_later_batch_names_the_outcome_it_makes_a_file_duplicate() -> None:
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=SYNC)},
        claims={"jane@example.com": claim("5", datetime(2026, 10, 1, tzinfo=UTC), seq=3, position=17)},
    )
    decision = run([rec("1", "bob@example.com"), rec("6", Updated_On=NEWER)], facts)
    assert outcomes(decision) == [("1", "new", None), ("6", "unchanged", None)]
    assert decision.superseded == [Superseded(seq=3, position=17, by=1, becomes=Displacement.FILE_DUPLICATE)]
    # the new claim says where its own outcome is, for the next record to take the email over
    assert [(row[1], row[3]) for row in decision.reclaims] == [("6", 1)]


@pytest.mark.parametrize(
    ("record", "held_as"),
    [
        (rec("6", Updated_On=NEWER, Email_Opt_Out=True), ("6", "ignored", "opt_out")),
        (rec("6", Updated_On=NEWER, **{"$converted": True}), ("6", "ignored", "converted")),
        (rec("6", Updated_On=NEWER, Last_Name="Newer"), ("6", "updated", None)),
    ],
)
def test_any_outcome_holding_the_email_displaces_the_claimants(
    record: dict[str, Any], held_as: tuple[str, str, str | None]
) -> None:
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=SYNC)},
        claims={"jane@example.com": claim("5", datetime(2026, 10, 1, tzinfo=UTC), seq=1, position=4)},
    )
    decision = run([record], facts, settings(exclude_opt_out=True, exclude_converted=True))
    assert outcomes(decision) == [held_as]
    assert decision.superseded == [Superseded(seq=1, position=4, by=0, becomes=Displacement.FILE_DUPLICATE)]


def test_a_live_record_after_a_deletion_names_the_deletion_void() -> None:
    found = contact(on_list_by=SYNC)
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=None, deleted=True)},
        claims={"jane@example.com": claim("99", seq=2, position=5, deletion=True, prior=Prior(found))},
    )
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_ORG)
    decision = run([rec("100", "bob@example.com"), rec("101", "ann@example.com"), rec("100")], facts, options)
    assert outcomes(decision)[2] == ("100", "unchanged", None)
    assert decision.superseded == [Superseded(seq=2, position=5, by=2, becomes=Displacement.VOID)]


def test_a_chain_of_takeovers_names_the_then_current_holder_each_time() -> None:
    """A (batch 0) is displaced by B (batch 2), then B by C (batch 1): the claim each batch finds is
    the one the batch before it left, and each names that one."""
    key = "jane@example.com"
    a = rec("1", Updated_On="2026-10-01T00:00:00+00:00")
    b = rec("2", Updated_On="2026-10-02T00:00:00+00:00")
    c = rec("3", Updated_On="2026-10-03T00:00:00+00:00")
    filler = rec("9", "bob@example.com")

    first = run([filler, a])  # batch 0: A is new, its outcome at position 1
    [(_, record_id, modified_at, position, deletion, prior)] = [r for r in first.claims if r[0] == key]
    assert (record_id, position) == ("1", 1)
    held_by_a = Claim(record_id, modified_at, 0, position, deletion, prior)

    second = run([b], Facts(contacts={key: contact(on_list_by=SYNC)}, claims={key: held_by_a}))  # batch 2
    assert second.superseded == [Superseded(seq=0, position=1, by=0, becomes=Displacement.FILE_DUPLICATE)]
    [(_, record_id, modified_at, position, deletion, prior)] = second.reclaims
    held_by_b = Claim(record_id, modified_at, 2, position, deletion, prior)

    third = run([filler, filler, c], Facts(contacts={key: contact(on_list_by=SYNC)}, claims={key: held_by_b}))
    assert third.superseded == [Superseded(seq=2, position=0, by=2, becomes=Displacement.FILE_DUPLICATE)]
    assert outcomes(third)[2] == ("3", "new", None)  # decided against the contact as the run found it


def test_an_older_record_or_a_repeat_names_nothing() -> None:
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=SYNC)},
        claims={"jane@example.com": claim("5", datetime(2026, 10, 3, tzinfo=UTC), seq=0, position=0)},
    )
    older = run([rec("4", Updated_On=NEWER)], facts)
    assert outcomes(older) == [("4", "ignored", "file_duplicate")]
    same_record_again = run([rec("5", Updated_On="2026-10-03T00:00:00+00:00")], facts)
    assert outcomes(same_record_again) == [("5", "ignored", "file_duplicate")]
    within_the_batch = run([rec("7", "bob@example.com"), rec("8", "BOB@example.com")])
    assert outcomes(within_the_batch) == [("7", "ignored", "file_duplicate"), ("8", "new", None)]
    assert older.superseded == same_record_again.superseded == within_the_batch.superseded == []


def test_a_claim_from_before_positions_were_kept_is_taken_over_naming_nothing() -> None:
    legacy = Claim("5", datetime(2026, 10, 1, tzinfo=UTC), 0, None)
    decision = run([rec("6", Updated_On=NEWER)], Facts(claims={"jane@example.com": legacy}))
    assert outcomes(decision) == [("6", "new", None)]
    assert decision.superseded == []


def test_an_email_refused_by_checks_5_to_8_still_counts_as_seen() -> None:
    decision = run([rec("1"), rec("2", Email_Opt_Out=True)], import_settings=settings(exclude_opt_out=True))
    assert outcomes(decision) == [("1", "ignored", "file_duplicate"), ("2", "ignored", "opt_out")]


def test_invalid_and_role_addresses_do_not_make_later_records_file_duplicates() -> None:
    decision = run([rec("1", "info@zylker.com"), rec("2", "info@zylker.com"), rec("3", "x@"), rec("4", "x@")])
    assert [o.reason for o in decision.outcomes] == ["role_address"] * 2 + ["invalid_pattern"] * 2


@pytest.mark.parametrize(
    ("record", "facts", "reason"),
    [
        # an opted-out role address is a role address (check 3 before 5)
        (rec(email="support@zylker.com", Email_Opt_Out=True), Facts(), "role_address"),
        # an opted-out, bounced address is opt_out (check 5 before 8)
        (
            rec(Email_Opt_Out=True),
            Facts(suppressed={"jane@example.com": frozenset({IgnoreReason.BOUNCED})}),
            "opt_out",
        ),
        # a converted, do-not-mail address is converted (check 6 before 7)
        (
            rec(**{"$converted": True}),
            Facts(suppressed={"jane@example.com": frozenset({IgnoreReason.DO_NOT_MAIL})}),
            "converted",
        ),
        # a file duplicate that is also opted out is a file duplicate (check 4 before 5)
        (rec(Email_Opt_Out=True), Facts(claims={"jane@example.com": claim("9")}), "file_duplicate"),
        # an empty email on an opted-out record is empty (check 1 first)
        (rec(email="", Email_Opt_Out=True), Facts(), "empty_email"),
    ],
)
def test_checks_run_in_spec_order(record: dict[str, Any], facts: Facts, reason: str) -> None:
    decision = run([record], facts, settings(exclude_opt_out=True, exclude_converted=True))
    assert outcomes(decision) == [("1", "ignored", reason)]


def test_converted_candidate_is_removed_from_this_list_whoever_added_it() -> None:
    facts = Facts(contacts={"jane@example.com": contact(on_list_by="another-sync")})
    decision = run([rec(**{"$converted": True})], facts, settings(exclude_converted=True))
    assert outcomes(decision) == [("1", "ignored", "converted")]
    assert decision.leave_list == ["jane@example.com"]
    assert decision.soft_delete == [] and decision.leave_all_lists == []


def test_converted_candidate_not_on_the_list_changes_nothing() -> None:
    facts = Facts(contacts={"jane@example.com": contact()})
    decision = run([rec(**{"$converted": True})], facts, settings(exclude_converted=True))
    assert decision.leave_list == []


# ------------------------------------------------------------------------------------ malformed


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("not a record", "record is not an object"),
        (["id", "1"], "record is not an object"),
        ({"Email": "a@example.com"}, "id missing"),
        ({"id": "", "Email": "a@example.com"}, "id missing"),
        ({"id": {"x": 1}, "Email": "a@example.com"}, "id is not a string"),
        ({"id": "1", "Email": 42}, "Email is not a string"),
        ({"id": "1", "Email": ["a@example.com"]}, "Email is not a string"),
        (
            {"id": "1", "Email": "a@example.com", "Email_Opt_Out": "yes"},
            "Email_Opt_Out is not a boolean",
        ),
        ({"id": "1", "Email": "a@example.com", "$converted": 1}, "$converted is not a boolean"),
        (
            {"id": "1", "Email": "a@example.com", "First_Name": 7},
            "First_Name is not text (mapped to first_name)",
        ),
        (
            {"id": "1", "Email": "a@example.com", "First_Name": {"id": "9"}},
            "First_Name is an object without a name",
        ),
    ],
)
def test_malformed_records_are_ignored_with_their_problem(record: object, problem: str) -> None:
    decision = run([record, rec("2", "ok@example.com")])
    malformed = decision.outcomes[0]
    assert (malformed.outcome, malformed.reason, malformed.problem) == (
        Outcome.IGNORED,
        IgnoreReason.MALFORMED,
        problem,
    )
    assert malformed.reason_text == f"malformed: {problem}"  # as INTERFACE.md's runs records shows it
    assert outcomes(decision)[1] == ("2", "new", None)  # the batch goes on


def test_malformed_outcome_keeps_what_could_be_read() -> None:
    decision = run([{"id": "5", "Email": " a@example.com ", "Email_Opt_Out": "no"}])
    assert decision.outcomes[0].record_id == "5"
    assert decision.outcomes[0].email == "a@example.com"


def test_numeric_ids_are_read_as_text() -> None:
    assert outcomes(run([rec(1234)])) == [("1234", "new", None)]  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ mapping


def test_mapped_values_are_converted_by_type() -> None:
    mapping = [
        *DEFAULT_MAPPING,
        FieldMapping(**{"from": "Experience_in_Years", "to": "experience"}),
        FieldMapping(**{"from": "Willing_To_Relocate", "to": "relocate"}),
        FieldMapping(**{"from": "Candidate_Status", "to": "status"}),
        FieldMapping(**{"from": "Skill_Set", "to": "skills"}),
        FieldMapping(**{"from": "Candidate_Owner", "to": "owner"}),
        FieldMapping(**{"from": "Date_Of_Birth", "to": "born"}),
        FieldMapping(**{"from": "Created_Time", "to": "created"}),
        FieldMapping(**{"from": "Last_Mailed_Time", "to": "mailed"}),
        FieldMapping(**{"from": "Salary", "to": "salary"}),
        FieldMapping(**{"from": "Fax", "to": "fax"}),
    ]
    record = rec(
        Experience_in_Years=4,
        Willing_To_Relocate=True,
        Candidate_Status="Qualified",
        Skill_Set=["Python", "SQL"],
        Candidate_Owner={"name": "Priya Raman", "id": "486812000000199001"},
        Date_Of_Birth="1990-04-01",
        Created_Time="2026-10-01T10:00:00+05:30",
        Last_Mailed_Time="2026-10-01 10:00:00",
        Salary=55000.5,
        Fax=None,
    )
    decision = run([record], import_settings=settings(mapping))
    assert decision.contacts[0][4] == {
        "experience": 4,
        "relocate": True,
        "status": "Qualified",
        "skills": ["Python", "SQL"],
        "owner": "Priya Raman",
        "born": "1990-04-01",
        "created": "2026-10-01T10:00:00+05:30",
        "mailed": "2026-10-01T10:00:00",
        "salary": 55000.5,
        "fax": None,
    }


@pytest.mark.parametrize(
    ("value", "converted"),
    [
        (None, None),
        (False, False),
        (0, 0),
        ("Chennai", "Chennai"),
        ("2026-10-01T10:00:00.000+05:30", "2026-10-01T10:00:00+05:30"),
        ("2026-13-45 99:99", "2026-13-45 99:99"),  # looks like a date-time, is not one: kept as text
        (date(2026, 10, 1), "2026-10-01"),
        (datetime(2026, 10, 1, 4, 30, tzinfo=UTC), "2026-10-01T04:30:00+00:00"),
        ([{"name": "Java", "id": "1"}, "SQL"], ["Java", "SQL"]),
        ({"name": None, "id": "1"}, None),
    ],
)
def test_convert_value(value: object, converted: object) -> None:
    assert convert_value("Field", value) == converted


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"id": "1"}, "Field is an object without a name"),
        ({"name": 5}, "Field.name is not a string"),
        ([["a"]], "Field is a list of lists"),
        (b"bytes", "Field has a value of unsupported type bytes"),
    ],
)
def test_convert_value_refuses_what_no_contact_field_can_hold(value: object, problem: str) -> None:
    with pytest.raises(Unreadable, match=problem):
        convert_value("Field", value)


# ------------------------------------------------------------------------------------ deletions


def deletion_facts(on_list_by: str | None = SYNC, deleted: bool = False) -> Facts:
    return Facts(
        contacts={"jane@example.com": contact(on_list_by=on_list_by, deleted=deleted)},
        links={"99": "jane@example.com"},
    )


def test_keep_ignores_deletions_entirely() -> None:
    decision = run([], deletion_facts(), settings(on_recruit_delete=OnRecruitDelete.KEEP), deleted=("99",))
    assert list(decision.outcomes) == [] and decision.unlink == [] and decision.leave_list == []


def test_remove_from_list_removes_what_this_sync_added() -> None:
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_LIST)
    decision = run([], deletion_facts(), options, deleted=("99",))
    assert outcomes(decision) == [("99", "deleted", None)]
    assert decision.outcomes[0].email == "jane@example.com"
    assert decision.leave_list == ["jane@example.com"]
    assert decision.unlink == ["99"]
    assert decision.soft_delete == []


def test_remove_from_list_leaves_another_syncs_membership_alone() -> None:
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_LIST)
    decision = run([], deletion_facts(on_list_by="another-sync"), options, deleted=("99",))
    assert list(decision.outcomes) == [] and decision.leave_list == []


def test_remove_from_org_soft_deletes_and_leaves_every_list() -> None:
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_ORG)
    elsewhere = ((7, Membership("another-sync", ADDED, 1, "99")),)
    facts = Facts(
        contacts=deletion_facts().contacts,
        links={"99": "jane@example.com"},
        elsewhere={"jane@example.com": elsewhere},
    )
    decision = run([], facts, options, deleted=("99",))
    assert outcomes(decision) == [("99", "deleted", None)]
    assert decision.soft_delete == ["jane@example.com"]
    assert decision.leave_all_lists == ["jane@example.com"]
    # the deletion holds the email for the run, remembering every membership it removed
    assert decision.claims == [
        ("jane@example.com", "99", None, 0, True, Prior(facts.contacts["jane@example.com"], elsewhere))
    ]


def test_remove_from_org_acts_only_on_what_this_sync_added() -> None:
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_ORG)
    for on_list_by in ("another-sync", None):
        decision = run([], deletion_facts(on_list_by=on_list_by), options, deleted=("99",))
        assert list(decision.outcomes) == [] and decision.soft_delete == []


def test_deletions_of_unknown_or_already_deleted_contacts_report_nothing() -> None:
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_ORG)
    assert list(run([], Facts(), options, deleted=("404",)).outcomes) == []
    again = run([], deletion_facts(deleted=True), options, deleted=("99", "99"))
    assert list(again.outcomes) == [] and again.soft_delete == []


def test_a_live_record_of_the_email_wins_over_a_deletion_in_the_same_batch() -> None:
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_ORG)
    decision = run([rec("100")], deletion_facts(), options, deleted=("99",))
    assert outcomes(decision) == [("100", "unchanged", None)]
    assert decision.soft_delete == [] and decision.leave_list == []
    assert decision.unlink == ["99"]  # the deleted record stands for nothing any more


def test_a_deletion_after_a_live_record_of_an_earlier_batch_does_nothing() -> None:
    options = settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_LIST)
    facts = Facts(
        contacts=deletion_facts().contacts,
        links={"99": "jane@example.com"},
        claims={"jane@example.com": claim("100")},
    )
    decision = run([], facts, options, deleted=("99",))
    assert list(decision.outcomes) == [] and decision.leave_list == []


def test_a_live_record_takes_the_email_over_from_an_earlier_batchs_deletion() -> None:
    found = contact(on_list_by=SYNC)
    facts = Facts(
        contacts={"jane@example.com": contact(on_list_by=None, deleted=True)},  # as the deletion left it
        claims={"jane@example.com": claim("99", deletion=True, prior=Prior(found))},
    )
    decision = run([rec("100")], facts, settings(on_recruit_delete=OnRecruitDelete.REMOVE_FROM_ORG))
    assert outcomes(decision) == [("100", "unchanged", None)]  # decided against the contact as found
    assert decision.restore == [("jane@example.com", Prior(found))]
    assert decision.unlink == []  # the deleted record's link went with the deletion


# ------------------------------------------------------------------------------------ effective from


ENABLED = datetime(2026, 10, 15, tzinfo=UTC)  # after ADDED: memberships added before the option


def test_deletion_options_enabled_later_leave_earlier_memberships_alone() -> None:
    """SPEC 2.5's worked example: added before remove_from_list was enabled, so not removed."""
    for option in (OnRecruitDelete.REMOVE_FROM_LIST, OnRecruitDelete.REMOVE_FROM_ORG):
        options = settings(on_recruit_delete=option, enabled_at={"on_recruit_delete": ENABLED})
        decision = run([], deletion_facts(), options, deleted=("99",))
        assert list(decision.outcomes) == [] and decision.leave_list == [] and decision.soft_delete == []
        enabled_earlier = settings(on_recruit_delete=option, enabled_at={"on_recruit_delete": ADDED})
        assert outcomes(run([], deletion_facts(), enabled_earlier, deleted=("99",))) == [
            ("99", "deleted", None)
        ]


def test_exclude_opt_out_enabled_later_applies_to_new_memberships_only() -> None:
    options = settings(exclude_opt_out=True, enabled_at={"exclude_opt_out": ENABLED})
    on_list_before = Facts(contacts={"jane@example.com": contact(on_list_by=SYNC)})
    opted_out = rec(Email_Opt_Out=True, Last_Name="Smith")
    assert outcomes(run([opted_out], on_list_before, options)) == [("1", "updated", None)]
    elsewhere_only = Facts(contacts={"jane@example.com": contact()})  # not on this list yet
    assert outcomes(run([opted_out], elsewhere_only, options)) == [("1", "ignored", "opt_out")]
    assert outcomes(run([opted_out], Facts(), options)) == [("1", "ignored", "opt_out")]
    added_after = Facts(
        contacts={"jane@example.com": contact(on_list_by=SYNC, membership_added=ENABLED.replace(day=16))}
    )
    assert outcomes(run([opted_out], added_after, options)) == [("1", "ignored", "opt_out")]


def test_exclude_converted_applies_to_every_membership_whenever_enabled() -> None:
    options = settings(exclude_converted=True, enabled_at={"exclude_converted": ENABLED})
    facts = Facts(contacts={"jane@example.com": contact(on_list_by=SYNC)})
    decision = run([rec(**{"$converted": True})], facts, options)
    assert outcomes(decision) == [("1", "ignored", "converted")]
    assert decision.leave_list == ["jane@example.com"]
    assert decision.claims[0][5] == Prior(facts.contacts["jane@example.com"])  # removal is undoable


# ------------------------------------------------------------------------------------ lookups, races


def test_records_to_look_up_are_those_past_checks_1_to_3() -> None:
    parsed = read_records(
        [rec("1"), rec("2", ""), rec("3", "info@x.com"), {"id": "4", "Email": 1}], settings(), "Candidates"
    )
    assert records_to_look_up(parsed) == [("1", "jane@example.com")]


def test_new_contacts_created_concurrently_elsewhere_count_as_duplicates() -> None:
    decision = run([rec("1", "a@example.com"), rec("2", "b@example.com")])
    corrected = decision.counted_as_existing({"b@example.com"})
    assert [o.outcome for o in corrected] == [Outcome.NEW, Outcome.DUPLICATE]
    assert [o.outcome for o in decision.outcomes] == [Outcome.NEW, Outcome.NEW]


def test_an_updated_contact_keeps_no_membership_in_its_prior_and_a_takeover_fills_it_in() -> None:
    found = contact(last="Original", on_list_by=SYNC)
    first = run([rec("5", Last_Name="Older")], Facts(contacts={"jane@example.com": found}))
    assert outcomes(first) == [("5", "updated", None)]
    prior = first.claims[0][5]
    assert prior == Prior(found, membership_changed=False)  # the store's membership is the one found

    as_left = contact(last="Older", on_list_by=SYNC)
    facts = Facts(
        contacts={"jane@example.com": as_left}, claims={"jane@example.com": claim("5", prior=prior)}
    )
    later = run([rec("6", Last_Name="Original")], facts)
    assert outcomes(later) == [("6", "unchanged", None)]
    restored = Prior(found)  # membership filled in from the store, explicit for the next takeover
    assert later.restore == [("jane@example.com", restored)] and later.reclaims[0][5] == restored
