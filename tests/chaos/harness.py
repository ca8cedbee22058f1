"""The whole pipeline with every service its own process, as docker-compose or Kubernetes runs them, so
one can be killed, restarted or cut off while a run is in flight.

``ChaosStack`` is ``tests.e2e.stack.Stack`` taken apart: a private database and vhost on the given servers,
the simulator, then each service (``python -m recruit_sync.<name>``, ``replicas`` of each worker) with
its broker and database reached through a ``TcpProxy`` of its own, so the network of one service can be
cut while the others go on. ``Outcome`` is what a scenario compares with the fault-free run: the summary's
counts, every record's outcome, the list's members.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.e2e.stack import CLI, CliError, counts_of, free_port
from tests.faults.proxy import TcpProxy

WORKERS = ("scheduler", "fetcher", "importer", "history")
SPEC = {"name": "chaos", "connection": "acme-recruit", "list": "Chaos",
        "schedule": {"kind": "weekly", "weekday": "monday", "at": "09:30", "timezone": "UTC"},
        "options": {"on_recruit_delete": "remove_from_list"}}  # fmt: skip


def _with(url: str, *, port: int | None = None, path: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if port is not None:
        userinfo, _, _ = parts.netloc.rpartition("@")
        netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, path=path if path is not None else parts.path))


@dataclass(frozen=True)
class Outcome:
    """What a run did: its counts, every record's outcome (a sorted list: records may repeat), the list."""

    counts: dict[str, Any]
    records: list[tuple[Any, ...]]
    members: list[dict[str, Any]]


