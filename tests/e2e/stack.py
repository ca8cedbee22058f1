"""The whole stack as local processes, for end-to-end tests and the benchmark.

``Stack`` makes a private database and RabbitMQ vhost, runs ``recruit-sync migrate``, starts the Recruit
simulator and ``recruit-sync services up``, and drives everything through the real CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import httpx

BIN = Path(sys.executable).parent
CLI = str(BIN / "recruit-sync")
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/recruit_sync"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def not_due_today() -> dict[str, str]:
    """A daily schedule whose next due time is ~24 h away, so only the test's own runs happen."""
    at = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%H:%M")
    return {"kind": "daily", "at": at, "timezone": "UTC"}


SUMMARY_COUNTS = (
    "total", "new", "re_added", "duplicate", "updated", "unchanged", "ignored", "ignored_by_reason",
    "deleted",
)  # fmt: skip


def counts_of(summary: dict[str, Any]) -> dict[str, Any]:
    """A run summary's counts (INTERFACE.md "Run summary"), without its identity, times and costs."""
    keys = (
        "total",
        "new",
        "re_added",
        "duplicate",
        "updated",
        "unchanged",
        "ignored",
        "ignored_by_reason",
        "deleted",
    )
    return {key: summary[key] for key in keys}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


class CliError(AssertionError):
    pass


@dataclass(frozen=True)
class JournalEntry:
    routing_key: str
    correlation_id: str | None
    body: bytes

    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


async def read_journal(amqp_url: str, routing_key: str | None = None) -> list[JournalEntry]:
    """Every event in the journal stream (optionally only ``routing_key``), oldest first."""
    connection = await aio_pika.connect(amqp_url)
    found: list[JournalEntry] = []
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=500)
        stream = await channel.declare_queue("recruit_sync.journal", passive=True)
        last = (stream.declaration_result.message_count or 0) - 1
        if last < 0:
            return found
        done = asyncio.Event()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            if routing_key is None or message.routing_key == routing_key:
                found.append(JournalEntry(message.routing_key or "", message.correlation_id, message.body))
            await message.ack()
            if int(message.headers.get("x-stream-offset", 0)) >= last:  # type: ignore[arg-type]
                done.set()

        await stream.consume(on_message, arguments={"x-stream-offset": "first"})
        await asyncio.wait_for(done.wait(), timeout=20)
    finally:
        await connection.close()
    return found


