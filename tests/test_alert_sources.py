"""Every alert a Kubernetes stack ships can fire: each metric its expression reads is produced by a
scrape source of the same stack, and each ServiceMonitor/PodMonitor scrapes a port that exists.

Sources: the stack's own ServiceMonitors and PodMonitors, resolved to the pods and ports they
select (tests/kubernetes/scrape_model.py), with the metrics the image behind that port emits
(`EMITTED`, by image repository: the maintained exporters' own metric names, which is how a
made-up name such as `rabbitmq_up` is caught), and kube-prometheus-stack's built-in targets
(kube-state-metrics, the kubelet and its cAdvisor) when the release keeps them on. `up` exists for
every target, with that target's `job`. A selector's `job` and `namespace` matchers must match
the source too: an alert on `up{job="rabbitmq"}` needs a target whose job is `rabbitmq`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

import promql_parser
import pytest

from components.monitoring import metrics as contract
from tests.helpers import k8s_objects, plan_of
from tests.kubernetes.network_model import cluster_of
from tests.kubernetes.scrape_model import scrape_targets
from tests.test_network_flows import KUBERNETES_STACKS
BUILT_IN = "<built-in>"

# metrics each image serves on its metrics port (the names the rules may use; extend as needed)
EMITTED: dict[str, frozenset[str]] = {
    "quay.io/prometheuscommunity/postgres-exporter": frozenset({"pg_up", "pg_stat_database_numbackends", "pg_database_size_bytes"}),
    "oliver006/redis_exporter": frozenset({"redis_up", "redis_connected_clients", "redis_memory_used_bytes", "redis_memory_max_bytes"}),
    "percona/mongodb_exporter": frozenset({"mongodb_up", "mongodb_ss_connections"}),
    "rabbitmq": frozenset({"rabbitmq_identity_info", "rabbitmq_build_info", "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_alarms_memory_used_watermark"}),
    "qdrant/qdrant": frozenset({"app_info", "collections_total", "collections_vector_total"}),
    "registry.k8s.io/ingress-nginx/controller": frozenset({"nginx_ingress_controller_requests", "nginx_ingress_controller_request_duration_seconds_bucket"}),
    "quay.io/argoproj/argo-rollouts": frozenset({"rollout_info", "rollout_phase", "analysis_run_info", "analysis_run_metric_phase"}),
}
# the app's metric contract (components/monitoring/metrics.py): what the services' own images serve
APP_METRICS = frozenset(
    {
        contract.HTTP_REQUESTS_TOTAL,
        f"{contract.HTTP_REQUEST_DURATION_SECONDS}_bucket",
        f"{contract.HTTP_REQUEST_DURATION_SECONDS}_sum",
        f"{contract.HTTP_REQUEST_DURATION_SECONDS}_count",
        contract.AI_TOKENS_TOTAL,
        contract.AI_REQUESTS_TOTAL,
    }
)
# kube-prometheus-stack's own targets, by the chart value that turns them off
BUILT_IN_METRICS = {
    "kubeStateMetrics": frozenset(
        {
            "kube_pod_container_resource_limits", "kube_statefulset_replicas", "kube_statefulset_status_replicas_ready",
            "kube_cronjob_status_last_successful_time", "kube_cronjob_created", "kube_job_failed",
            "kube_cronjob_status_last_schedule_time", "kube_cronjob_status_active",
        }
    ),
    "kubelet": frozenset(
        {
            "kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes",
            "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
        }
    ),
}


@dataclass(frozen=True)
class Source:
    job: str  # BUILT_IN: the chart's targets (any job, any namespace)
    namespace: Optional[str]
    metrics: frozenset[str]


def _repository(image: str) -> str:
    return re.sub(r"(@sha256:[0-9a-f]+|:[^/:]+)$", "", image)


def _emitted(image: str, app_images: set[str]) -> frozenset[str]:
    if image in app_images:
        return APP_METRICS
    return EMITTED.get(_repository(image), frozenset())


def sources_of(stack: str) -> tuple[list[Source], list]:
    return sources_in(plan_of(stack).capture.resources)


def sources_in(resources: list) -> tuple[list[Source], list]:
    objects = k8s_objects(resources)
    releases = [r.inputs for r in resources if r.type == "kubernetes:helm.sh/v3:Release"]
    cluster = cluster_of(objects, releases, {})
    app_images = {
        c["image"] for o in objects if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    targets = scrape_targets(objects, cluster)
    sources = []
    for target in targets:
        for pod, port in target.pods:
            sources.append(Source(target.job, pod.namespace, _emitted(pod.images.get(port, ""), app_images) | {"up"}))
    for release in releases:
        if release["chart"] == "kube-prometheus-stack":
            values = release.get("values") or {}
            for key, emitted in BUILT_IN_METRICS.items():
                if (values.get(key) or {}).get("enabled", True):
                    sources.append(Source(BUILT_IN, None, emitted | {"up"}))
    return sources, targets


def _selectors(expr: str) -> list:
    found = []
    promql_parser.walk(
        promql_parser.parse(expr), lambda node: found.append(node) if isinstance(node, promql_parser.VectorSelector) else None
    )
    return found


def _matchers(selector) -> dict[str, tuple[str, str]]:
    return {m.name: (str(m.op).rsplit(".", 1)[-1], m.value) for m in selector.matchers.matchers}


def analysis_selectors(resources: list) -> list[tuple[str, str, dict[str, tuple[str, str]]]]:
    """(rollout/metric, metric, matchers) of every release-analysis query, with the `{{args.*}}`
    of each Rollout that runs the template filled in (what the controller sends to Prometheus)."""
    objects = k8s_objects(resources)
    templates = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects if o["kind"] == "AnalysisTemplate"}
    found = []
    for rollout in (o for o in objects if o["kind"] == "Rollout"):
        strategy = rollout["spec"]["strategy"]
        blocks = [strategy.get("canary", {}).get("analysis")] + [
            strategy.get("blueGreen", {}).get(k) for k in ("prePromotionAnalysis", "postPromotionAnalysis")
        ]
        for block in filter(None, blocks):
            args = {a["name"]: a["value"] for a in block.get("args", [])}
            for ref in block["templates"]:
                template = templates[(rollout["metadata"]["namespace"], ref["templateName"])]
                for metric in template["spec"]["metrics"]:
                    query = re.sub(r"\{\{\s*args\.([\w-]+)\s*\}\}", lambda m: args[m.group(1)], metric["provider"]["prometheus"]["query"])
                    label = f"{rollout['metadata']['name']}/{metric['name']}"
                    found += [(label, s.name, _matchers(s)) for s in _selectors(query)]
    return found


def alert_selectors(stack: str) -> list[tuple[str, str, dict[str, tuple[str, str]]]]:
    """(alert, metric, {label: (op, value)}) for every vector selector of every shipped alert."""
    found = []
    for rule_object in k8s_objects(plan_of(stack).capture.resources):
        if rule_object["kind"] != "PrometheusRule":
            continue
        for group in rule_object["spec"]["groups"]:
            for rule in group["rules"]:
                selectors = []

                def visit(node, selectors=selectors):
                    if isinstance(node, promql_parser.VectorSelector):
                        selectors.append(node)

                promql_parser.walk(promql_parser.parse(rule["expr"]), visit)
                assert selectors, f"{rule['alert']}: reads no metric"
                for s in selectors:
                    matchers = {m.name: (str(m.op).rsplit(".", 1)[-1], m.value) for m in s.matchers.matchers}
                    found.append((rule["alert"], s.name, matchers))
    return found


def _jobs(matcher: Optional[tuple[str, str]]) -> Optional[list[str]]:
    if matcher is None:
        return None
    op, value = matcher
    if op == "Equal":
        return [value]
    if op == "Re" and re.fullmatch(r"[\w-]+(\|[\w-]+)*", value):
        return value.split("|")
    return None  # a pattern we do not expand: any job that matches it will do


def _served(metric: str, matchers: dict, sources: Iterable[Source]) -> list[str]:
    """The jobs a selector needs that no source serves (empty: it is served)."""
    namespace = matchers.get("namespace", (None, None))[1]
    jobs = _jobs(matchers.get(contract.SERVICE_LABEL))
    candidates = [s for s in sources if metric in s.metrics and (s.namespace in (None, namespace) or namespace is None)]
    if jobs is None:
        return [] if candidates else ["<any>"]
    return [j for j in jobs if not any(s.job in (j, BUILT_IN) for s in candidates)]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_alert_reads_metrics_a_scrape_source_of_the_stack_produces(stack):
    sources, _ = sources_of(stack)
    unserved = [
        f"{alert}: {metric}{matchers} (no source for job {missing})"
        for alert, metric, matchers in alert_selectors(stack)
        if (missing := _served(metric, matchers, sources))
    ]
    assert unserved == [], "alerts that can never fire:\n" + "\n".join(unserved)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_monitor_scrapes_a_port_that_exists(stack):
    _, targets = sources_of(stack)
    assert targets, "the stack scrapes nothing"
    empty = [f"{t.monitor} port {t.port_name!r}" for t in targets if not t.pods]
    assert empty == [], "monitors that select no pod serving their port:\n" + "\n".join(empty)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_data_service_in_the_cluster_is_watched(stack):
    """Each in-cluster data service has a scrape target, so DatabaseUnreachable covers it."""
    sources, _ = sources_of(stack)
    data_pods = {
        o["metadata"]["name"] for o in k8s_objects(plan_of(stack).capture.resources) if o["kind"] == "StatefulSet"
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == "data"
    }
    assert data_pods and data_pods <= {s.job for s in sources}
    alerts = {alert for alert, _, _ in alert_selectors(stack)}
    assert "DatabaseUnreachable" in alerts


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_data_service_in_the_cluster_has_a_down_alert(stack):
    """DatabaseUnreachable reads, for each in-cluster data service, a metric its own scrape source
    serves (its exporter's `*_up`, or the scrape's `up` of a service that serves its metrics itself,
    such as RabbitMQ and Qdrant): a data service added without one is never alerted on."""
    sources, _ = sources_of(stack)
    data_jobs = {
        o["metadata"]["name"] for o in k8s_objects(plan_of(stack).capture.resources) if o["kind"] == "StatefulSet"
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == "data"
    }
    covered = set()
    for alert, metric, matchers in alert_selectors(stack):
        if alert != "DatabaseUnreachable":
            continue
        jobs = _jobs(matchers.get(contract.SERVICE_LABEL))
        covered |= {s.job for s in sources if metric in s.metrics and (jobs is None or s.job in jobs)}
    assert data_jobs and data_jobs <= covered, f"no down alert for {sorted(data_jobs - covered)}"


def _analysis_plans() -> tuple[str, ...]:
    from tests.kubernetes.rollout_plans import ROLLOUT_PLANS

    return ROLLOUT_PLANS


@pytest.mark.parametrize("name", _analysis_plans())
def test_every_release_analysis_reads_metrics_a_scrape_source_produces(name):
    """A release analysis on a metric nobody serves never fails: the canary would always pass.
    Its job (`<service>-canary`, `-preview`, the active Service) must be a scrape target too."""
    from tests.kubernetes.rollout_plans import resources_of

    resources = resources_of(name)
    sources, _ = sources_in(resources)
    selectors = analysis_selectors(resources)
    assert selectors, "no release analysis in the plan"
    unserved = [
        f"{where}: {metric}{matchers} (no source for job {missing})"
        for where, metric, matchers in selectors
        if (missing := _served(metric, matchers, sources))
    ]
    assert unserved == [], "analyses that can never fail:\n" + "\n".join(unserved)
