"""Kubernetes monitoring alone: the pinned kube-prometheus-stack release, Grafana's secret handling,
the seeds' alert rules, ServiceMonitors and the provisioned dashboard."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess

import kubernetes_validate
import pulumi
import pytest

from components.config import ThresholdsConfig
from components.kubernetes_objects import ScrapeTarget, selector_labels
from components.monitoring import dashboards, metrics
from components.monitoring.kubernetes import KubernetesMonitoring, KubernetesMonitoringArgs
from tests.helpers import dig, dumps, k8s_objects, run_component, validate_k8s

K8S_VERSION = kubernetes_validate.utils.latest_version()
RELEASE = "kubernetes:helm.sh/v3:Release"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
ROUTING = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"
APP_NAMESPACE = "ai-assistant"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
EXPORTED = {"postgres": ("pg_up",), "redis": ("redis_up",), "mongodb": ("mongodb_up",), "rabbitmq": ("rabbitmq_identity_info",)}
TARGETS = [ScrapeTarget(name, APP_NAMESPACE, selector_labels(name), metrics=m) for name, m in EXPORTED.items()]


def build_monitoring(context, targets=TARGETS):
    monitoring = KubernetesMonitoring(
        "monitoring",
        KubernetesMonitoringArgs(context, APP_NAMESPACE, context.config.enabled_services, scrape_targets=targets),
    )
    pulumi.export("grafanaUrl", monitoring.grafana_url)


def run(overrides=None):
    return run_component(build_monitoring, overrides=overrides)


@pytest.fixture(scope="module")
def dev():
    return run()


def by_kind(capture, kind):
    return {o["metadata"]["name"]: o for o in k8s_objects(capture.resources) if o["kind"] == kind}


def rules_by_name(capture):
    spec = capture.one(RULE).inputs["spec"]
    found: dict[str, list[dict]] = {}
    for group in spec["groups"]:
        for rule in group["rules"]:
            found.setdefault(rule["alert"], []).append(rule)
    return found


def test_every_built_in_object_is_valid_kubernetes(dev):
    objects = k8s_objects(dev.resources)
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Secret", "ConfigMap"} <= kinds
    assert validate_k8s(objects, K8S_VERSION) == []


def test_monitoring_namespace_is_the_one_the_app_policies_admit(dev):
    (namespace,) = by_kind(dev, "Namespace").values()
    assert namespace["metadata"]["name"] == "monitoring"
    assert namespace["metadata"]["labels"]["app"] == "ai-assistant-platform"
    assert namespace["metadata"]["labels"]["environment"] == "dev"


def test_chart_is_pinned_and_installed_as_a_release(dev):
    release = dev.one(RELEASE).inputs
    assert release["chart"] == "kube-prometheus-stack"
    assert release["version"] == "79.5.0"  # monitoring.prometheusStack.chartVersion default
    assert release["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    assert release["namespace"] == "monitoring"
    assert release["name"] == "kube-prometheus-stack"


def test_chart_version_follows_config():
    capture = run({"monitoring": {"prometheusStack": {"chartVersion": "77.0.1"}}})
    assert capture.one(RELEASE).inputs["version"] == "77.0.1"


def test_grafana_password_never_reaches_the_helm_values(dev):
    values = dev.one(RELEASE).inputs["values"]
    admin_secret = by_kind(dev, "Secret")["grafana-admin"]
    assert values["grafana"]["admin"] == {
        "existingSecret": "grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert admin_secret["stringData"] == "[secret]"
    text = dumps(values)
    assert "[secret]" not in text
    assert "adminPassword" not in text and "prom-operator" not in text
    assert dev.of_type("random:index/randomPassword:RandomPassword"), "the password is generated"
    # the release waits for the Secret through the data flow, not a depends_on guess
    assert dev.one("kubernetes:core/v1:Secret").urn in dev.one(RELEASE).dependencies


def test_prometheus_and_grafana_values(dev):
    values = dev.one(RELEASE).inputs["values"]
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "15d"
    assert dig(spec, "storageSpec.volumeClaimTemplate.spec.resources.requests.storage") == "20Gi"
    for key in (
        "serviceMonitorSelectorNilUsesHelmValues",
        "ruleSelectorNilUsesHelmValues",
        "podMonitorSelectorNilUsesHelmValues",
    ):
        assert spec[key] is False, key
    grafana = values["grafana"]
    assert grafana["ingress"]["enabled"] is True
    assert grafana["ingress"]["ingressClassName"] == "nginx"
    assert grafana["ingress"]["hosts"] == ["grafana.localtest.me"]
    assert "tls" not in grafana["ingress"]  # dev has no cluster issuer
    assert grafana["sidecar"]["dashboards"] == {"enabled": True, "label": "grafana_dashboard", "labelValue": "1"}


def test_retention_storage_and_tls_follow_config():
    capture = run(
        {
            "monitoring": {"prometheusStack": {"retentionDays": 30, "storageGi": 50}},
            "edge": {"tlsClusterIssuer": "letsencrypt"},
            "kubernetes": {"storageClass": "fast-ssd"},
        }
    )
    values = capture.one(RELEASE).inputs["values"]
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert claim["storageClassName"] == "fast-ssd"
    ingress = values["grafana"]["ingress"]
    assert ingress["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["tls"] == [{"secretName": "grafana-tls", "hosts": ["grafana.localtest.me"]}]
    assert capture.outputs["grafanaUrl"] == "https://grafana.localtest.me"


def test_grafana_url_is_exported(dev):
    assert dev.outputs["grafanaUrl"] == "http://grafana.localtest.me"


def test_a_service_monitor_per_web_service(dev):
    monitors = {r.inputs["metadata"]["name"]: r for r in dev.of_type(SERVICE_MONITOR)}
    assert set(monitors) == {"frontend", "api", "mcp"}  # the worker has no port
    release = dev.one(RELEASE).urn
    for name, monitor in monitors.items():
        assert monitor.inputs["metadata"]["namespace"] == APP_NAMESPACE
        spec = monitor.inputs["spec"]
        assert spec["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": "ai-assistant-platform",
        }
        assert spec["namespaceSelector"] == {"matchNames": [APP_NAMESPACE]}
        assert [(e["port"], e["path"]) for e in spec["endpoints"]] == [("http", "/metrics")]
        assert release in monitor.dependencies, "its CRD comes from the chart"


def test_custom_resources_wait_for_the_chart_and_nothing_else_does(dev):
    release = dev.one(RELEASE).urn
    assert release in dev.one(RULE).dependencies
    for r in dev.resources:
        if r.type in ("kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret", "kubernetes:core/v1:Namespace"):
            assert release not in r.dependencies, r.name


def test_alerts_cover_the_seed_list_with_default_thresholds(dev):
    rules = rules_by_name(dev)
    assert set(rules) >= {
        "ServiceDown",
        "HighErrorRate",
        "HighLatencyP95",
        "HighCpuUsage",
        "HighMemoryUsage",
        "VolumeAlmostFull",
        "DatabaseUnreachable",
        "DataServiceUnavailable",
        "BackupTooOld",
    }
    assert {r["labels"]["service"] for r in rules["ServiceDown"]} == {"frontend", "api", "mcp"}
    assert all(r["for"] == "1m" for r in rules["ServiceDown"])
    assert rules["HighErrorRate"][0]["for"] == "2m" and rules["HighErrorRate"][0]["expr"].endswith("> 0.05")
    assert rules["HighLatencyP95"][0]["for"] == "5m" and rules["HighLatencyP95"][0]["expr"].endswith("> 2")
    assert rules["HighCpuUsage"][0]["expr"].endswith("> 0.8")
    assert rules["VolumeAlmostFull"][0]["expr"].endswith("> 0.85")
    assert rules["BackupTooOld"][0]["expr"].endswith(f"> {26 * 3600}")
    assert all(r["labels"]["severity"] in ("critical", "warning") for rs in rules.values() for r in rs)
    for rs in rules.values():
        for r in rs:
            assert f'namespace="{APP_NAMESPACE}"' in r["expr"], r["alert"]
    prom_rule = dev.one(RULE).inputs
    assert prom_rule["metadata"]["namespace"] == "monitoring"


def test_pod_monitors_scrape_each_target_after_the_chart(dev):
    release = dev.one(RELEASE).urn
    monitors = {r.inputs["metadata"]["name"]: r for r in dev.of_type(POD_MONITOR)}
    assert set(monitors) == set(EXPORTED)
    for name, monitor in monitors.items():
        spec = monitor.inputs["spec"]
        assert spec["selector"]["matchLabels"] == selector_labels(name)
        assert spec["jobLabel"] == "app.kubernetes.io/name" and spec["namespaceSelector"] == {"matchNames": [APP_NAMESPACE]}
        assert [(e["port"], e["path"]) for e in spec["podMetricsEndpoints"]] == [("metrics", "/metrics")]
        assert release in monitor.dependencies


def test_data_alerts_read_only_what_the_stack_exports():
    rules = rules_by_name(run_component(lambda c: build_monitoring(c, TARGETS[2:])))  # mongodb, rabbitmq
    expr = rules["DatabaseUnreachable"][0]["expr"]
    assert "mongodb_up" in expr and 'up{namespace="ai-assistant",job="rabbitmq"} == 0' in expr
    assert "pg_up" not in expr and "redis_up" not in expr and "rabbitmq_up" not in expr
    assert "rabbitmq_identity_info" in rules["RabbitMqClusterSplit"][0]["expr"]
    bare = rules_by_name(run_component(lambda c: build_monitoring(c, [])))
    assert "DatabaseUnreachable" not in bare and "RabbitMqClusterSplit" not in bare


def test_alert_thresholds_follow_config():
    capture = run(
        {
            "monitoring": {
                "thresholds": {
                    "serviceDownMinutes": 3,
                    "errorRatePercent": 7.5,
                    "errorRateMinutes": 4,
                    "latencyP95Seconds": 1.5,
                    "latencyMinutes": 10,
                    "cpuPercent": 75,
                    "memoryPercent": 90,
                    "resourceMinutes": 15,
                    "diskPercent": 70,
                    "backupMaxAgeHours": 48,
                }
            }
        }
    )
    rules = rules_by_name(capture)
    assert rules["ServiceDown"][0]["for"] == "3m"
    assert rules["HighErrorRate"][0]["for"] == "4m" and rules["HighErrorRate"][0]["expr"].endswith("> 0.075")
    assert rules["HighLatencyP95"][0]["for"] == "10m" and rules["HighLatencyP95"][0]["expr"].endswith("> 1.5")
    assert rules["HighCpuUsage"][0]["for"] == "15m" and rules["HighCpuUsage"][0]["expr"].endswith("> 0.75")
    assert rules["HighMemoryUsage"][0]["expr"].endswith("> 0.9")
    assert rules["VolumeAlmostFull"][0]["expr"].endswith("> 0.7")
    assert rules["BackupTooOld"][0]["expr"].endswith(f"> {48 * 3600}")


def test_backup_alerts_find_the_backup_cronjobs():
    from components.dr.kubernetes import BACKUP_JOB_PREFIX

    rules = {r.name: r for rs in metrics.alert_rules(APP_NAMESPACE, ["api"], ThresholdsConfig()).values() for r in rs}
    pattern = re.search(r'cronjob=~"([^"]+)"', rules["BackupTooOld"].expr).group(1)
    for service in ("postgres", "mongodb"):
        assert re.fullmatch(pattern, f"{BACKUP_JOB_PREFIX}{service}")
    assert "kube_cronjob_status_last_successful_time" in rules["BackupTooOld"].expr


def test_dashboard_configmap_has_the_five_panels(dev):
    (configmap,) = by_kind(dev, "ConfigMap").values()
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(configmap["data"]["ai-assistant-platform.json"])
    assert board["uid"] == "ai-assistant-platform"
    panels = {p["title"]: p for p in board["panels"]}
    expected = {
        dashboards.REQUEST_RATE: metrics.HTTP_REQUESTS_TOTAL,
        dashboards.LATENCY_P95: "histogram_quantile(0.95",
        dashboards.ERROR_RATE: 'status=~"5.."',
        dashboards.TOKEN_USAGE: metrics.AI_TOKENS_TOTAL,
        dashboards.PROVIDER_USAGE: metrics.AI_REQUESTS_TOTAL,
    }
    for title, fragment in expected.items():
        assert title in panels, title
        (target,) = panels[title]["targets"]
        assert fragment in target["expr"], title
        assert f'namespace="{APP_NAMESPACE}"' in target["expr"], title
        assert target["datasource"]["uid"] == "${datasource}"
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    latency_steps = panels[dashboards.LATENCY_P95]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert latency_steps[-1]["value"] == 2.0  # the alert threshold, drawn on the panel


def test_monitoring_disabled_creates_nothing():
    capture = run({"monitoring": {"enabled": False}})
    assert [r.type for r in capture.resources] == ["aiplatform:monitoring:KubernetesMonitoring"]
    assert capture.outputs["grafanaUrl"] is None


def test_existing_prometheus_operator_gets_only_our_objects():
    capture = run({"monitoring": {"prometheusStack": {"install": False}}})
    assert not capture.of_type(RELEASE)
    assert not capture.of_type("kubernetes:core/v1:Namespace")
    assert len(capture.of_type(SERVICE_MONITOR)) == 3
    assert capture.one(RULE).inputs["metadata"]["namespace"] == "monitoring"
    assert capture.outputs["grafanaUrl"] is None


def test_slack_and_pagerduty_routing_reads_credentials_from_a_secret():
    capture = run(
        {
            "secrets": {"provided": ["OPENAI_API_KEY", "SLACK_BOT_TOKEN", "PAGERDUTY_ROUTING_KEY"]},
            "monitoring": {
                "notifications": {
                    "slackChannel": "#alerts",
                    "slackTokenSecret": "SLACK_BOT_TOKEN",
                    "pagerdutyKeySecret": "PAGERDUTY_ROUTING_KEY",
                }
            },
        }
    )
    secret = by_kind(capture, "Secret")["alertmanager-notifications"]
    assert secret["stringData"] == "[secret]"
    routing = capture.one(ROUTING)
    assert capture.one(RELEASE).urn in routing.dependencies
    spec = routing.inputs["spec"]
    receivers = {r["name"]: r for r in spec["receivers"]}
    slack = receivers["slack"]["slackConfigs"][0]
    assert slack["channel"] == "#alerts"
    assert slack["httpConfig"]["authorization"]["credentials"] == {
        "name": "alertmanager-notifications",
        "key": "slack-token",
    }
    assert receivers["pagerduty"]["pagerdutyConfigs"][0]["routingKey"]["name"] == "alertmanager-notifications"
    assert "placeholder-" not in dumps(routing.inputs)  # provided secret values stay in the Secret
    assert [r["receiver"] for r in spec["route"]["routes"]] == ["pagerduty", "slack"]
    # the chart selects AlertmanagerConfigs by this label
    selector = capture.one(RELEASE).inputs["values"]["alertmanager"]["alertmanagerSpec"]["alertmanagerConfigSelector"]
    assert selector["matchLabels"].items() <= routing.inputs["metadata"]["labels"].items()


def test_no_routing_without_notification_targets(dev):
    assert not dev.of_type(ROUTING)


def test_metrics_expressions_are_scoped_by_the_selector():
    selector = 'namespace="x"'
    for expr in (
        metrics.request_rate(selector),
        metrics.error_ratio(selector),
        metrics.latency_quantile(0.95, selector),
        metrics.token_rate(selector),
        metrics.provider_requests(selector),
    ):
        assert expr.count("(") == expr.count(")")
        # every series selector carries the scope
        for series in re.findall(r"(?:http_\w+|ai_\w+)(\{[^}]*\})?", expr):
            assert series and 'namespace="x"' in series, expr


# --- the rendered rules under Prometheus' own tooling (Debian package `prometheus` ships promtool) ---

PROMTOOL_TESTS = """
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{namespace="ai-assistant",job="api",pod="a"}'
        values: '1 1 0 0 0 0 0'
      - series: 'up{namespace="ai-assistant",job="frontend",pod="f"}'
        values: '1x10'
      - series: 'up{namespace="ai-assistant",job="mcp",pod="m"}'
        values: '1x10'
      - series: 'http_requests_total{namespace="ai-assistant",job="frontend",status="200"}'
        values: '0+90x20'
      - series: 'http_requests_total{namespace="ai-assistant",job="frontend",status="503"}'
        values: '0+10x20'
      - series: 'http_request_duration_seconds_bucket{namespace="ai-assistant",job="api",le="1"}'
        values: '0+1x30'
      - series: 'http_request_duration_seconds_bucket{namespace="ai-assistant",job="api",le="5"}'
        values: '0+10x30'
      - series: 'http_request_duration_seconds_bucket{namespace="ai-assistant",job="api",le="+Inf"}'
        values: '0+10x30'
    alert_rule_test:
      - eval_time: 5m
        alertname: ServiceDown
        exp_alerts:
          - exp_labels: {severity: critical, service: api}
            exp_annotations:
              summary: api is down
              description: No api pod in namespace ai-assistant has answered a Prometheus scrape for more than 1 minute(s).
      - eval_time: 10m
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels: {severity: critical, job: frontend}
            exp_annotations:
              summary: "frontend: more than 5 % of requests fail with 5xx"
              description: frontend answers 10% of its requests with a 5xx status (threshold 5 % for 2 min).
      - eval_time: 15m
        alertname: HighLatencyP95
        exp_alerts:
          - exp_labels: {severity: warning, job: api}
            exp_annotations:
              summary: "api: p95 latency above 2 s"
              description: The 95th percentile request latency of api is 4.778s (threshold 2 s for 5 min).
