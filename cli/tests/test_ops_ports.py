"""``services up`` gives each child its ops port (INTERFACE.md, ``RECRUIT_SYNC_OPS_PORT_BASE``)."""

from __future__ import annotations

import io
import sys
import time

import pytest

from recruit_sync.cli.processes import DEFAULT_OPS_PORT_BASE, Supervisor, ops_port, ops_port_base_from_env


def test_each_service_has_its_offset_and_replicas_step_by_ten() -> None:
    assert [ops_port(9100, s) for s in ("scheduler", "fetcher", "importer", "history", "api")] == [
        9100,
        9101,
        9102,
        9103,
        9104,
    ]
    assert ops_port(9100, "importer", 2) == 9112
    assert ops_port(9100, "history", 3) == 9123
    assert ops_port(20000, "fetcher", 16) == 20151


def test_no_two_processes_share_a_port_up_to_sixteen_replicas() -> None:
    ports = [
        ops_port(9100, s, k) for s in ("scheduler", "fetcher", "importer", "history") for k in range(1, 17)
    ]
    ports.append(ops_port(9100, "api"))
    assert len(set(ports)) == len(ports)


def test_the_base_comes_from_the_environment_with_interface_default() -> None:
    assert ops_port_base_from_env({}) == DEFAULT_OPS_PORT_BASE == 9100
    assert ops_port_base_from_env({"RECRUIT_SYNC_OPS_PORT_BASE": "19000"}) == 19000
    for bad in ("nine", "0", "70000"):
        with pytest.raises(ValueError, match="RECRUIT_SYNC_OPS_PORT_BASE"):
            ops_port_base_from_env({"RECRUIT_SYNC_OPS_PORT_BASE": bad})


def test_a_child_receives_its_own_environment() -> None:
    out = io.StringIO()
    supervisor = Supervisor(out)
    show = "import os; print('port', os.environ.get('RECRUIT_SYNC_OPS_PORT'), flush=True)"
    supervisor.start("importer-2", [sys.executable, "-c", show], {"RECRUIT_SYNC_OPS_PORT": "9112"})
    supervisor.start("api", [sys.executable, "-c", show], {"RECRUIT_SYNC_OPS_PORT": "9104"})
    deadline = time.monotonic() + 20
    while out.getvalue().count("| port ") < 2:  # (each child's line; "importer" holds "port" too)
        assert time.monotonic() < deadline, out.getvalue()
        time.sleep(0.05)
    supervisor.stop(timeout=5)
    lines = sorted(line.split("|")[1].strip() for line in out.getvalue().splitlines())
    assert lines == ["port 9104", "port 9112"]
