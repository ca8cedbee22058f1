"""import_batch on a real PostgreSQL: outcomes, the rows they leave, idempotency and concurrency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.events import BatchImported, Displacement, RecordBatch, Superseded
from recruit_sync.contracts.ids import batch_imported_id
from recruit_sync.contracts.resources import (
    ListInfo,
    ListRef,
    NoArguments,
    Suppress,
    SuppressionReason,
    SuppressionsQuery,
    Unsuppress,
)
from recruit_sync.importer import handlers
from recruit_sync.runtime.rpc import RpcError

pytestmark = pytest.mark.integration


def summary(event: BatchImported) -> list[tuple[str | None, str, str | None]]:
    return [(o.record_id, o.outcome.value, o.reason_text) for o in event.outcomes]


async def members(pool: asyncpg.Pool, list_name: str) -> list[dict[str, Any]]:
    return [m.model_dump() for m in await handlers.list_members(pool, ListRef(list=list_name))]


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the importer writes, to compare before/after a redelivery."""
    tables = (
        "contacts",
        "lists",
        "memberships",
        "record_links",
        "suppressions",
        "run_emails",
        "imported_batches",
    )
    async with pool.acquire() as conn:
        return {t: sorted(tuple(r) for r in await conn.fetch(f"SELECT * FROM {t}")) for t in tables}


async def test_new_then_unchanged_then_updated(pool: asyncpg.Pool, sync: Any, record: Any) -> None:
    first = await handlers.import_batch(
        pool,
        sync.batch(
            0,
            [
                record("1", "Jane@Example.com", Current_Employer="Zylker"),
                record("2", "bob@example.com", "Bob", "Lee"),
            ],
        ),
    )
    assert summary(first) == [("1", "new", None), ("2", "new", None)]
    assert first.event_id == batch_imported_id(sync.run_id, 0)
    assert first.correlation_id == sync.run_id

    sync.new_run()
    again = await handlers.import_batch(
        pool,
        sync.batch(
            0,
            [
                record("1", "jane@example.com", Current_Employer="Zylker"),
                record("2", "bob@example.com", "Bob", "Lee"),
            ],
        ),
    )
    assert summary(again) == [("1", "unchanged", None), ("2", "unchanged", None)]

    sync.new_run()
    changed = await handlers.import_batch(
        pool,
        sync.batch(
            0,
            [
                record("1", "jane@example.com", "Janet", "Smith", Current_Employer="Acme"),
                record("2", "bob@example.com", "Bob", "Lee"),
            ],
        ),
    )
    assert summary(changed) == [("1", "updated", None), ("2", "unchanged", None)]
    assert await members(pool, "IT talent") == [
        {"email": "bob@example.com", "first_name": "Bob", "last_name": "Lee"},
        # the address as first seen; names and mapped fields as last imported
        {"email": "Jane@example.com", "first_name": "Janet", "last_name": "Smith", "company": "Acme"},
    ]


async def test_membership_records_who_added_it_and_under_which_settings(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    await handlers.import_batch(pool, sync.batch(0, [record("41", "jane@example.com")]))
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT l.name, m.sync_id, m.record_id, m.settings_version, m.added_at "
            "FROM memberships m JOIN lists l ON l.id = m.list_id"
        )
        link = await conn.fetchrow("SELECT * FROM record_links")
    assert (row["name"], row["sync_id"], row["record_id"], row["settings_version"]) == (
        "IT talent",
        sync.sync_id,
        "41",
        2,
    )
    assert row["added_at"] is not None
    assert dict(link) == {"record_id": "41", "module": "Candidates", "email_key": "jane@example.com"}


async def test_another_list_makes_a_duplicate(
    pool: asyncpg.Pool, sync: Any, make_sync: Any, record: Any
) -> None:
    await handlers.import_batch(pool, sync.batch(0, [record("1", "jane@example.com")]))
    other = make_sync("Hot leads")
    event = await handlers.import_batch(
        pool, other.batch(0, [record("1", "JANE@example.com", "Jane", "Doe-Smith")])
    )
    assert summary(event) == [("1", "duplicate", None)]
    assert [m["last_name"] for m in await members(pool, "Hot leads")] == ["Doe-Smith"]
    assert [m["last_name"] for m in await members(pool, "IT talent")] == ["Doe-Smith"]  # one contact
    assert await handlers.list_all(pool, NoArguments()) == [
        ListInfo(name="Hot leads", members=1),
        ListInfo(name="IT talent", members=1),
    ]


