"""The release-health analysis of a Rollout: the seed 002 rollback triggers as Prometheus queries.

One AnalysisTemplate per progressive service, argument `service` = the Kubernetes Service whose
pods are measured (`<name>-canary`: the canary's pods; `<name>-preview`: a blue/green preview;
`<name>`: the active pods after a blue/green switch). The Prometheus Operator names the `job` of a
ServiceMonitor target after the Service, and the app's ServiceMonitor selects these Services too
(they carry the app Service's labels), so `job="<service>"` is exactly the measured pods.

Metrics, thresholds and windows come from `services.<name>.release.rollback` (never hard-coded):
- `error-rate`: 5xx share over the last `errorRateMinutes` (seed 002: > 5 % for 5 min);
- `latency-p95`: p95 over the last `latencyMinutes` (seed 002: > 5 s for 10 min).
Each measures every minute; a measurement fails when the window's value is above the threshold,
and the metric (hence the analysis, hence the release) fails on the `consecutiveHealthFailures`-th
failed measurement (`failureLimit` = that number - 1; seed 002: 3). No traffic is a pass (0), not
an error: a quiet canary is not a broken one. With `rollback.automatic: false` both metrics run
as `dryRun`: their results are recorded for the operator, who promotes or aborts by hand.
"""

from __future__ import annotations

from typing import Any, Optional

from components.config import ServiceConfig
from components.monitoring import metrics as contract

PROMETHEUS_PORT = 9090
MEASUREMENT_INTERVAL = "1m"
SERVICE_ARG = "service"


def prometheus_address(monitoring_namespace: str) -> str:
    """kube-prometheus-stack's Prometheus Service (release `kube-prometheus-stack`)."""
    from components.monitoring.kubernetes import RELEASE_NAME

    return f"http://{RELEASE_NAME}-prometheus.{monitoring_namespace}.svc.cluster.local:{PROMETHEUS_PORT}"


def _selector(namespace: str) -> str:
    return f'{contract.namespace_selector(namespace)},{contract.SERVICE_LABEL}="{{{{args.{SERVICE_ARG}}}}}"'


def error_rate_query(namespace: str, minutes: int) -> str:
    """5xx share (0..1) of the measured pods over `minutes`; 0 without traffic."""
    window = f"{minutes}m"
    selector = _selector(namespace)
    errors = f'{contract.HTTP_REQUESTS_TOTAL}{{{selector},{contract.STATUS_LABEL}=~"{contract.SERVER_ERROR_STATUS}"}}'
    total = f"{contract.HTTP_REQUESTS_TOTAL}{{{selector}}}"
    return f"(sum(rate({errors}[{window}])) or vector(0)) / ((sum(rate({total}[{window}])) > 0) or vector(1))"


def latency_p95_query(namespace: str, minutes: int) -> str:
    """p95 latency (seconds) of the measured pods over `minutes`; 0 without traffic."""
    buckets = f"{contract.HTTP_REQUEST_DURATION_SECONDS}_bucket{{{_selector(namespace)}}}"
    # NaN (series, but no request in the window) and no series at all both read as 0
    return f"(histogram_quantile(0.95, sum by (le) (rate({buckets}[{minutes}m]))) >= 0) or vector(0)"


def analysis_metrics(
    svc: ServiceConfig, namespace: str, monitoring_namespace: str, count: Optional[int] = None
) -> list[dict[str, Any]]:
    """The two trigger metrics (count: measurements of a finite analysis; None: until the release ends)."""
    rollback = svc.release.rollback
    address = prometheus_address(monitoring_namespace)
    checks = (
        ("error-rate", error_rate_query(namespace, rollback.error_rate_minutes), rollback.error_rate_percent / 100),
        ("latency-p95", latency_p95_query(namespace, rollback.latency_minutes), rollback.latency_p95_seconds),
    )
    found = []
    for name, query, limit in checks:
        metric: dict[str, Any] = {
            "name": name,
            "interval": MEASUREMENT_INTERVAL,
            "failureLimit": rollback.consecutive_health_failures - 1,
            "successCondition": f"result[0] <= {limit:g}",
            "provider": {"prometheus": {"address": address, "query": query, "timeout": 30}},
        }
        if count is not None:
            metric["count"] = count
        found.append(metric)
    return found


def analysis_template_spec(
    svc: ServiceConfig, namespace: str, monitoring_namespace: str, count: Optional[int] = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "args": [{"name": SERVICE_ARG}],
        "metrics": analysis_metrics(svc, namespace, monitoring_namespace, count),
    }
    if not svc.release.rollback.automatic:
        spec["dryRun"] = [{"metricName": m["name"]} for m in spec["metrics"]]
    return spec
