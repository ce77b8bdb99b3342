"""The application's metric contract and every PromQL expression built on it, in one place.

The services expose Prometheus metrics at `/metrics` on their `http` port (seeds 000, 003, 004).
The seeds disagree on a few names (`ai_assistant_tokens_total` vs `openai_tokens_used_total`);
this module is where the project settles them, so the Kubernetes rules and dashboards, and the
GCP/AWS dashboards (Managed Service for Prometheus speaks PromQL too) all read the same series:

| metric                              | type      | labels                     | seed     |
|-------------------------------------|-----------|----------------------------|----------|
| `http_requests_total`               | counter   | method, path, status       | 001, 004 |
| `http_request_duration_seconds`     | histogram | method, path               | 001, 003 |
| `ai_assistant_tokens_total`         | counter   | model, type (prompt/...)   | 000      |
| `ai_requests_total`                 | counter   | provider, model, status    | 003      |

A service is identified by the Prometheus `job` label, which the Prometheus Operator sets to the
Kubernetes Service name of a ServiceMonitor target (frontend, api, mcp). Every expression takes a
label `selector` (PromQL matcher list without braces, e.g. `namespace="ai-assistant"`) so callers
scope it to their namespace or project.

Platform signals (CPU, memory, volumes, CronJobs, StatefulSets) come from cAdvisor, the kubelet
and kube-state-metrics, which kube-prometheus-stack scrapes out of the box. The data services'
signals come from their exporters (components/data/kubernetes_exporters.py), whose `job` is the
data service's name: `pg_up`, `redis_up`, `mongodb_up` (0: the exporter cannot reach its
database), and RabbitMQ's own plugin, which has no `*_up` gauge: Prometheus' `up` of its scrape,
and `rabbitmq_identity_info` (one series per node, labelled with the node's cluster name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from components.config import ThresholdsConfig

# --- the application metric contract ----------------------------------------------------------

HTTP_REQUESTS_TOTAL = "http_requests_total"
HTTP_REQUEST_DURATION_SECONDS = "http_request_duration_seconds"
AI_TOKENS_TOTAL = "ai_assistant_tokens_total"
AI_REQUESTS_TOTAL = "ai_requests_total"

SERVICE_LABEL = "job"  # Prometheus Operator: job = the scraped Service's name
STATUS_LABEL = "status"
SERVER_ERROR_STATUS = "5.."
METRICS_PATH = "/metrics"
METRICS_PORT_NAME = "http"

# Backup CronJobs are named `backup-<data service>` (components/dr/kubernetes.py), so the backup-age
# alert finds them without knowing which data services a stack runs.
BACKUP_JOB_PREFIX = "backup-"

# Exporter `up`-style gauges of the data services (postgres_exporter, mongodb_exporter,
# redis_exporter): 0 means the exporter cannot reach its database.
DATABASE_UP_METRICS = ("pg_up", "mongodb_up", "redis_up")
RABBITMQ_JOB = "rabbitmq"
VECTORDB_JOB = "vectordb"  # Qdrant serves its own /metrics (components/data/qdrant.py)
# data services that serve their metrics themselves, with no `*_up` gauge: the scrape's `up` tells
SELF_SCRAPED_JOBS = (RABBITMQ_JOB, VECTORDB_JOB)
RABBITMQ_IDENTITY_INFO = "rabbitmq_identity_info"

RATE_WINDOW = "5m"


def _sel(*matchers: Optional[str]) -> str:
    """`{a="1",b=~"x"}` from matchers; empty when there are none."""
    joined = ",".join(m for m in matchers if m)
    return "{" + joined + "}" if joined else ""


def namespace_selector(namespace: str) -> str:
    return f'namespace="{namespace}"'


def services_selector(services: Iterable[str]) -> str:
    names = sorted(services)
    return f'{SERVICE_LABEL}=~"{"|".join(names)}"' if names else ""


# --- golden signals (dashboards and alerts share these) ---------------------------------------


def request_rate(selector: str = "", by: str = SERVICE_LABEL) -> str:
    """Requests per second, per service."""
    return f"sum by ({by}) (rate({HTTP_REQUESTS_TOTAL}{_sel(selector)}[{RATE_WINDOW}]))"


def error_ratio(selector: str = "", by: str = SERVICE_LABEL) -> str:
    """Share (0..1) of responses with a 5xx status, per service."""
    errors = _sel(selector, f'{STATUS_LABEL}=~"{SERVER_ERROR_STATUS}"')
    return (
        f"sum by ({by}) (rate({HTTP_REQUESTS_TOTAL}{errors}[{RATE_WINDOW}]))"
        f" / sum by ({by}) (rate({HTTP_REQUESTS_TOTAL}{_sel(selector)}[{RATE_WINDOW}]))"
    )


def latency_quantile(quantile: float = 0.95, selector: str = "", by: str = SERVICE_LABEL) -> str:
    """Request latency quantile in seconds, per service, from the histogram buckets."""
    buckets = f"{HTTP_REQUEST_DURATION_SECONDS}_bucket{_sel(selector)}"
    return f"histogram_quantile({quantile}, sum by ({by}, le) (rate({buckets}[{RATE_WINDOW}])))"


def token_rate(selector: str = "", by: str = "model, type") -> str:
    """AI tokens per second, per model and token type (seed 000 `ai_assistant_tokens_total`)."""
    return f"sum by ({by}) (rate({AI_TOKENS_TOTAL}{_sel(selector)}[{RATE_WINDOW}]))"


def provider_requests(selector: str = "", window: str = "$__range") -> str:
    """AI provider calls per provider over the dashboard range (seed 003 `ai_requests_total`)."""
    return f"sum by (provider) (increase({AI_REQUESTS_TOTAL}{_sel(selector)}[{window}]))"


def availability_ratio(selector: str = "", window: str = "$__range") -> str:
    """Share of non-5xx responses over a window: the 99.9 % availability target (seed 002)."""
    errors = _sel(selector, f'{STATUS_LABEL}=~"{SERVER_ERROR_STATUS}"')
    return (
        f"1 - (sum(increase({HTTP_REQUESTS_TOTAL}{errors}[{window}]))"
        f" / sum(increase({HTTP_REQUESTS_TOTAL}{_sel(selector)}[{window}])))"
    )


# --- alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRule:
    """One Prometheus alerting rule, platform-neutral (rendered into a PrometheusRule on Kubernetes)."""

    name: str
    expr: str
    for_minutes: int
    severity: str  # critical (page) | warning (24 h response), seed 001
    summary: str
    description: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def as_prometheus_rule(self) -> dict[str, object]:
        """The rule in Prometheus' rule-file shape (`alert`, `expr`, `for`, labels, annotations)."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": f"{self.for_minutes}m",
            "labels": {"severity": self.severity, **self.labels},
            "annotations": {"summary": self.summary, "description": self.description},
        }