async def test_removed_from_org_then_imported_again_is_re_added(
    pool: asyncpg.Pool, make_sync: Any, record: Any
) -> None:
    sync = make_sync(on_recruit_delete="remove_from_org")
    other = make_sync("Hot leads")
    await handlers.import_batch(pool, sync.batch(0, [record("1", "jane@example.com")]))
    await handlers.import_batch(pool, other.batch(0, [record("1", "jane@example.com")]))

    sync.new_run()
    deleted = await handlers.import_batch(pool, sync.batch(0, [], deleted=["1", "404"]))
    assert summary(deleted) == [("1", "deleted", None)]
    assert await members(pool, "IT talent") == [] and await members(pool, "Hot leads") == []

    sync.new_run()
    again = await handlers.import_batch(pool, sync.batch(0, [], deleted=["1"]))  # reported twice by Recruit
    assert list(again.outcomes) == []

    sync.new_run()
    back = await handlers.import_batch(pool, sync.batch(0, [record("7", "jane@example.com")]))
    assert summary(back) == [("7", "re_added", None)]
    assert [m["email"] for m in await members(pool, "IT talent")] == ["jane@example.com"]
    assert await members(pool, "Hot leads") == []  # re-adding brings it back to this list only


async def test_remove_from_list_removes_only_this_syncs_memberships(
    pool: asyncpg.Pool, make_sync: Any, record: Any
) -> None:
    sync = make_sync(on_recruit_delete="remove_from_list")
    await handlers.import_batch(
        pool, sync.batch(0, [record("1", "a@example.com"), record("2", "b@example.com")])
    )
    neighbour = make_sync(sync_id="neighbour")  # another sync feeding the same list
    await handlers.import_batch(pool, neighbour.batch(0, [record("3", "c@example.com")]))

    sync.new_run()
    event = await handlers.import_batch(pool, sync.batch(0, [], deleted=["1", "3"]))
    assert summary(event) == [("1", "deleted", None)]
    assert [m["email"] for m in await members(pool, "IT talent")] == ["b@example.com", "c@example.com"]


async def test_keep_changes_nothing_on_deletion(pool: asyncpg.Pool, sync: Any, record: Any) -> None:
    await handlers.import_batch(pool, sync.batch(0, [record("1", "a@example.com")]))
    before = await snapshot(pool)
    sync.new_run()
    event = await handlers.import_batch(pool, sync.batch(0, [], deleted=["1"]))
    assert list(event.outcomes) == []
    after = await snapshot(pool)
    assert after["contacts"] == before["contacts"] and after["memberships"] == before["memberships"]
    assert after["record_links"] == before["record_links"]


async def test_converted_candidate_leaves_the_list(pool: asyncpg.Pool, make_sync: Any, record: Any) -> None:
    sync = make_sync(exclude_converted=True)
    await handlers.import_batch(pool, sync.batch(0, [record("1", "a@example.com")]))
    sync.new_run()
    event = await handlers.import_batch(
        pool, sync.batch(0, [record("1", "a@example.com", **{"$converted": True})])
    )
    assert summary(event) == [("1", "ignored", "converted")]
    assert await members(pool, "IT talent") == []


