"""The compose file, Prometheus's scrape config and the Grafana dashboard agree with each
other and with the code: every scrape target is a compose service exposing that port (and,
for the worker and the sink, configured to serve metrics there on all interfaces), and every
dashboard query reads metrics the worker's or the sink's registry defines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from foundation.settings import ENV_PREFIX, Settings, load_settings
from sinks.metrics import SinkMetrics
from streams.health import Health
from streams.metrics import worker_registry

INFRA = Path(__file__).resolve().parents[3] / "infra"
COMPOSE = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
PROMETHEUS = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
DASHBOARD = json.loads((INFRA / "grafana" / "dashboards" / "orbitstream.json").read_text())
DATASOURCES = yaml.safe_load(
    (INFRA / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
)
PROVIDERS = yaml.safe_load(
    (INFRA / "grafana" / "provisioning" / "dashboards" / "orbitstream.yml").read_text()
)
SERVICES: dict[str, Any] = COMPOSE["services"]
# Series Prometheus itself adds for every target.
BUILTIN = {"up"}
# Where each component's settings put its metrics port (the collector's comes with the collector).
METRICS_PORT = {
    "worker": lambda s: s.worker.metrics_port,
    "sink": lambda s: s.sink.metrics_port,
}
METRICS_HOST = {"worker": lambda s: s.worker.metrics_host, "sink": lambda s: s.sink.metrics_host}


def defined_series() -> set[str]:
    """Every series name the worker's and the sink's registries can expose."""
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"]}
    names: set[str] = set()
    for registry in (worker_registry(Health()), SinkMetrics().registry):
        for family in registry.collect():
            names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


def scrape_targets() -> list[tuple[str, str, int]]:
    """(job, host, port) of every static and DNS-discovered target."""
    targets = []
    for job in PROMETHEUS["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                targets.append((job["job_name"], host, int(port)))
        for dns in job.get("dns_sd_configs", []):
            targets.extend((job["job_name"], name, int(dns["port"])) for name in dns["names"])
    return targets


def service_settings(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a service's container builds from its environment (every name checked)."""
    for key, value in service.get("environment", {}).items():
        if key.startswith(ENV_PREFIX):
            monkeypatch.setenv(key, str(value))
    return load_settings()


def test_every_scrape_target_is_a_compose_service_exposing_its_metrics_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    targets = scrape_targets()
    assert {job for job, _, _ in targets} == {"worker", "sink", "collector"}
    for job, host, port in targets:
        assert host in SERVICES, f"job {job}: {host} is not a compose service"
        service = SERVICES[host]
        assert str(port) in [str(p) for p in service.get("expose", [])], f"{host} does not expose {port}"
        if host in METRICS_PORT:
            with monkeypatch.context() as env:
                settings = service_settings(service, env)
            assert METRICS_PORT[host](settings) == port, f"{host} serves metrics elsewhere"
            assert METRICS_HOST[host](settings) == "0.0.0.0", f"{host} metrics unreachable from prometheus"
    # The collector serves /metrics on its HTTP port (8400).
    assert ("collector", "collector", 8400) in targets


def test_prometheus_and_grafana_are_wired_to_the_files_here() -> None:
    prometheus, grafana = SERVICES["prometheus"], SERVICES["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"] if v.startswith("./")}
    assert mounts["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    grafana_mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")}
    assert grafana_mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    (provider,) = PROVIDERS["providers"]
    assert grafana_mounts[provider["options"]["path"]] == "./grafana/dashboards"
    (datasource,) = DATASOURCES["datasources"]
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in SERVICES
    used = {t["datasource"]["uid"] for p in DASHBOARD["panels"] for t in p.get("targets", [])}
    assert used == {datasource["uid"]}


def _series_in(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers outside label matchers, grouping
    clauses and strings that are not functions or keywords."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text))
    functions = {w for w in words if re.search(rf"\b{w}\s*\(", text)}
    return words - functions - {"and", "or", "unless", "offset", "bool"}


def test_every_dashboard_query_reads_metrics_the_code_defines() -> None:
    defined = defined_series()
    queried: set[str] = set()
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            series = _series_in(target["expr"])
            assert series, f"{panel['title']}: no metric in {target['expr']!r}"
            unknown = series - defined - BUILTIN
            assert not unknown, f"{panel['title']}: {sorted(unknown)} is defined nowhere"
            queried |= series
    # Lag, rates, latency and dead letters are all on it.
    assert {
        "orbitstream_worker_consumer_lag",
        "orbitstream_sink_consumer_lag",
        "orbitstream_worker_events_in_total",
        "orbitstream_worker_events_out_total",
        "orbitstream_sink_rows_total",
        "orbitstream_worker_send_to_score_seconds_bucket",
        "orbitstream_worker_dead_letters_total",
        "orbitstream_sink_dead_letters_total",
    } <= queried


def test_the_query_reader_finds_metric_names_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, topic) (rate(a_bucket{job=~"w|s", le!="1"}[5m]))) '
        "/ ignoring (x) b_total + up"
    )
    assert _series_in(expr) == {"a_bucket", "b_total", "up"}
