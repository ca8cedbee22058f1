"""Local processes: one-shot commands (``migrate``) and the supervised services of ``services up``.

Children run in their own process group, so a Ctrl-C in the terminal reaches only the supervisor, which
then stops them in order (SIGTERM, SIGKILL after a timeout) instead of racing their own shutdowns.
Their output lines are relayed to our stderr, each prefixed with the child's name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # unbuffered, so log lines arrive as they are written, not when a child exits
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}


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


class Supervisor:
    """Starts named children, relays their output, notices one dying, and stops them all."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._children: dict[str, subprocess.Popen[str]] = {}
        self._pumps: list[threading.Thread] = []
        self._width = 0

    def start(self, name: str, argv: Sequence[str]) -> None:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=child_env(),
            process_group=0,
        )
        self._children[name] = process
        self._width = max(self._width, len(name))
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

    def stop(self, timeout: float = 10.0) -> None:
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