async def test_redelivered_batch_changes_nothing_and_yields_the_same_event(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    await handlers.import_batch(pool, sync.batch(0, [record("1", "b@example.com")]))
    batch = sync.batch(
        1,
        [
            record("2", "a@example.com"),
            record("3", "a@example.com"),
            record("4", ""),
            {"id": "5", "Email": 5},
            record("6", "b@example.com"),  # more recent than "1": takes the email over
        ],
    )
    first = await handlers.import_batch(pool, batch)
    assert first.superseded and first.outcomes[3].problem == "Email is not a string"
    before = await snapshot(pool)
    second = await handlers.import_batch(pool, batch)
    assert second == first  # same event id, time, causation, outcomes and displaced outcomes
    assert await snapshot(pool) == before


async def waiting_for(pool: asyncpg.Pool, lock: str) -> None:
    """Until a backend of this database waits for a lock of this kind (``advisory``, ``transactionid``)."""
    for _ in range(100):
        if await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = $1",
            lock,
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no backend waits for a lock of kind {lock}")


async def imported_elsewhere_meanwhile(
    pool: asyncpg.Pool, sync: Any, record: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[BatchImported, asyncio.Task[BatchImported], list[bool]]:
    """Batch 1 imported by another transaction (as another process would) while ``import_batch`` of the
    same batch waits for the list: (the other's event, the waiting import, what its turn found)."""
    await handlers.import_batch(pool, sync.batch(0, [record("1", "b@example.com")]))
    batch = sync.batch(1, [record("2", "a@example.com"), record("3", "b@example.com")])
    found: list[bool] = []
    take_turn = handlers.lists.take_turn

    async def noting(*args: Any) -> Any:
        turn = await take_turn(*args)
        found.append(turn.imported)
        return turn

    monkeypatch.setattr(handlers.lists, "take_turn", noting)
    async with pool.acquire() as other:
        tx = other.transaction()
        await tx.start()
        first = await handlers.decide_and_apply(other, batch, await handlers.parse_batch(batch))
        importing = asyncio.create_task(handlers.import_batch(pool, batch))
        await waiting_for(pool, "advisory")  # the list's lock, held by the other transaction
        assert not importing.done()
        await tx.commit()
    return first, importing, found


async def test_a_redelivery_imported_elsewhere_while_it_waited_for_the_list_yields_that_event(
    pool: asyncpg.Pool, sync: Any, record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement that takes the list's turn read the batch's record before it waited: it did not see
    the other process's import, so the batch's writes met the record's key; they are rolled back and the
    event stored by the other process is republished."""
    first, importing, found = await imported_elsewhere_meanwhile(pool, sync, record, monkeypatch)
    second = await asyncio.wait_for(importing, 10)
    assert found == [False, False]  # (the other's turn, then this one's: it saw no record of the batch)
    assert second == first
    assert await pool.fetchval("SELECT version FROM lists") == 2  # the redelivery's advance rolled back
    assert [m["email"] for m in await members(pool, "IT talent")] == ["a@example.com", "b@example.com"]


async def test_a_unique_violation_that_is_no_redelivery_is_raised(
    pool: asyncpg.Pool, sync: Any, record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key met with no record of the batch stored is a bug: it is not taken for a redelivery."""
    monkeypatch.setattr(handlers, "imported_batch", _no_record)
    _, importing, _ = await imported_elsewhere_meanwhile(pool, sync, record, monkeypatch)
    with pytest.raises(asyncpg.UniqueViolationError):
        await asyncio.wait_for(importing, 10)


async def _no_record(*_: Any) -> None:
    return None


async def test_an_importer_of_the_last_release_and_this_one_take_turns_on_a_list(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    """During a rolling upgrade, an importer of the release before (the list's advisory lock, then its
    row) and this one (both in one statement) still apply one batch of a list at a time, and each sees
    the list's version as the other left it."""
    await handlers.import_batch(pool, sync.batch(0, [record("1", "b@example.com")]))
    async with pool.acquire() as old:
        tx = old.transaction()
        await tx.start()
        await old.execute("SELECT pg_advisory_xact_lock(hashtext('list:' || $1))", sync.settings.list_name)
        importing = asyncio.create_task(handlers.import_batch(pool, sync.batch(1, [record("2", "a@x.org")])))
        await waiting_for(pool, "advisory")
        old_writer = await old.fetchval(
            "UPDATE lists SET version = version + 1, writer = gen_random_uuid() RETURNING writer"
        )
        await tx.commit()
    await asyncio.wait_for(importing, 10)
    assert await pool.fetchrow("SELECT version, previous_writer FROM lists") == (3, old_writer)


async def test_the_lists_lock_is_taken_before_its_row_is_read(pool: asyncpg.Pool) -> None:
    """``take_turn``'s plan: the advisory lock is a one-time filter above every scan."""
    query = "EXPLAIN (VERBOSE, COSTS OFF) " + handlers.lists._TAKE_TURN
    plan = "\n".join(r[0] for r in await pool.fetch(query, 1, uuid.uuid4(), "run", 0, "L"))
    lock, gate = plan.index("pg_advisory_xact_lock"), plan.index("One-Time Filter")
    assert lock < gate < plan.index("Index Scan using lists_pkey on importer.lists"), plan


async def test_file_duplicates_across_batches_of_a_run(
    pool: asyncpg.Pool, sync: Any, make_sync: Any, record: Any
) -> None:
    older = record("1", "jane@example.com", "Jane", Updated_On="2026-10-01T10:00:00+00:00")
    newer = record("2", "JANE@EXAMPLE.COM", "Janet", Updated_On="2026-10-02T10:00:00+00:00")
    first = await handlers.import_batch(pool, sync.batch(0, [newer]))
    second = await handlers.import_batch(pool, sync.batch(1, [older]))
    assert (summary(first), summary(second)) == ([("2", "new", None)], [("1", "ignored", "file_duplicate")])
    assert first.superseded == second.superseded == []
    assert [m["first_name"] for m in await members(pool, "IT talent")] == ["Janet"]

    # the other order: the more recent record takes the email over and names the outcome it displaces
    other = make_sync("Other list")
    first = await handlers.import_batch(pool, other.batch(0, [record("7", "bob@example.com"), older]))
    second = await handlers.import_batch(pool, other.batch(1, [newer]))
    assert (summary(first), summary(second)) == (
        [("7", "new", None), ("1", "duplicate", None)],
        [("2", "duplicate", None)],
    )
    assert second.superseded == [Superseded(seq=0, position=1, by=0, becomes=Displacement.FILE_DUPLICATE)]
    assert [(m["email"], m["first_name"]) for m in await members(pool, "Other list")] == [
        ("bob@example.com", "Jane"),
        ("JANE@example.com", "Janet"),  # the address as first seen (by the first run)
    ]

    sync.new_run()  # the next run starts afresh
    third = await handlers.import_batch(pool, sync.batch(0, [record("2", "jane@example.com", "Jane")]))
    assert summary(third) == [("2", "updated", None)]
    assert third.superseded == []


async def test_a_chain_of_takeovers_names_the_then_current_holder(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    """A (batch 0) is displaced by B (batch 2), which C (batch 1) displaces in turn."""
    a = record("1", "jane@example.com", "A", Updated_On="2026-10-01T10:00:00+00:00")
    b = record("2", "jane@example.com", "B", Updated_On="2026-10-02T10:00:00+00:00")
    c = record("3", "jane@example.com", "C", Updated_On="2026-10-03T10:00:00+00:00")
    filler = [record(f"9{i}", f"other{i}@example.com") for i in range(3)]
    await handlers.import_batch(pool, sync.batch(0, [*filler, a]))
    by_b = await handlers.import_batch(pool, sync.batch(2, [filler[1], b]))
    by_c = await handlers.import_batch(pool, sync.batch(1, [c]))
    assert by_b.superseded == [Superseded(seq=0, position=3, by=1, becomes=Displacement.FILE_DUPLICATE)]
    assert by_c.superseded == [Superseded(seq=2, position=1, by=0, becomes=Displacement.FILE_DUPLICATE)]
    assert summary(by_c) == [("3", "new", None)]  # as if C had come first: the run created the contact
    assert [m["first_name"] for m in await members(pool, "IT talent")] == ["C", "Jane", "Jane", "Jane"]


async def test_suppressions(pool: asyncpg.Pool, sync: Any, record: Any) -> None:
    do_not_mail, bounced = SuppressionReason.DO_NOT_MAIL, SuppressionReason.BOUNCED
    added = await handlers.suppress_add(
        pool,
        Suppress(reason=do_not_mail, emails=["Gone@Example.com", "gone@example.com", "not-an-address"]),
    )
    assert (added.added, added.invalid) == (1, ["not-an-address"])
    again = await handlers.suppress_add(
        pool, Suppress(reason=bounced, emails=["ben.bounced@example.com", "gone@example.com"])
    )
    assert again.added == 2
    listed = await handlers.suppress_list(pool, SuppressionsQuery())
    assert [(s.email, s.reason) for s in listed] == [
        ("ben.bounced@example.com", bounced),
        ("gone@example.com", bounced),
        ("Gone@example.com", do_not_mail),
    ]
    assert [s.email for s in await handlers.suppress_list(pool, SuppressionsQuery(reason=bounced))] == [
        "ben.bounced@example.com",
        "gone@example.com",
    ]

    event = await handlers.import_batch(
        pool,
        sync.batch(
            0,
            [
                record("1", "GONE@example.com"),
                record("2", "ben.bounced@example.com"),
                record("3", "ok@example.com"),
            ],
        ),
    )
    assert summary(event) == [
        ("1", "ignored", "do_not_mail"),
        ("2", "ignored", "bounced"),
        ("3", "new", None),
    ]

    removed = await handlers.suppress_remove(
        pool, Unsuppress(emails=["gone@EXAMPLE.com", "nobody@example.com", "gone@gnail.com"])
    )
    assert (removed.removed, removed.invalid) == (1, ["gone@gnail.com"])  # a likely typo is no address
    sync.new_run()
    event = await handlers.import_batch(pool, sync.batch(0, [record("1", "gone@example.com")]))
    assert summary(event) == [("1", "new", None)]


async def test_suppressions_are_keyed_like_contacts(pool: asyncpg.Pool, sync: Any, record: Any) -> None:
    """Whatever the case of the address or the Unicode form of its domain, as contacts are."""
    await handlers.suppress_add(
        pool, Suppress(reason=SuppressionReason.DO_NOT_MAIL, emails=["JANE@BÜCHER.de"])
    )
    event = await handlers.import_batch(pool, sync.batch(0, [record("1", "jane@xn--bcher-kva.de")]))
    assert summary(event) == [("1", "ignored", "do_not_mail")]


async def test_role_addresses_can_be_suppressed(pool: asyncpg.Pool) -> None:
    added = await handlers.suppress_add(
        pool, Suppress(reason=SuppressionReason.DO_NOT_MAIL, emails=["Info@Zylker.com", "@"])
    )
    assert (added.added, added.invalid) == (1, ["@"])
    listed = await handlers.suppress_list(pool, SuppressionsQuery(reason=SuppressionReason.DO_NOT_MAIL))
    assert [s.email for s in listed] == ["info@zylker.com"]


async def test_an_unknown_list_is_refused_naming_it(pool: asyncpg.Pool) -> None:
    with pytest.raises(RpcError) as unknown:
        await handlers.list_members(pool, ListRef(list="No such list"))
    assert (str(unknown.value), unknown.value.status) == ("no mailing list named 'No such list'", 404)


async def test_parallel_runs_of_two_lists_sharing_contacts(
    pool: asyncpg.Pool, make_sync: Any, record: Any
) -> None:
    """Different lists run in parallel; a contact both create is new in one and a duplicate in the other."""
    one, two = make_sync("One"), make_sync("Two")
    emails = [f"shared{i}@example.com" for i in range(200)]
    batches: list[RecordBatch] = []
    for seq in range(4):
        chunk = emails[seq * 50 : (seq + 1) * 50]
        batches.append(one.batch(seq, [record(f"a{seq}-{i}", e) for i, e in enumerate(chunk)]))
        batches.append(two.batch(seq, [record(f"b{seq}-{i}", e) for i, e in enumerate(reversed(chunk))]))
    events = await asyncio.wait_for(asyncio.gather(*(handlers.import_batch(pool, b) for b in batches)), 30)
    outcomes: dict[str, list[str]] = {}
    for event in events:
        for o in event.outcomes:
            outcomes.setdefault(o.email or "", []).append(o.outcome.value)
    assert all(sorted(v) == ["duplicate", "new"] for v in outcomes.values()), outcomes
    assert len(outcomes) == 200
    assert len(await members(pool, "One")) == len(await members(pool, "Two")) == 200


async def test_a_contact_created_by_a_concurrent_transaction_is_counted_as_a_duplicate(
    pool: asyncpg.Pool, sync: Any, record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another list's batch inserts the contact after this batch read its facts: no error, a duplicate.
    The batch's only contact was decided ``new``, so it was inserted plainly first: the insert met the
    other's key, and the batch was applied again with the upsert."""
    applied = noting_how_batches_apply(monkeypatch)
    async with pool.acquire() as other:
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "INSERT INTO contacts (email_key, email) VALUES ('jane@example.com', 'jane@example.com')"
        )
        importing = asyncio.create_task(
            handlers.import_batch(pool, sync.batch(0, [record("1", "jane@example.com")]))
        )
        await asyncio.sleep(0.5)  # the batch read no such contact and now waits on the unique key
        assert not importing.done()
        await tx.commit()
        event = await asyncio.wait_for(importing, 10)
    assert summary(event) == [("1", "duplicate", None)]
    assert applied == [True, False]
    assert [m["first_name"] for m in await members(pool, "IT talent")] == ["Jane"]
    # the run's claim is a row (the contact it did not insert keeps none), and holds the email
    later = await handlers.import_batch(pool, sync.batch(1, [record("0", "jane@example.com")]))
    assert summary(later) == [("0", "ignored", "file_duplicate")]


def noting_how_batches_apply(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each attempt to apply a batch inserted plainly (``writes.apply``'s ``plainly``)."""
    applied: list[bool] = []
    apply = handlers.apply

    async def noting(*args: Any, **kwargs: Any) -> Any:
        applied.append(kwargs["plainly"])
        return await apply(*args, **kwargs)

    monkeypatch.setattr(handlers, "apply", noting)
    return applied


async def test_a_record_linked_before_whose_email_is_new_is_linked_again(
    pool: asyncpg.Pool, make_sync: Any, record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record one sync imported comes to another list's first import with a new email: its contact is
    new, so its link was inserted plainly and met the record's link; applied again, the link moves."""
    await handlers.import_batch(pool, make_sync("One").batch(0, [record("1", "old@example.com")]))
    applied = noting_how_batches_apply(monkeypatch)
    event = await handlers.import_batch(pool, make_sync("Two").batch(0, [record("1", "new@example.com")]))
    assert summary(event) == [("1", "new", None)]
    assert applied == [True, False]
    assert await pool.fetch("SELECT record_id, email_key FROM record_links") == [("1", "new@example.com")]
    # a first import whose records were never linked inserts plainly once
    applied.clear()
    three = make_sync("Three")
    event = await handlers.import_batch(pool, three.batch(0, [record("2", "bob@example.com")]))
    assert (summary(event), applied) == ([("2", "new", None)], [True])
    # a batch that also updates a contact upserts from the start, its changed email's link included
    applied.clear()
    three.new_run()
    batch = three.batch(
        0, [record("2", "bob@example.com", Last_Name="Stone"), record("1", "fresh@example.com")]
    )
    event = await handlers.import_batch(pool, batch)
    assert (summary(event), applied) == ([("2", "updated", None), ("1", "new", None)], [True])
    assert await pool.fetch("SELECT record_id, email_key FROM record_links ORDER BY 1") == [
        ("1", "fresh@example.com"),
        ("2", "bob@example.com"),
    ]


async def test_a_first_import_keeps_its_claims_on_the_contacts_it_creates(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    """No claim row per record for the contacts a run creates (importer migration 0009); the claims
    still hold their emails for the run's later batches, and the next run claims in rows."""
    await handlers.import_batch(
        pool, sync.batch(0, [record("1", "jane@example.com"), record("2", "bob@x.org")])
    )
    assert await pool.fetchval("SELECT count(*) FROM run_emails") == 0
    assert await pool.fetch(
        "SELECT email_key, created_run, created_record_id, created_seq, created_position FROM contacts "
        "ORDER BY email_key"
    ) == [("bob@x.org", sync.run_id, "2", 0, 1), ("jane@example.com", sync.run_id, "1", 0, 0)]
    later = await handlers.import_batch(pool, sync.batch(1, [record("0", "jane@example.com")]))
    assert summary(later) == [("0", "ignored", "file_duplicate")]  # (no modified time: the smaller id loses)

    sync.new_run()
    again = await handlers.import_batch(pool, sync.batch(0, [record("1", "jane@example.com")]))
    assert summary(again) == [("1", "unchanged", None)]
    assert await pool.fetchval("SELECT count(*) FROM run_emails WHERE run_id = $1", sync.run_id) == 1


async def test_a_live_record_in_a_later_batch_undoes_the_runs_deletion_of_its_contact(
    pool: asyncpg.Pool, make_sync: Any, record: Any
) -> None:
    """Recruit merged two records: one deleted, one kept. Whichever batch comes first, the contact
    stays, with every membership as it was, and the deletion's outcome is named void."""
    sync = make_sync(on_recruit_delete="remove_from_org")
    other = make_sync("Hot leads")
    await handlers.import_batch(pool, sync.batch(0, [record("1", "jane@example.com")]))
    await handlers.import_batch(pool, other.batch(0, [record("1", "jane@example.com")]))
    async with pool.acquire() as conn:
        before = sorted(tuple(r) for r in await conn.fetch("SELECT * FROM memberships"))

    sync.new_run()
    deleted = await handlers.import_batch(pool, sync.batch(0, [], deleted=["1"]))
    assert summary(deleted) == [("1", "deleted", None)]
    assert await members(pool, "IT talent") == [] and await members(pool, "Hot leads") == []
    kept = await handlers.import_batch(pool, sync.batch(1, [record("2", "jane@example.com", "Jane", "Kept")]))
    assert summary(kept) == [("2", "updated", None)]  # as if the deletion had not happened
    assert kept.superseded == [Superseded(seq=0, position=0, by=0, becomes=Displacement.VOID)]
    async with pool.acquire() as conn:
        assert sorted(tuple(r) for r in await conn.fetch("SELECT * FROM memberships")) == before
        assert await conn.fetchval("SELECT deleted_at FROM contacts") is None
    assert [m["last_name"] for m in await members(pool, "Hot leads")] == ["Kept"]