def _pct(value: float) -> str:
    return f"{value:g}"


def _ratio(percent: float) -> str:
    return f"{percent / 100:g}"


def alert_rules(
    namespace: str,
    web_services: Iterable[str],
    thresholds: ThresholdsConfig,
    exporters: Mapping[str, Iterable[str]] = {},
) -> dict[str, list[AlertRule]]:
    """The seeds' alerts (001, 002) for the app in `namespace`, grouped by concern.

    - service down > 1 min (no scrape target up), per web service
    - 5xx rate > 5 % for 2 min; p95 latency > 2 s for 5 min
    - CPU / memory > 80 % of the container limit for 5 min
    - persistent volume usage > 85 %
    - database connectivity: exporter `*_up == 0` (or RabbitMQ's scrape `up == 0`), or a data
      StatefulSet with unready replicas; RabbitMQ nodes that formed more than one cluster
    - backup age: a backup CronJob whose last success is older than `backupMaxAgeHours`
      (or that never succeeded that long after it was created), and failed backup Jobs
    All numbers come from `thresholds` (monitoring.thresholds in the stack file). `exporters`
    maps the job of each data-service scrape target in the stack to the metrics it serves: the
    data alerts read only those, so every rule has a source.
    """
    t = thresholds
    ns = namespace_selector(namespace)
    services = sorted(web_services)
    svc = services_selector(services)
    max_age_seconds = t.backup_max_age_hours * 3600
    backups = f'cronjob=~"{BACKUP_JOB_PREFIX}.+"'

    availability = [
        AlertRule(
            name="ServiceDown",
            expr=f"(sum(up{_sel(ns, _eq(SERVICE_LABEL, name))}) or on() vector(0)) == 0",
            for_minutes=t.service_down_minutes,
            severity="critical",
            labels={"service": name},
            summary=f"{name} is down",
            description=(
                f"No {name} pod in namespace {namespace} has answered a Prometheus scrape for more "
                f"than {t.service_down_minutes} minute(s)."
            ),
        )
        for name in services
    ]
    availability += [
        AlertRule(
            name="HighErrorRate",
            expr=f"{error_ratio(_join(ns, svc))} > {_ratio(t.error_rate_percent)}",
            for_minutes=t.error_rate_minutes,
            severity="critical",
            summary="{{ $labels.job }}: more than " + _pct(t.error_rate_percent) + " % of requests fail with 5xx",
            description=(
                "{{ $labels.job }} answers {{ $value | humanizePercentage }} of its requests with a 5xx "
                f"status (threshold {_pct(t.error_rate_percent)} % for {t.error_rate_minutes} min)."
            ),
        ),
        AlertRule(
            name="HighLatencyP95",
            expr=f"{latency_quantile(0.95, _join(ns, svc))} > {t.latency_p95_seconds:g}",
            for_minutes=t.latency_minutes,
            severity="warning",
            summary="{{ $labels.job }}: p95 latency above " + f"{t.latency_p95_seconds:g} s",
            description=(
                "The 95th percentile request latency of {{ $labels.job }} is {{ $value | humanizeDuration }} "
                f"(threshold {t.latency_p95_seconds:g} s for {t.latency_minutes} min)."
            ),
        ),
    ]

    container = _join(ns, 'container!=""', 'container!="POD"')
    cpu, memory = _eq("resource", "cpu"), _eq("resource", "memory")
    resources = [
        AlertRule(
            name="HighCpuUsage",
            expr=(
                f"sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{_sel(container)}[{RATE_WINDOW}]))"
                f" / sum by (namespace, pod, container) (kube_pod_container_resource_limits{_sel(ns, cpu)})"
                f" > {_ratio(t.cpu_percent)}"
            ),
            for_minutes=t.resource_minutes,
            severity="warning",
            summary="{{ $labels.pod }}/{{ $labels.container }}: CPU above " + _pct(t.cpu_percent) + " % of its limit",
            description=(
                "{{ $labels.container }} in {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its CPU "
                f"limit (threshold {_pct(t.cpu_percent)} % for {t.resource_minutes} min)."
            ),
        ),
        AlertRule(
            name="HighMemoryUsage",
            expr=(
                f"sum by (namespace, pod, container) (container_memory_working_set_bytes{_sel(container)})"
                f" / sum by (namespace, pod, container) (kube_pod_container_resource_limits{_sel(ns, memory)})"
                f" > {_ratio(t.memory_percent)}"
            ),
            for_minutes=t.resource_minutes,
            severity="warning",
            summary="{{ $labels.pod }}/{{ $labels.container }}: memory above " + _pct(t.memory_percent) + " % of its limit",
            description=(
                "{{ $labels.container }} in {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its "
                f"memory limit (threshold {_pct(t.memory_percent)} % for {t.resource_minutes} min)."
            ),
        ),
        AlertRule(
            name="VolumeAlmostFull",
            expr=(
                f"max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{_sel(ns)}"
                f" / kubelet_volume_stats_capacity_bytes{_sel(ns)}) > {_ratio(t.disk_percent)}"
            ),
            for_minutes=t.resource_minutes,
            severity="warning",
            summary="PVC {{ $labels.persistentvolumeclaim }} is more than " + _pct(t.disk_percent) + " % full",
            description=(
                "Volume {{ $labels.persistentvolumeclaim }} in {{ $labels.namespace }} is "
                f"{{{{ $value | humanizePercentage }}}} full (threshold {_pct(t.disk_percent)} %)."
            ),
        ),
    ]

    data = _data_service_alerts(ns, exporters, t) + [
        AlertRule(
            name="DataServiceUnavailable",
            expr=(
                f"kube_statefulset_status_replicas_ready{_sel(ns)}"
                f" < kube_statefulset_replicas{_sel(ns)}"
            ),
            for_minutes=t.service_down_minutes,
            severity="critical",
            summary="StatefulSet {{ $labels.statefulset }} has unready replicas",
            description=(
                "{{ $labels.statefulset }} in {{ $labels.namespace }} has fewer ready replicas than desired: "
                "clients may not be able to connect."
            ),
        ),
    ]

    backup = [
        AlertRule(
            name="BackupTooOld",
            expr=(
                f"time() - max by (namespace, cronjob) "
                f"(kube_cronjob_status_last_successful_time{_sel(ns, backups)}) > {max_age_seconds}"
            ),
            for_minutes=5,
            severity="critical",
            summary="Backup {{ $labels.cronjob }} has not succeeded for " + f"{t.backup_max_age_hours} h",
            description=(
                "The last successful run of {{ $labels.cronjob }} is {{ $value | humanizeDuration }} ago "
                f"(threshold {t.backup_max_age_hours} h; daily backups, RPO seed 000)."
            ),
        ),
        AlertRule(
            name="BackupNeverSucceeded",
            expr=(
                f"(time() - max by (namespace, cronjob) (kube_cronjob_created{_sel(ns, backups)})) > {max_age_seconds}"
                f" unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{_sel(ns, backups)}"
            ),
            for_minutes=5,
            severity="critical",
            summary="Backup {{ $labels.cronjob }} has never succeeded",
            description=f"{{{{ $labels.cronjob }}}} exists for more than {t.backup_max_age_hours} h without one successful run.",
        ),
        AlertRule(
            # per CronJob, not per Job: a failed Job stays in the CronJob's history (3 kept) after a
            # later run succeeds, so `kube_job_failed` would keep firing for a healed backup
            name="BackupJobFailed",
            expr=last_run_failed_expr(_sel(ns, backups)),
            for_minutes=15,
            severity="warning",
            summary="Backup {{ $labels.cronjob }} failed",
            description="The last run of {{ $labels.cronjob }} failed; see `kubectl logs` of its newest Job "
            "(`kubectl get jobs -l` ... or `kubectl get jobs --sort-by=.metadata.creationTimestamp`).",
        ),
    ]

    return {"availability": availability, "resources": resources, "data-services": data, "backups": backup}