@dataclass
class ChaosStack:
    workdir: Path
    database_server: str  # postgresql://user@host:port/anything
    broker_server: str  # amqp://user:pass@host:port/
    records: int = 3000
    replicas: int = 1
    batch_size: int = 100
    extra_env: dict[str, str] = field(default_factory=dict)
    rabbitmq_node: str | None = None  # the broker's Erlang node, for rabbitmqctl (None: the machine's own)
    name: str = field(default_factory=lambda: f"rs_chaos_{uuid.uuid4().hex[:10]}")
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    proxies: dict[str, tuple[TcpProxy, TcpProxy]] = field(default_factory=dict)  # process -> (broker, db)

    def __post_init__(self) -> None:
        self.database_url = _with(self.database_server, path=f"/{self.name}")
        self.amqp_url = _with(self.broker_server, path=f"/{self.name}")
        self.api_port, self.sim_port = free_port(), free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            "RECRUIT_SYNC_API": f"http://127.0.0.1:{self.api_port}",
            "RECRUIT_SYNC_KEY_FILE": str(self.workdir / "secret.key"),
            "RECRUIT_SYNC_SCHEDULER_TICK": "1",
            "RECRUIT_SYNC_BATCH_SIZE": str(self.batch_size),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        for name in ("RECRUIT_SYNC_SECRET_KEY", "RECRUIT_SYNC_TOKEN"):
            self.env.pop(name, None)

    # lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> ChaosStack:
        try:
            self._admin("add_vhost")
            self.cli("migrate")
            self.env["RECRUIT_SYNC_TOKEN"] = str(
                self.json("token", "create", "--name", "chaos", "--role", "admin")["token"]
            )
            self._spawn("sim", [CLI, "sim", "--port", str(self.sim_port), "--generate", str(self.records)])
            for service in WORKERS:
                for n in range(1, self.replicas + 1):
                    self.start(f"{service}-{n}")
            self.start("api")
            self.wait_until(lambda: self._answers(f"{self.sim_url}/_sim/stats"), 60, "the simulator")
            self.wait_until(self.api_ready, 90, "the API")
            self.json("connection", "add", "--name", "acme-recruit", "--base-url", self.sim_url,
                      "--accounts-url", self.sim_url, "--client-id", "cid", "--client-secret", "secret",
                      "--refresh-token", "rt")  # fmt: skip
            path = self.workdir / f"{self.name}.json"
            path.write_text(json.dumps(SPEC))
            self.sync_id = str(self.json("sync", "create", "--file", str(path))["id"])
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGINT, wait=False)
        for name in list(self.procs):
            proc = self.procs.pop(name)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for broker, database in self.proxies.values():
            broker.close()
            database.close()
        self.proxies.clear()
        drop = f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'
        subprocess.run(
            ["psql", _with(self.database_server, path="/postgres"), "-qc", drop], capture_output=True
        )
        self._admin("delete_vhost", check=False)

    # processes -------------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        """Start ``name`` (``importer-2``, ``api``) with its own proxies to the broker and the database."""
        if name not in self.proxies:
            broker, database = urlsplit(self.amqp_url), urlsplit(self.database_url)
            self.proxies[name] = (
                TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672),
                TcpProxy(database.hostname or "127.0.0.1", database.port or 5432),
            )
        to_broker, to_database = self.proxies[name]
        env = {
            "AMQP_URL": _with(self.amqp_url, port=to_broker.port),
            "DATABASE_URL": _with(self.database_url, port=to_database.port),
        }
        module = name.split("-")[0]
        self._spawn(name, [sys.executable, "-m", f"recruit_sync.{module}"], env)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, *, wait: bool = True) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
        if wait:
            proc.wait(timeout=60)
            del self.procs[name]

    def cut(self, name: str) -> None:
        for proxy in self.proxies[name]:
            proxy.cut()

    def restore(self, name: str) -> None:
        for proxy in self.proxies[name]:
            proxy.restore()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.workdir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            argv, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )

    def _admin(self, command: str, *, check: bool = True) -> None:
        subprocess.run(["rabbitmqctl", "-q", *self._node(), command, self.name], check=check,
                       capture_output=True, timeout=60)  # fmt: skip
        if command == "add_vhost":
            subprocess.run(["rabbitmqctl", "-q", *self._node(), "set_permissions", "-p", self.name,
                            urlsplit(self.amqp_url).username or "guest", ".*", ".*", ".*"],
                           check=True, capture_output=True, timeout=60)  # fmt: skip

    def _node(self) -> list[str]:
        return ["-n", self.rabbitmq_node] if self.rabbitmq_node else []

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )

    # driving ---------------------------------------------------------------------------------------
    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise CliError(
                f"recruit-sync {' '.join(args)} exited {result.returncode}: {result.stderr[-2000:]}"
            )
        return result

    def json(self, *args: str, check: bool = True) -> Any:
        return json.loads(self.cli(*args, "--json", check=check).stdout)

    def api(self, path: str) -> Any:
        response = httpx.get(
            f"http://127.0.0.1:{self.api_port}{path}",
            headers={"Authorization": f"Bearer {self.env['RECRUIT_SYNC_TOKEN']}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def api_ready(self) -> bool:
        return self._answers(f"http://127.0.0.1:{self.api_port}/health")

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_run(self, *, full: bool = True) -> str:
        return str(self.json("sync", "run", self.sync_id, *(["--full"] if full else []))["run_id"])

    def run_state(self, run_id: str) -> dict[str, Any] | None:
        """The run's summary, or None while it cannot be read (a service down, the network cut)."""
        try:
            summary: dict[str, Any] = self.api(f"/runs/{run_id}")
        except httpx.HTTPError:
            return None
        return summary

    def wait_for_progress(self, run_id: str, records: int, timeout: float = 120) -> None:
        """Until history has counted at least ``records`` of the run (the fault then lands mid-run)."""

        def far_enough() -> bool:
            summary = self.run_state(run_id)
            return summary is not None and (summary["total"] >= records or summary["state"] != "running")

        self.wait_until(far_enough, timeout, f"run {run_id} to pass {records} records")

    def wait_for_end(self, run_id: str, timeout: float = 180) -> dict[str, Any]:
        ended: dict[str, Any] = {}

        def finished() -> bool:
            summary = self.run_state(run_id)
            if summary is not None and summary["state"] != "running":
                ended.update(summary)
                return True
            return False

        self.wait_until(finished, timeout, f"run {run_id} to end")
        return ended

    def every_run(self) -> list[str]:
        """Every run history holds, of any sync or of none (read from its table: no route lists them all)."""
        result = subprocess.run(
            ["psql", self.database_url, "-tAc", "SELECT run_id FROM history.runs ORDER BY run_id"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout.split()

    def outcome(self, summary: dict[str, Any]) -> Outcome:
        records = self.json("runs", "records", summary["run_id"])
        members = self.json("list", "members", SPEC["list"])
        return Outcome(
            counts=counts_of(summary),
            records=sorted(
                (r["record_id"] or "", r["email"] or "", r["outcome"], r["reason"] or "") for r in records
            ),
            members=sorted(members, key=lambda m: m["email"]),
        )

    def wait_until(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout:g} s for {what}\n{self.logs()}")
            time.sleep(0.2)

    def names(self, service: str) -> Iterator[str]:
        return (name for name in self.procs if name.split("-")[0] == service)
