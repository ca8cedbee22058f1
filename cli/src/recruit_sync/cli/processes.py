"""Local processes: one-shot commands (``migrate``) and the supervised services of ``services up``.

Children run in their own process group, so a Ctrl-C in the terminal reaches only the supervisor, which
then stops them in order (SIGTERM, SIGKILL after a timeout) instead of racing their own shutdowns.
Their output lines are relayed to our stderr, each prefixed with the child's name.

Once the services are up, ``supervise`` restarts a child that dies, after a back-off (``Backoff``: 1, 2,
4 ... 30 s, from 1 s again once it has stayed up a minute), and says so in one line. A child that dies
while the services are still starting is not restarted: that is a configuration to fix, not a crash
(``wait`` reports it and ``services up`` stops).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

Clock = Callable[[], float]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # unbuffered, so log lines arrive as they are written, not when a child exits
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}


# INTERFACE.md, RECRUIT_SYNC_OPS_PORT_BASE: each process's ops port (/metrics, /health/live, /health/ready)
DEFAULT_OPS_PORT_BASE = 9100
OPS_PORT_OFFSETS = {"scheduler": 0, "fetcher": 1, "importer": 2, "history": 3, "api": 4}


def ops_port(base: int, service: str, replica: int = 1) -> int:
    """The ops port of ``replica`` (from 1) of ``service``: base + the service's offset, replica k (from
    2) at +10*(k-1) from its first."""
    return base + OPS_PORT_OFFSETS[service] + 10 * (replica - 1)


def ops_port_base_from_env(env: Mapping[str, str] | None = None) -> int:
    value = (os.environ if env is None else env).get("RECRUIT_SYNC_OPS_PORT_BASE", "").strip()
    if not value:
        return DEFAULT_OPS_PORT_BASE
    try:
        base = int(value)
    except ValueError:
        base = -1
    if not 1 <= base <= 65535 - 200:
        raise ValueError(f"RECRUIT_SYNC_OPS_PORT_BASE {value!r}: a port number (1 to 65335)")
    return base


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


@dataclass(frozen=True)
class Exited:
    name: str
    returncode: int

    def describe(self) -> str:
        return f"{self.name} exited unexpectedly ({describe_exit(self.returncode)})"


@dataclass
class Backoff:
    """How long to wait before restarting a child that died: ``first``, doubling at each death up to
    ``cap``; a child that stayed up ``stable`` seconds starts from ``first`` again (one crash a day is
    restarted at once, a crash loop slows down to one try every ``cap`` seconds)."""

    first: float = 1.0
    cap: float = 30.0
    stable: float = 60.0
    deaths: int = 0

    def delay(self, uptime: float) -> float:
        """The wait before the next start of a child that died after ``uptime`` seconds."""
        if uptime >= self.stable:
            self.deaths = 0
        wait: float = min(self.first * 2.0**self.deaths, self.cap)
        self.deaths += 1
        return wait


class Supervisor:
    """Starts named children, relays their output, restarts one that dies (``supervise``), and stops
    them all."""

    def __init__(
        self,
        out: IO[str] | None = None,
        backoff: Callable[[], Backoff] = Backoff,
        clock: Clock = time.monotonic,
    ) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._children: dict[str, subprocess.Popen[str]] = {}
        self._argv: dict[str, Sequence[str]] = {}
        self._env: dict[str, Mapping[str, str]] = {}
        self._started_at: dict[str, float] = {}
        self._backoff: dict[str, Backoff] = {}
        self._restart_at: dict[str, float] = {}  # children that died, and when they start again
        self._new_backoff = backoff
        self._clock = clock
        self._pumps: list[threading.Thread] = []
        self._width = 0

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        """``env``: variables of this child's own, beyond ours."""
        self._argv[name] = list(argv)
        self._env[name] = dict(env or {})
        self._backoff[name] = self._new_backoff()
        self._width = max(self._width, len(name))
        self._spawn(name)

    def _spawn(self, name: str) -> None:
        argv = self._argv[name]
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=child_env(self._env.get(name)),
            process_group=0,
        )
        self._children[name] = process
        self._started_at[name] = self._clock()
        pump = threading.Thread(target=self._relay, args=(name, process.stdout), daemon=True)
        pump.start()
        self._pumps.append(pump)

    def _relay(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            self.say(f"{name:<{self._width}} | {line.rstrip()}")

    def say(self, line: str) -> None:
        with self._lock:
            out = self._out or sys.stderr  # looked up late: tests swap sys.stderr
            out.write(line + "\n")
            out.flush()

    def first_exited(self) -> Exited | None:
        for name, process in self._children.items():
            returncode = process.poll()
            if returncode is not None:
                return Exited(name, returncode)
        return None

    def wait(self, stop: threading.Event, poll: float = 0.2) -> Exited | None:
        """Until ``stop`` is set (None) or a child exits (which one)."""
        while not stop.wait(poll):
            exited = self.first_exited()
            if exited is not None:
                return exited
        return None

    def supervise(self, stop: threading.Event, poll: float = 0.2) -> None:
        """Until ``stop`` is set: restart each child that dies, after its back-off, saying so."""
        while not stop.wait(poll):
            self.restart_the_dead()

    def restart_the_dead(self) -> None:
        """One look: a child found dead is given its restart time (and a line saying when); one whose
        time has come is started again."""
        now = self._clock()
        for name, process in self._children.items():
            returncode = process.poll()
            if returncode is None or name in self._restart_at:
                continue
            delay = self._backoff[name].delay(uptime=now - self._started_at[name])
            self._restart_at[name] = now + delay
            self.say(f"{Exited(name, returncode).describe()}; restarting in {delay:g} s")
        for name, due in list(self._restart_at.items()):
            if due <= now:
                del self._restart_at[name]
                self._spawn(name)
                self.say(f"{name} restarted")

    def stop(self, timeout: float = 10.0) -> None:
        self._restart_at.clear()
        running = [p for p in self._children.values() if p.poll() is None]
        for process in running:
            try:
                process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pump in self._pumps:
            pump.join(timeout=2.0)

    def running(self) -> list[str]:
        return [name for name, p in self._children.items() if p.poll() is None]
