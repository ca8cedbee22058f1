"""The Grafana dashboard (deploy/grafana/recruit-sync.json) is valid JSON, and every expression of its
panels names metrics the processes export: the domain metrics (``runtime.metrics``) and FastStream's
(the middleware ``runtime.broker.make_broker`` adds)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

from recruit_sync.runtime import metrics
from recruit_sync.runtime.broker import make_broker

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "recruit-sync.json"
OURS = re.compile(r"\b(?:recruit_sync|faststream)_[a-zA-Z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_names() -> set[str]:
    """The sample names the default registry exports, once a broker has its middleware."""
    make_broker("amqp://guest:guest@127.0.0.1:5672/", consumer="dashboard-test")  # (not connected)
    names: set[str] = set()
    family: Metric
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_dashboard_is_json_with_panels_for_every_domain_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "recruit-sync" and dashboard["panels"]
    used = {name for expr in expressions(dashboard) for name in OURS.findall(expr)}
    counters_and_gauges = {n for n in metrics.METRIC_NAMES if not n.endswith(("_sum", "_count"))}
    missing = counters_and_gauges - used - {"recruit_sync_run_duration_seconds_bucket"}
    assert not missing, f"no panel shows {sorted(missing)}"
    assert "recruit_sync_run_duration_seconds_bucket" in used


def test_every_expression_names_a_metric_that_exists() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names()
    assert set(metrics.METRIC_NAMES) <= exported
    assert "faststream_received_processed_messages_total" in exported
    for expr in expressions(dashboard):
        named = OURS.findall(expr)
        assert named, f"an expression naming no recruit-sync metric: {expr}"
        unknown = set(named) - exported
        assert not unknown, f"{expr} names {sorted(unknown)}, which no process exports"