"""

PROMTOOL_BACKUP_TESTS = """
rule_files: [rules.yaml]
evaluation_interval: 10m
tests:
  - interval: 10m
    input_series:
      - series: 'kube_cronjob_status_last_successful_time{namespace="ai-assistant",cronjob="backup-postgres"}'
        values: '0x200'
      - series: 'kube_cronjob_created{namespace="ai-assistant",cronjob="backup-postgres"}'
        values: '0x200'
      - series: 'kube_cronjob_created{namespace="ai-assistant",cronjob="backup-mongodb"}'
        values: '0x200'
      - series: 'kube_cronjob_status_last_successful_time{namespace="ai-assistant",cronjob="backup-fresh"}'
        values: '0+600x200'
      - series: 'kube_cronjob_created{namespace="ai-assistant",cronjob="backup-fresh"}'
        values: '0x200'
    alert_rule_test:
      - eval_time: 20h
        alertname: BackupTooOld
        exp_alerts: []
      - eval_time: 27h
        alertname: BackupTooOld
        exp_alerts:
          - exp_labels: {severity: critical, namespace: ai-assistant, cronjob: backup-postgres}
            exp_annotations:
              summary: Backup backup-postgres has not succeeded for 26 h
              description: The last successful run of backup-postgres is 1d 3h 0m 0s ago (threshold 26 h; daily backups, RPO seed 000).
      - eval_time: 27h
        alertname: BackupNeverSucceeded
        exp_alerts:
          - exp_labels: {severity: critical, namespace: ai-assistant, cronjob: backup-mongodb}
            exp_annotations:
              summary: Backup backup-mongodb has never succeeded
              description: backup-mongodb exists for more than 26 h without one successful run.
