"""A private RabbitMQ node, to stop and start under running clients without touching the machine's own.

The machine's broker (``rabbit@localhost``) serves every other test, so a test that restarts a broker
starts its own node: a name of its own (``rs_<hex>@localhost``), free AMQP and distribution ports, its
database, logs and pid file in a temporary directory, no plugins, and neither the machine's
``rabbitmq.conf`` (it pins the shared port) nor its ``rabbitmq-env.conf`` (it names the shared node).
Each of ``rabbitmq-server`` and ``rabbitmqctl`` is the packaged wrapper, which runs as the ``rabbitmq``
user when called as root: the node then shares that user's Erlang cookie, so a plain
``rabbitmqctl -n NODE ...`` from the chaos harness reaches it too, and nothing here reads a cookie.

Measured on this machine (RabbitMQ 3.10): ``start()`` 3.6 to 6 s (most of it the Erlang VM and, the
first time, a fresh database), ``stop()`` about 0.4 s; ``stop_app()``/``start_app()`` about 0.3 s and
0.8 s. Both pairs drop every client connection (clients see ``CONNECTION_FORCED ... 'shutdown'`` or a
reset, then connection refused) and with them every direct reply-to consumer (a client that does not
re-consume fails with ``fast reply consumer does not exist``: issue 10's bug reproduces with either);
durable queues and their persistent messages survive both (checked). ``stop()`` is the real thing (the
process ends), ``stop_app()`` the quick one (the Erlang VM stays).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import free_port

START_TIMEOUT = 60.0


def _command(name: str) -> str:
    """The packaged command (``/usr/sbin``: runs as ``rabbitmq`` when called as root), else the node's own
    scripts for a user without root, who then uses their own cookie in ``$HOME``."""
    if os.geteuid() == 0 and shutil.which(name):
        return str(shutil.which(name))
    for directory in (Path("/usr/lib/rabbitmq/bin"), *sorted(Path("/usr/lib/rabbitmq/lib").glob("*/sbin"))):
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found (is RabbitMQ installed?)")
    return found


def rabbitmq_installed() -> bool:
    try:
        _command("rabbitmq-server")
    except RuntimeError:
        return False
    return True


class PrivateRabbitMQ:
    """``amqp_url`` names the node's default vhost (guest/guest, from 127.0.0.1 only); ``node`` its
    Erlang name for ``rabbitmqctl -n``. Not started until ``start()``."""

    def __init__(self) -> None:
        self.node = f"rs_{uuid.uuid4().hex[:12]}@localhost"
        self.port = free_port()
        self.amqp_url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.root = Path(tempfile.mkdtemp(prefix="rs-mq-"))
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq.conf").write_text(
            "# a private test node: the defaults, nothing of the machine's\n"
        )
        (self.root / "rabbitmq-env.conf").write_text("")
        if os.geteuid() == 0:
            shutil.chown(self.root, "rabbitmq", "rabbitmq")
            for path in self.root.iterdir():
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def ctl(self, *args: str, timeout: float = 60.0) -> str:
        """``rabbitmqctl -n NODE ARGS``; its output."""
        done = subprocess.run(
            [_command("rabbitmqctl"), "-q", "-n", self.node, *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done.stdout

    def start(self) -> float:
        """Start the node and wait until it serves; the seconds it took."""
        began = time.monotonic()
        subprocess.run(
            [_command("rabbitmq-server"), "-detached"],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        self._await_startup(began)
        return time.monotonic() - began

    def _await_startup(self, began: float) -> None:
        # ``await_startup`` needs the node registered first: until then it fails at once, so ask again
        while True:
            try:
                self.ctl("await_startup", "--timeout", str(int(START_TIMEOUT)))
                return
            except subprocess.CalledProcessError:
                if time.monotonic() - began > START_TIMEOUT:
                    raise RuntimeError(
                        f"the private RabbitMQ node did not start: {self.log_tail()}"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the node (the Erlang VM ends): every connection is closed, new ones are refused."""
        self.ctl("stop")

    def stop_app(self) -> None:
        """Stop RabbitMQ inside the running VM: to clients, the same as ``stop`` (connections closed,
        listener gone), and ``start_app`` is about 3 s quicker than ``start``."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")

    def log_tail(self, lines: int = 20) -> str:
        logs = sorted((self.root / "log").glob("*.log"))
        return "\n".join(logs[0].read_text().splitlines()[-lines:]) if logs else "(no log)"

    def close(self) -> None:
        """Stop the node if it runs (by its own pid if ``rabbitmqctl`` cannot) and remove its files."""
        try:
            self.stop()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pid = self._pid()
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def _pid(self) -> int | None:
        """The node's process, if it still runs: the pid file's, when that process is this node's VM (its
        environment names this node; a pid can be reused)."""
        try:
            pid = int((self.root / "pid").read_text().strip())
            environment = Path(f"/proc/{pid}/environ").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if f"RABBITMQ_NODENAME={self.node}".encode() in environment.split(b"\0") else None


@pytest.fixture
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A started private RabbitMQ node for this test, stopped and removed afterwards."""
    if not rabbitmq_installed():
        pytest.skip("RabbitMQ is not installed on this machine: no private node to break")
    node = PrivateRabbitMQ()
    try:
        node.start()
        yield node
    finally:
        node.close()
