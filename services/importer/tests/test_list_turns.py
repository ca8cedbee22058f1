"""ListTurns: batches of one list take turns in the process, in arrival order, without holding up
batches of other lists; a list nobody waits for is forgotten."""

from __future__ import annotations

import asyncio

from recruit_sync.importer.handlers import ListTurns


async def test_one_lists_batches_go_one_at_a_time_in_arrival_order_and_other_lists_go_meanwhile() -> None:
    turns = ListTurns()
    inside: dict[str, int] = {"big": 0, "small": 0}
    most: dict[str, int] = {"big": 0, "small": 0}
    order: list[str] = []
    release = asyncio.Event()

    async def batch(list_name: str, name: str) -> None:
        async with turns.turn(list_name):
            inside[list_name] += 1
            most[list_name] = max(most[list_name], inside[list_name])
            order.append(name)
            if list_name == "big":
                await release.wait()  # the backfill's batch holds its list
            inside[list_name] -= 1

    big = [asyncio.create_task(batch("big", f"big-{i}")) for i in range(4)]
    await asyncio.sleep(0)
    small = asyncio.create_task(batch("small", "small-0"))
    await asyncio.wait_for(small, 1)  # not behind the three big batches waiting for their turn
    assert order == ["big-0", "small-0"]
    release.set()
    await asyncio.wait_for(asyncio.gather(*big), 1)
    assert order == ["big-0", "small-0", "big-1", "big-2", "big-3"]
    assert most == {"big": 1, "small": 1}
    assert len(turns) == 0  # forgotten once nobody waits


async def test_a_failing_batch_gives_the_turn_to_the_next() -> None:
    turns = ListTurns()

    async def failing() -> None:
        async with turns.turn("L"):
            raise RuntimeError("broken batch")

    async def fine() -> str:
        async with turns.turn("L"):
            return "imported"

    results = await asyncio.gather(failing(), fine(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] == "imported"
    assert len(turns) == 0