"""


@pytest.mark.skipif(
    shutil.which("promtool") is None and not os.environ.get("CI"),
    reason="promtool not installed (apt-get install prometheus); CI installs it and never skips",
)
def test_rendered_rules_pass_promtool_and_fire_as_the_seeds_say(dev, tmp_path):
    """The PrometheusRule exactly as planned: valid PromQL, and the alerts fire (or stay quiet) on
    synthetic series at the seeds' thresholds."""
    spec = dev.one(RULE).inputs["spec"]
    (tmp_path / "rules.yaml").write_text(json.dumps(spec))  # JSON is YAML
    (tmp_path / "app.yaml").write_text(PROMTOOL_TESTS)
    (tmp_path / "backups.yaml").write_text(PROMTOOL_BACKUP_TESTS)
    for command in (["check", "rules", "rules.yaml"], ["test", "rules", "app.yaml", "backups.yaml"]):
        result = subprocess.run(["promtool", *command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_other_clusters_can_choose_ingress_storage_and_extra_values():
    def build(context):
        monitoring = KubernetesMonitoring(
            "monitoring",
            KubernetesMonitoringArgs(
                context,
                APP_NAMESPACE,
                context.config.enabled_services,
                storage_class="regional-pd",
                ingress_class="gce",
                ingress_annotations={"kubernetes.io/ingress.allow-http": "false"},
                chart_values={"grafana": {"service": {"annotations": {"cloud.google.com/backend-config": "{}"}}}},
            ),
        )
        pulumi.export("grafanaUrl", monitoring.grafana_url)

    values = run_component(build).one(RELEASE).inputs["values"]
    grafana = values["grafana"]
    assert grafana["ingress"]["ingressClassName"] == "gce"
    assert grafana["ingress"]["annotations"] == {"kubernetes.io/ingress.allow-http": "false"}
    assert grafana["service"]["annotations"] == {"cloud.google.com/backend-config": "{}"}
    assert grafana["admin"]["existingSecret"] == "grafana-admin"  # merged over, not replaced
    claim = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "regional-pd"

    def without_ingress(context):
        monitoring = KubernetesMonitoring(
            "monitoring",
            KubernetesMonitoringArgs(context, APP_NAMESPACE, context.config.enabled_services, ingress_class=None),
        )
        pulumi.export("grafanaUrl", monitoring.grafana_url)

    capture = run_component(without_ingress)
    assert capture.one(RELEASE).inputs["values"]["grafana"]["ingress"] == {"enabled": False}
    assert capture.outputs["grafanaUrl"] is None
