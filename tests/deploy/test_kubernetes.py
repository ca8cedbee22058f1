"""deploy/kubernetes, checked offline: each overlay is rendered with ``kubectl kustomize`` and every object
validated, built-in kinds against the Kubernetes API schemas of a pinned version (``kubernetes_validate``,
strict: an unknown field fails) and the operators' custom resources against the minimal schemas vendored
in deploy/kubernetes/schemas; then the properties that matter to running recruit-sync on it."""

from __future__ import annotations

import copy
import functools
import importlib.util
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from recruit_sync.contracts import topology

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("external-postgres", "cloudnative-pg")
KUBERNETES_VERSION = (
    "1.32.0"  # the oldest version these manifests target (native preStop sleep is on by default)
)
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed: it renders the Kustomize overlays (kubectl kustomize)"
)

# INTERFACE.md, RECRUIT_SYNC_OPS_PORT_BASE: each process serves /metrics and /health/* on base + offset
OPS_PORT_BASE = 9100
OPS_PORT_VARIABLE = "RECRUIT_SYNC_OPS_PORT"
OPS_PORT_OFFSETS = {"scheduler": 0, "fetcher": 1, "importer": 2, "history": 3, "api": 4}
SERVICES = tuple(OPS_PORT_OFFSETS)
SECRET_VARIABLES = ("RECRUIT_SYNC_SECRET_KEY", "DATABASE_URL", "AMQP_URL")
# a URL carrying a password: scheme://user:password@host
CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
# the KEDA scaler for each work queue: queue -> the Deployment that consumes it
SCALED = {
    topology.IMPORTER_RECORD_BATCH: "recruit-sync-importer",
    topology.FETCHER_SYNC_DUE: "recruit-sync-fetcher",
}
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication.json",
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmqcluster.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.json",
}