@dataclass
class Stack:
    workdir: Path
    replicas: int = 1
    sim_data: str | None = None
    sim_generate: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    name: str = field(default_factory=lambda: f"rs_e2e_{uuid.uuid4().hex[:12]}")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # on stop, every finished run still in the journal must replay with --dry-run to what it recorded
    check_dry_runs: bool = True

    def __post_init__(self) -> None:
        server_db = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        server_mq = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
        self.database_url = _with_path(server_db, f"/{self.name}")
        self.admin_database_url = _with_path(server_db, "/postgres")
        self.amqp_url = _with_path(server_mq, f"/{self.name}")
        self.api_port = free_port()
        self.sim_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.amqp_url,
            "RECRUIT_SYNC_API": f"http://127.0.0.1:{self.api_port}",
            "RECRUIT_SYNC_KEY_FILE": str(self.workdir / "secret.key"),
            "RECRUIT_SYNC_SCHEDULER_TICK": "1",
            # each stack's processes get ops ports of their own (base + 0..4, +10 per replica): stacks run in
            # parallel, so not the default 9100 (a clash is only logged, but then the ops port is not theirs)
            "RECRUIT_SYNC_OPS_PORT_BASE": str(random.randrange(20_000, 60_000, 50)),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self.env.pop("RECRUIT_SYNC_SECRET_KEY", None)
        self.env.pop("RECRUIT_SYNC_TOKEN", None)

    # lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Stack:
        self._rabbitmqctl("add_vhost", self.name)
        self._rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        self.run("migrate")
        # every route but /health needs credentials: the CLI of this stack acts with an admin token
        self.token = str(self.json("token", "create", "--name", "e2e", "--role", "admin")["token"])
        self.env["RECRUIT_SYNC_TOKEN"] = self.token
        sim_args = ["sim", "--port", str(self.sim_port)]
        if self.sim_data:
            sim_args += ["--data", self.sim_data]
        if self.sim_generate:
            sim_args += ["--generate", str(self.sim_generate)]
        self._spawn("sim", sim_args)
        self._spawn("services", ["services", "up", "--replicas", str(self.replicas)])
        self._wait_http(f"{self.sim_url}/_sim/stats", "simulator")
        self._wait_http(f"http://127.0.0.1:{self.api_port}/health", "API")
        return self

    def stop(self) -> None:
        try:
            unreproduced = self.runs_that_do_not_reproduce() if self.check_dry_runs else {}
        finally:
            self._stop()
        if unreproduced:
            raise AssertionError(f"runs whose dry run differs from what they recorded: {unreproduced}")

    def _stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for proc in self.procs:
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()
        subprocess.run(
            ["psql", self.admin_database_url, "-qc", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'],
            capture_output=True,
        )
        self._rabbitmqctl("delete_vhost", self.name, check=False)

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self._stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def logs(self) -> str:
        out = []
        for path in sorted(self.workdir.glob("*.log")):
            out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-20000:]}")
        return "\n".join(out)

    # driving -----------------------------------------------------------------------------------------
    def run(
        self, *args: str, check: bool = True, timeout: float = 300, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CLI, *args], env=self.env, capture_output=True, text=True, timeout=timeout, input=stdin
        )
        if check and result.returncode != 0:
            raise CliError(
                f"recruit-sync {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr[-4000:]}"
            )
        return result

    def json(self, *args: str, check: bool = True, timeout: float = 300) -> Any:
        result = self.run(*args, "--json", check=check, timeout=timeout)
        return json.loads(result.stdout)

    def sim(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.sim_url}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def add_user(self, email: str, role: str, password: str) -> None:
        self.run("user", "add", email, "--role", role, "--password-stdin", stdin=f"{password}\n")

    def add_connection(self, name: str = "acme-recruit") -> str:
        out = self.json(
            "connection", "add", "--name", name, "--base-url", self.sim_url, "--accounts-url", self.sim_url,
            "--client-id", "cid", "--client-secret", "secret", "--refresh-token", "rt",
        )  # fmt: skip
        return str(out["id"])

    def create_sync(self, spec: dict[str, Any]) -> str:
        """Create a sync; without a schedule in ``spec`` it gets one that does not fire during the test."""
        spec = {"schedule": not_due_today(), **spec}
        path = self.workdir / f"spec-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(spec))
        return str(self.json("sync", "create", "--file", str(path))["id"])

    def run_sync(self, sync_id: str, *, full: bool = False, timeout: float = 300) -> dict[str, Any]:
        args = ["sync", "run", sync_id, "--wait"] + (["--full"] if full else [])
        result = self.run(*args, "--json", check=False, timeout=timeout)
        if not result.stdout.strip():
            raise CliError(f"no summary: {result.stderr[-4000:]}\n{self.logs()[-6000:]}")
        summary: dict[str, Any] = json.loads(result.stdout)
        return summary

    def restart_services(self, **env: str | None) -> None:
        """Stop ``services up``, start it again with ``env`` changed (None: unset); store and broker kept."""
        services = self.procs.pop(next(i for i, p in enumerate(self.procs) if p.args[1:2] == ["services"]))
        services.send_signal(signal.SIGINT)
        services.wait(timeout=60)
        for name, value in env.items():
            if value is None:
                self.env.pop(name, None)
            else:
                self.env[name] = value
        self._spawn("services", ["services", "up", "--replicas", str(self.replicas)])
        self._wait_http(f"http://127.0.0.1:{self.api_port}/health", "API")
        self._wait_for_rpc()

    def _wait_for_rpc(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.run("list", "all", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the services did not answer within {timeout}s:\n{self.logs()}")
            time.sleep(0.5)

    def api(self, method: str, path: str, timeout: float = 600) -> Any:
        response = httpx.request(
            method,
            f"http://127.0.0.1:{self.api_port}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()

    def finished_runs(self) -> list[str]:
        return [
            run["run_id"]
            for sync in self.api("GET", "/syncs")
            for run in self.api("GET", f"/syncs/{sync['id']}/runs")
            if run["state"] != "running"
        ]

    def runs_that_do_not_reproduce(self) -> dict[str, Any]:
        """``replay RUN_ID --dry-run`` of every finished run still in the journal, a few at a time:
        each whose replay differs from what it recorded, with its differences (or its error)."""
        if not any(p.poll() is None for p in self.procs) or not hasattr(self, "token"):
            return {}

        def dry_run(run_id: str) -> tuple[str, Any]:
            try:
                return run_id, self.api("GET", f"/runs/{run_id}/dry-run")
            except httpx.HTTPStatusError as exc:
                return run_id, {"error": exc.response.text}

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = dict(pool.map(dry_run, self.finished_runs()))
        return {
            run_id: result.get("differences", result)
            for run_id, result in results.items()
            if result.get("differences") != [] and "has left the journal" not in str(result)
        }

    def journal(self, routing_key: str | None = None) -> list[JournalEntry]:
        return asyncio.run(read_journal(self.amqp_url, routing_key))

    # internals ---------------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "wb")
        proc = subprocess.Popen([CLI, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)

    def _wait_http(self, url: str, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a process exited while waiting for the {what}:\n{self.logs()}")
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the {what} did not answer within {timeout}s:\n{self.logs()}")

    @staticmethod
    def _rabbitmqctl(*args: str, check: bool = True) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=60)
