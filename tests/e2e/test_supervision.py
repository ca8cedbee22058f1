"""``services up`` supervises: a worker killed with SIGKILL is restarted after its back-off, the supervisor
says so in one line, the next run succeeds; and SIGINT to the supervisor still stops every child."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import DATA
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def children(parent: int) -> dict[int, str]:
    """pid -> command line of each child process of ``parent``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found[int(entry.name)] = cmdline
    return found


def importer_pid(stack: Stack) -> int:
    services = next(p for p in stack.procs if p.args[1:2] == ["services"])
    [pid] = [pid for pid, cmd in children(services.pid).items() if "recruit_sync.importer" in cmd]
    return pid


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_killed_importer_is_restarted_and_the_next_run_succeeds(tmp_path: Path) -> None:
    stack = Stack(tmp_path, sim_data=str(DATA / "small.json"))
    with stack:
        stack.add_connection()
        sync_id = stack.create_sync(
            {"name": "Supervised", "connection": "acme-recruit", "module": "Candidates", "list": "Kept list"}
        )
        first = stack.run_sync(sync_id)
        assert first["state"] == "succeeded", first

        killed = importer_pid(stack)
        os.kill(killed, 9)
        # at once: the run's batches wait in the importer's queue for the new importer
        second = stack.run_sync(sync_id, full=True, timeout=120)
        assert second["state"] == "succeeded", f"{second}\n{stack.logs()[-4000:]}"
        assert second["total"] == first["total"] and second["unchanged"] == first["new"]

        log = (tmp_path / "services.log").read_text()
        assert "importer-1 exited unexpectedly (killed by SIGKILL); restarting in 1 s" in log
        assert "importer-1 restarted" in log
        restarted = importer_pid(stack)
        assert restarted != killed and alive(restarted)
        services = next(p for p in stack.procs if p.args[1:2] == ["services"])
        others = children(services.pid)
    # SIGINT to the supervisor stopped every child it had, the restarted one included
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in others) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [cmd for pid, cmd in others.items() if alive(pid)] == []
    assert services.returncode == 0
    assert "services stopped" in (tmp_path / "services.log").read_text()
