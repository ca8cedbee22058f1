"""docker-compose.yml cannot run here (no Docker engine): keep it right by parsing it."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKERS = ("scheduler", "fetcher", "importer", "history")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_every_component_has_a_service() -> None:
    services = compose()["services"]
    assert {*WORKERS, "api", "migrate", "rabbitmq", "postgres", "sim"} <= set(services)


def test_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service.get("image", "")
        assert image and not image.endswith(":latest") and re.search(r":\d", image), (name, image)


def test_commands_name_modules_that_exist() -> None:
    services = compose()["services"]
    for name in (*WORKERS, "api"):
        command = services[name]["command"]
        assert command[:2] == ["python", "-m"], command
        assert importlib.util.find_spec(command[2]) is not None, command[2]


def test_workers_can_be_scaled_and_wait_for_migrations() -> None:
    services = compose()["services"]
    for name in WORKERS:
        service = services[name]
        assert "container_name" not in service and "ports" not in service, name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert {"DATABASE_URL", "AMQP_URL"} <= set(env)
        assert "@postgres:" in env["DATABASE_URL"] and "@rabbitmq:" in env["AMQP_URL"]


def test_simulator_is_under_the_demo_profile() -> None:
    assert compose()["services"]["sim"]["profiles"] == ["demo"]


def test_dockerfile_copies_every_workspace_member() -> None:
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for member in members:
        top = member.split("/")[0]
        assert re.search(rf"^COPY {top} ", dockerfile, re.M), member


def test_only_the_api_is_published_and_no_password_has_a_default() -> None:
    services = compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"api"}
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("POSTGRES_PASSWORD", "RABBITMQ_USER", "RABBITMQ_PASSWORD", "RECRUIT_SYNC_SECRET_KEY"):
        uses = re.findall(rf"\$\{{{variable}(:\?|:-|-|\}})", text)
        assert uses and set(uses) == {":?"}, (variable, uses)  # required, never defaulted
    assert "guest:guest" not in text and "postgres:postgres@" not in text


def test_every_service_process_is_probed_on_its_ops_port() -> None:
    """Each container runs one process with its ops port (RECRUIT_SYNC_OPS_PORT) and is healthy only while
    its /health/ready answers (broker connected, database answering, migrations applied)."""
    services = compose()["services"]
    for name in (*WORKERS, "api"):
        service = services[name]
        port = service["environment"]["RECRUIT_SYNC_OPS_PORT"]
        assert f"127.0.0.1:{port}/health/ready" in " ".join(service["healthcheck"]["test"]), name
    assert services["sim"]["healthcheck"] == {"disable": True}
