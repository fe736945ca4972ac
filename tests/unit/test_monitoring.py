"""The shipped Grafana dashboard and Prometheus files: valid, complete, and what promtool accepts.
(tests/e2e/test_monitoring.py checks their metric names against a live scrape.)"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.support.monitoring import (
    DASHBOARDS,
    MONITORING,
    PROMETHEUS,
    dashboard_expressions,
    dashboards,
    metric_names,
    panels,
    rule_expressions,
)
from tests.support.stack import ROOT

EXPECTED_PANELS = {
    "Request rate per route",
    "Latency p50 / p95 / p99 (all routes)",
    "Latency p95 per route",
    "Errors per route (4xx, 5xx)",
    "5xx ratio",
    "Documents processed per minute by status and type",
    "Processing time p50 / p95 / p99",
    "Processing time p95 per stage",
    "Queue depth",
    "Oldest queued document age",
    "Live workers",
    "Worker memory (RSS)",
    "Webhook attempts per minute by outcome",
    "Storage free",
}
EXPECTED_ALERTS = {
    "HighErrorRate",
    "QueueNotDraining",
    "QueueBacklogOld",
    "NoWorkers",
    "StorageAlmostFull",
    "StorageFillingUp",
}


def _promtool() -> str:
    # run_tests.sh installs Debian's `prometheus` package, which ships promtool.
    path = shutil.which("promtool")
    assert path, "promtool missing: apt-get install -y prometheus (run_tests.sh does)"
    return path


def test_dashboards_have_the_expected_panels_each_with_a_query() -> None:
    found = dashboards()
    assert found, f"no dashboard JSON in {DASHBOARDS}"
    titles: set[str] = set()
    for path, dashboard in found.items():
        assert dashboard["uid"] and dashboard["title"], path
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in panels(dashboard):
            titles.add(panel["title"])
            assert panel["targets"], f"{path.name}: {panel['title']!r} has no query"
            for target in panel["targets"]:
                assert target["expr"].strip(), panel["title"]
                # The provisioned datasource through the dashboard's variable, never a hard-coded uid.
                assert target["datasource"]["uid"] == "${datasource}", panel["title"]
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
    assert titles >= EXPECTED_PANELS, EXPECTED_PANELS - titles


def test_every_expression_parses_and_names_metrics() -> None:
    for expr in dashboard_expressions() + rule_expressions():
        assert metric_names(expr), expr
    stage = next(e for e in dashboard_expressions() if "stage" in e)
    assert metric_names(stage) == {"document_stage_seconds_bucket"}
    assert metric_names('sum({__name__="celery_workers"}) or absent(up)') == {"celery_workers", "up"}


def test_provisioning_points_at_the_shipped_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    grafana = compose["services"]["grafana"]
    mounts = {}
    for volume in grafana["volumes"]:
        source, target, *mode = volume.split(":")
        if source.startswith("./"):  # files of this repository: read-only
            assert mode == ["ro"], volume
            mounts[target] = (ROOT / source).resolve()
    providers = yaml.safe_load((MONITORING / "grafana/provisioning/dashboards/document-api.yaml").read_text())
    for provider in providers["providers"]:
        # The container path resolves, through the compose mount, to the dashboards directory.
        container_path = provider["options"]["path"]
        assert mounts[container_path] == DASHBOARDS.resolve()
    assert mounts["/etc/grafana/provisioning"] == (MONITORING / "grafana/provisioning").resolve()
    sources = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    assert [s["url"] for s in sources["datasources"]] == ["http://prometheus:9090"]

    prometheus = compose["services"]["prometheus"]
    assert any(v.startswith("./deploy/monitoring/prometheus:/etc/prometheus:ro") for v in prometheus["volumes"])
    for service in ("prometheus", "grafana"):
        assert compose["services"][service]["profiles"] == ["monitoring"]
        image = compose["services"][service]["image"]
        assert ":" in image and not image.endswith(":latest"), image
    # No default admin password: compose refuses to start the profile without one.
    assert "GF_SECURITY_ADMIN_PASSWORD" in grafana["environment"]
    assert ":?" in grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]


def test_promtool_accepts_the_config_and_the_rules() -> None:
    promtool = _promtool()
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"]):
        result = subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert alerts >= EXPECTED_ALERTS


def test_alert_rules_unit_tests_pass() -> None:
    result = subprocess.run(
        [_promtool(), "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("alert", sorted(EXPECTED_ALERTS))
def test_each_expected_alert_is_exercised_by_promtool_tests(alert: str) -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text(encoding="utf-8"))
    firing = {
        case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", []) if case["exp_alerts"]
    }
    assert alert in firing
