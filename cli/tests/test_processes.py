"""Process supervision for ``services up``: real (tiny) python children."""

from __future__ import annotations

import io
import sys
import threading
import time

from recruit_sync.cli.processes import Exited, Supervisor

SLEEPER = "import time; print('ready', flush=True); time.sleep(60)"
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_children_are_prefixed_and_stopped_cleanly() -> None:
    out = io.StringIO()
    supervisor = Supervisor(out)
    supervisor.start("scheduler-1", [sys.executable, "-c", SLEEPER])
    supervisor.start("api", [sys.executable, "-c", SLEEPER])
    wait_for(lambda: out.getvalue().count("ready") == 2)
    assert supervisor.first_exited() is None
    started = time.monotonic()
    supervisor.stop(timeout=5)
    assert time.monotonic() - started < 5  # SIGTERM was enough
    assert supervisor.running() == []
    assert sorted(out.getvalue().splitlines()) == ["api         | ready", "scheduler-1 | ready"]


def test_a_child_ignoring_sigterm_is_killed_after_the_timeout() -> None:
    out = io.StringIO()
    supervisor = Supervisor(out)
    supervisor.start("stubborn", [sys.executable, "-c", STUBBORN])
    wait_for(lambda: "ready" in out.getvalue())
    supervisor.stop(timeout=0.5)
    assert supervisor.running() == []


def test_a_dying_child_is_reported_by_name() -> None:
    out = io.StringIO()
    supervisor = Supervisor(out)
    supervisor.start("fetcher-1", [sys.executable, "-c", SLEEPER])
    supervisor.start(
        "importer-1", [sys.executable, "-c", "import sys; print('bye', flush=True); sys.exit(3)"]
    )
    try:
        exited = supervisor.wait(threading.Event(), poll=0.05)
    finally:
        supervisor.stop(timeout=5)
    assert exited == Exited("importer-1", 3)
    assert exited.describe() == "importer-1 exited unexpectedly (exit code 3)"
    assert "importer-1 | bye" in out.getvalue()


def test_wait_returns_nothing_when_asked_to_stop() -> None:
    supervisor = Supervisor(io.StringIO())
    supervisor.start("api", [sys.executable, "-c", SLEEPER])
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    try:
        assert supervisor.wait(stop, poll=0.05) is None
    finally:
        supervisor.stop(timeout=5)
