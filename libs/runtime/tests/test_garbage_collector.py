"""A service process freezes its start-up objects out of CPython's cycle collector once it is built
(``service.main``), and sets the collector's thresholds when the service names them; a test that starts
a service inside its own process does not (``build_app`` leaves the collector alone)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

_SERVE = textwrap.dedent(
    """
    import asyncio, gc, json, sys
    import uvloop
    from recruit_sync.runtime import service

    loops = []

    class App:
        async def run(self):
            loops.append(type(asyncio.get_running_loop()).__module__)

    seen = []
    real_run = uvloop.run

    def run(coroutine):
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return real_run(coroutine)

    uvloop.run = run  # (the loop a service runs on: service.main calls uvloop.run)
    sys.argv = ["stand-in", "run"]
    thresholds = json.loads(sys.stdin.read())
    stand_in = service.Service(name="stand-in", gc_thresholds=tuple(thresholds) if thresholds else None)
    service.main(stand_in, build=lambda settings: App())
    (threshold, frozen), = seen
    print(json.dumps({"threshold": threshold, "frozen": frozen, "loops": loops}))
    """
)


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [(None, [700, 10, 10]), ([50_000, 20, 100], [50_000, 20, 100])],  # CPython's own, or the service's
)
def test_a_service_process_freezes_what_it_was_built_with_and_sets_its_thresholds(
    thresholds: list[int] | None, expected: list[int]
) -> None:
    serve = [sys.executable, "-c", _SERVE]
    done = subprocess.run(serve, input=json.dumps(thresholds), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["threshold"] == expected
    assert seen["frozen"] > 10_000  # the modules and the app: everything alive before it serves
    assert seen["loops"] == ["uvloop"]  # it serves on uvloop's event loop (docs/adr/0029)
