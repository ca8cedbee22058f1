"""Process supervision for ``services up``: real (tiny) python children."""

from __future__ import annotations

import io
import signal
import sys
import threading
import time

from recruit_sync.cli.processes import Backoff, Exited, Supervisor

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


# --- restarts ------------------------------------------------------------------------------------------


def test_the_backoff_doubles_up_to_its_cap_and_starts_again_after_a_stable_run() -> None:
    backoff = Backoff(first=1, cap=30, stable=60)
    assert [backoff.delay(uptime=2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(uptime=61) == 1  # it had stayed up a while: a new crash, not the same loop
    assert backoff.delay(uptime=0.5) == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_killed_child_is_restarted_after_its_backoff_and_says_so() -> None:
    out = io.StringIO()
    clock = Clock()
    supervisor = Supervisor(out, clock=clock)
    supervisor.start("importer-1", [sys.executable, "-c", SLEEPER])
    supervisor.start("history-1", [sys.executable, "-c", SLEEPER])
    try:
        wait_for(lambda: out.getvalue().count("ready") == 2)
        first = supervisor._children["importer-1"]
        first.send_signal(signal.SIGKILL)
        first.wait()
        supervisor.restart_the_dead()
        assert "importer-1 exited unexpectedly (killed by SIGKILL); restarting in 1 s" in out.getvalue()
        assert supervisor.running() == ["history-1"]  # not before its time
        clock.now += 1
        supervisor.restart_the_dead()
        assert "importer-1 restarted" in out.getvalue()
        wait_for(lambda: out.getvalue().count("importer-1 | ready") == 2)
        assert sorted(supervisor.running()) == ["history-1", "importer-1"]
        # dying again at once: twice as long; after a long stable run: 1 s again
        supervisor._children["importer-1"].kill()
        supervisor._children["importer-1"].wait()
        supervisor.restart_the_dead()
        assert (
            out.getvalue()
            .rstrip()
            .endswith("importer-1 exited unexpectedly (killed by SIGKILL); restarting in 2 s")
        )
        clock.now += 2
        supervisor.restart_the_dead()
        wait_for(lambda: out.getvalue().count("importer-1 | ready") == 3)
        clock.now += 120
        supervisor._children["importer-1"].kill()
        supervisor._children["importer-1"].wait()
        supervisor.restart_the_dead()
        assert out.getvalue().rstrip().endswith("restarting in 1 s")
        assert out.getvalue().count("history-1  | ready") == 1  # the others were left alone
    finally:
        supervisor.stop(timeout=5)
    assert supervisor.running() == []


def test_supervise_keeps_restarting_a_crashing_child_until_stopped() -> None:
    out = io.StringIO()
    supervisor = Supervisor(out, backoff=lambda: Backoff(first=0.05, cap=0.1))
    supervisor.start("fetcher-1", [sys.executable, "-c", "print('up', flush=True); raise SystemExit(3)"])
    stop = threading.Event()
    runner = threading.Thread(target=supervisor.supervise, args=(stop, 0.02))
    runner.start()
    try:
        wait_for(lambda: out.getvalue().count("fetcher-1 restarted") >= 3)
    finally:
        stop.set()
        runner.join(timeout=10)
        supervisor.stop(timeout=5)
    assert "fetcher-1 exited unexpectedly (exit code 3); restarting in 0.05 s" in out.getvalue()
    assert "restarting in 0.1 s" in out.getvalue()  # the cap
    assert supervisor.running() == []


def test_a_child_waiting_for_its_restart_stays_down_once_stopped() -> None:
    out = io.StringIO()
    clock = Clock()
    supervisor = Supervisor(out, clock=clock)
    supervisor.start("scheduler-1", [sys.executable, "-c", "raise SystemExit(1)"])
    wait_for(lambda: supervisor.first_exited() is not None)
    supervisor.restart_the_dead()
    supervisor.stop(timeout=5)
    clock.now += 60
    supervisor.restart_the_dead()  # what a last look of a loop being stopped would do
    assert "scheduler-1 restarted" not in out.getvalue()
    assert supervisor.running() == []