@functools.cache
def _rendered(overlay: str) -> str:
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, "kustomize", str(KUBE / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's objects (a fresh copy each call: tests may change them)."""
    return [doc for doc in yaml.safe_load_all(_rendered(overlay)) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Deployments and Jobs by name."""
    return {**of_kind(docs, "Deployment"), **of_kind(docs, "Job")}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod = workload["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def custom_schema(doc: dict[str, Any]) -> dict[str, Any] | None:
    name = CUSTOM_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    if name is None:
        return None
    schema: dict[str, Any] = yaml.safe_load((KUBE / "schemas" / name).read_text())
    return schema


def validate(doc: dict[str, Any]) -> None:
    """Raises when ``doc`` is not valid for its kind (built-in or one of the vendored custom resources)."""
    schema = custom_schema(doc)
    if schema is None:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    else:
        jsonschema.Draft202012Validator(schema).validate(doc)


MEBI = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}


def quantity(value: str | int) -> float:
    """A Kubernetes quantity as a number (cores for CPU, bytes for memory)."""
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    for suffix, factor in MEBI.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def config(docs: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = of_kind(docs, "ConfigMap")["recruit-sync-config"]["data"]
    return data


# --- the overlays render and validate ---------------------------------------------------------------


def test_the_overlays_are_the_ones_tested() -> None:
    assert {path.name for path in (KUBE / "overlays").iterdir() if path.is_dir()} == set(OVERLAYS)


def test_vendored_schemas_are_valid_json_schemas() -> None:
    for name in CUSTOM_SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(yaml.safe_load((KUBE / "schemas" / name).read_text()))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_for_its_kind(overlay: str) -> None:
    docs = render(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Service", "Job", "ConfigMap", "ScaledObject", "RabbitmqCluster"} <= kinds
    failures = []
    for doc in docs:
        try:
            validate(doc)
        except (jsonschema.ValidationError, kubernetes_validate.utils.SchemaNotFoundError) as error:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {getattr(error, 'message', error)}")
    assert not failures, "\n".join(failures)


def test_validation_rejects_a_misspelt_field() -> None:
    """Both validators are strict: a field the API does not know fails (so the test above can fail)."""
    docs = render("cloudnative-pg")
    deployment = copy.deepcopy(of_kind(docs, "Deployment")["recruit-sync-importer"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"port": 9102}}
    with pytest.raises(jsonschema.ValidationError):
        validate(deployment)
    mutations: tuple[tuple[str, Callable[[dict[str, Any]], object]], ...] = (
        ("ScaledObject", lambda d: d["spec"]["triggers"][0]["metadata"].update(queuename="x")),
        ("ScaledObject", lambda d: d["spec"]["triggers"][0]["metadata"].update(mode="QueueSize")),
        ("TriggerAuthentication", lambda d: d["spec"]["secretTargetRef"][0].pop("key")),
        ("RabbitmqCluster", lambda d: d["spec"].update(replica=3)),
        ("Cluster", lambda d: d["spec"]["storage"].update(sise="1Gi")),
    )
    for kind, mutate in mutations:
        doc = copy.deepcopy(next(iter(of_kind(docs, kind).values())))
        validate(doc)
        mutate(doc)
        with pytest.raises(jsonschema.ValidationError):
            validate(doc)


# --- the workloads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_a_deployment_running_its_module(overlay: str) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == {f"recruit-sync-{name}" for name in SERVICES}
    for name in SERVICES:
        (container,) = deployments[f"recruit-sync-{name}"]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", f"recruit_sync.{name}"]
        assert importlib.util.find_spec(f"recruit_sync.{name}") is not None
    (job,) = of_kind(docs, "Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["recruit-sync", "migrate"]
    service = of_kind(docs, "Service")["recruit-sync-api"]
    api_labels = deployments["recruit-sync-api"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]
    (api,) = deployments["recruit-sync-api"]["spec"]["template"]["spec"]["containers"]
    assert {"name": "http", "containerPort": 8000} in api["ports"]
    assert config(docs)["RECRUIT_SYNC_API"].endswith(":8000")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_probes_its_own_ops_port(overlay: str) -> None:
    """A process started alone serves its ops port where RECRUIT_SYNC_OPS_PORT says (runtime/ops.py);
    each pod gets the port `services up` would give that service."""
    if importlib.util.find_spec("recruit_sync.runtime.ops") is not None:
        from recruit_sync.runtime import ops

        assert ops.OPS_PORT_ENV == OPS_PORT_VARIABLE
    for name, offset in OPS_PORT_OFFSETS.items():
        deployment = of_kind(render(overlay), "Deployment")[f"recruit-sync-{name}"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports["ops"] == OPS_PORT_BASE + offset, name
        assert env_of(container)[OPS_PORT_VARIABLE]["value"] == str(ports["ops"]), name
        for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
            assert container[probe]["httpGet"] == {"path": path, "port": "ops"}, (name, probe)
            assert container[probe].get("timeoutSeconds", 1) < container[probe].get("periodSeconds", 10)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits_above_the_measured_rss(overlay: str) -> None:
    measured_peak_rss = 90 * 10**6  # bench/pipeline.py: 70-90 MB per service
    for name, workload in workloads(render(overlay)).items():
        for container in containers(workload):
            resources = container["resources"]
            for kind in ("cpu", "memory"):
                request, limit = quantity(resources["requests"][kind]), quantity(resources["limits"][kind])
                assert 0 < request <= limit, (name, kind)
            assert quantity(resources["requests"]["memory"]) > measured_peak_rss, name
            assert quantity(resources["limits"]["memory"]) >= 2 * measured_peak_rss, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grace_period_outlasts_the_shutdown_drain(overlay: str) -> None:
    docs = render(overlay)
    drain = float(config(docs)["RECRUIT_SYNC_SHUTDOWN_SECONDS"])
    for name, deployment in of_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        assert pod["terminationGracePeriodSeconds"] > drain + pre_stop, name
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_unprivileged(overlay: str) -> None:
    for name, workload in workloads(render(overlay)).items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert isinstance(pod["securityContext"]["runAsUser"], int), name  # the image's USER is a name
        for container in containers(workload):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name


def test_every_image_is_the_one_compose_builds() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    image = compose["x-app"]["image"]
    for overlay in OVERLAYS:
        for name, workload in workloads(render(overlay)).items():
            assert {c["image"] for c in containers(workload)} == {image}, name


# --- secrets ---------------------------------------------------------------------------------------


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")
    else:
        yield path, node


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_value_is_inline(overlay: str) -> None:
    docs = render(overlay)
    assert not of_kind(docs, "Secret"), "credentials are created outside the manifests, never committed"
    for doc in docs:
        for path, value in _walk(doc):
            if isinstance(value, str):
                assert not CREDENTIALS_IN_URL.search(value), (doc["kind"], path)
    for data in (cm.get("data", {}) for cm in of_kind(docs, "ConfigMap").values()):
        assert not set(data) & {*SECRET_VARIABLES, "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD"}
    for name, workload in workloads(docs).items():
        for container in containers(workload):
            for entry in container.get("env", []):
                if entry["name"] in SECRET_VARIABLES or re.search("PASSWORD|TOKEN|SECRET", entry["name"]):
                    assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], (
                        name,
                        entry["name"],
                    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_reads_its_credentials_from_secrets(overlay: str) -> None:
    docs = render(overlay)
    for name, workload in workloads(docs).items():
        (container,) = containers(workload)
        env = env_of(container)
        needed = ("DATABASE_URL", "AMQP_URL") if workload["kind"] == "Job" else SECRET_VARIABLES
        for variable in needed:
            assert env[variable]["valueFrom"]["secretKeyRef"]["key"], (name, variable)


def test_cloudnative_pg_overlay_reads_the_operators_app_secret() -> None:
    docs = render("cloudnative-pg")
    (cluster,) = of_kind(docs, "Cluster").values()
    assert cluster["spec"]["bootstrap"]["initdb"]["database"] == "recruit_sync"
    for name, workload in workloads(docs).items():
        ref = env_of(containers(workload)[0])["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"{cluster['metadata']['name']}-app", "key": "uri"}, name
    assert not of_kind(render("external-postgres"), "Cluster")


# --- the broker and scaling ------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rabbitmq_is_a_three_node_cluster(overlay: str) -> None:
    (cluster,) = of_kind(render(overlay), "RabbitmqCluster").values()
    assert cluster["spec"]["replicas"] == 3
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert cluster["spec"]["image"] == compose["services"]["rabbitmq"]["image"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_scales_the_importer_and_the_fetcher_on_their_queues(overlay: str) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    authentications = of_kind(docs, "TriggerAuthentication")
    scaled = {}
    for name, scaled_object in of_kind(docs, "ScaledObject").items():
        target = scaled_object["spec"]["scaleTargetRef"]
        assert target.get("kind", "Deployment") == "Deployment" and target["name"] in deployments, name
        assert scaled_object["spec"].get("minReplicaCount", 0) >= 1, "each also answers its RPC queue"
        (trigger,) = scaled_object["spec"]["triggers"]
        assert trigger["type"] == "rabbitmq"
        queue = trigger["metadata"]["queueName"]
        assert queue in topology.WORK_QUEUES, queue
        scaled[queue] = target["name"]
        # the scaler's broker URL is the one the scaled process itself reads
        (ref,) = authentications[trigger["authenticationRef"]["name"]]["spec"]["secretTargetRef"]
        assert ref["parameter"] == "host"
        (container,) = deployments[target["name"]]["spec"]["template"]["spec"]["containers"]
        assert env_of(container)["AMQP_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": ref["name"],
            "key": ref["key"],
        }
        # the HPA KEDA creates owns the replicas: a fixed count would fight it on every apply
        assert "replicas" not in deployments[target["name"]]["spec"], target["name"]
    assert scaled == SCALED


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_namespaced_object_lands_in_one_namespace(overlay: str) -> None:
    docs = render(overlay)
    (namespace,) = of_kind(docs, "Namespace")
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, (doc["kind"], doc["metadata"]["name"])
