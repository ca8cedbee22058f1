"""A service process tunes CPython's cycle collector once it is built (``service.main``), before it
serves; a test that starts a service inside its own process does not (``build_app`` leaves it alone)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from recruit_sync.runtime.service import GC_THRESHOLDS

_SERVE = textwrap.dedent(
    """
    import asyncio, gc, json, sys
    from recruit_sync.runtime import service

    class App:
        async def run(self):
            return None

    seen = []
    real_run = asyncio.run

    def run(coroutine):
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return real_run(coroutine)

    asyncio.run = run
    sys.argv = ["stand-in", "run"]
    default = gc.get_threshold()
    service.main(service.Service(name="stand-in"), build=lambda settings: App())
    (threshold, frozen), = seen
    print(json.dumps({'default': default, 'threshold': threshold, 'frozen': frozen}))
    """
)


def test_a_service_process_freezes_what_it_was_built_with_and_collects_less_often() -> None:
    done = subprocess.run([sys.executable, "-c", _SERVE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["default"] == [700, 10, 10]  # CPython's own, until the service is built
    assert tuple(seen["threshold"]) == GC_THRESHOLDS
    assert seen["frozen"] > 10_000  # the modules and the app: everything alive before it serves