def last_run_failed_expr(selector: str) -> str:
    """PromQL: the CronJobs matched by `selector` (`{...}`) whose last scheduled run has not
    succeeded (or that never succeeded once scheduled) and that run nothing now (kube-state-metrics)."""
    by = "max by (namespace, cronjob)"
    scheduled = f"{by} (kube_cronjob_status_last_schedule_time{selector})"
    succeeded = f"{by} (kube_cronjob_status_last_successful_time{selector})"
    idle = f"{by} (kube_cronjob_status_active{selector}) == 0"
    return (
        f"(({scheduled} > {succeeded}) or ({scheduled} unless on (namespace, cronjob) {succeeded}))"
        f" and on (namespace, cronjob) ({idle})"
    )


def _data_service_alerts(ns: str, exporters: Mapping[str, Iterable[str]], t: ThresholdsConfig) -> list[AlertRule]:
    served = {metric for metrics in exporters.values() for metric in metrics}
    down = [f"({metric}{_sel(ns)} == 0)" for metric in DATABASE_UP_METRICS if metric in served]
    down += [f"(up{_sel(ns, _eq(SERVICE_LABEL, job))} == 0)" for job in SELF_SCRAPED_JOBS if job in exporters]
    rules = []
    if down:
        rules.append(
            AlertRule(
                name="DatabaseUnreachable",
                expr=" or ".join(down),
                for_minutes=t.service_down_minutes,
                severity="critical",
                summary="{{ $labels.job }} cannot connect to its database",
                description=(
                    "The exporter of {{ $labels.job }} reports that its database does not accept connections "
                    "(RabbitMQ: its metrics endpoint does not answer)."
                ),
            )
        )
    if RABBITMQ_IDENTITY_INFO in served:
        rules.append(
            AlertRule(
                name="RabbitMqClusterSplit",
                expr=f"count(count by (rabbitmq_cluster) ({RABBITMQ_IDENTITY_INFO}{_sel(ns)})) > 1",
                for_minutes=5,
                severity="critical",
                summary="RabbitMQ nodes formed more than one cluster",
                description=(
                    "The RabbitMQ nodes report {{ $value }} different cluster names: they run as separate "
                    "brokers behind one Service and messages are stranded. Reset the stray nodes "
                    "(docs/deploy-gke.md, 'RabbitMQ nodes that formed separate clusters')."
                ),
            )
        )
    return rules


def _join(*matchers: str) -> str:
    return ",".join(m for m in matchers if m)


def _eq(label: str, value: str) -> str:
    return f'{label}="{value}"'
