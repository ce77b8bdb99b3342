"""Cloud Monitoring for the GCP platforms (`cloudrun`; `gke` reuses it with `cloud_run=False`).

Creates, from `monitoring` in the stack config (seeds 000-002):
- notification channels: one per email, Slack (`slackChannel`, token from the provided secret
  named by `slackTokenSecret`) and PagerDuty (integration key from `pagerdutyKeySecret`); the
  credentials go into `sensitive_labels`, never into plain labels;
- an HTTPS uptime check per public health endpoint (every 60 s, the shortest period Cloud
  Monitoring offers; the seeds' 30 s checks are the Cloud Run liveness probes);
- alert policies with the seeds' thresholds (`monitoring.thresholds`):
  service down (uptime failing > `serviceDownMinutes`), 5xx rate > `errorRatePercent` for
  `errorRateMinutes`, p95 latency > `latencyP95Seconds` for `latencyMinutes`, instance CPU and
  memory > `cpuPercent`/`memoryPercent` for `resourceMinutes` (Cloud Run), Cloud SQL down, CPU,
  disk > `diskPercent` and connections > 80 % of max_connections, Memorystore memory >
  `memoryPercent`, and backup age > `backupMaxAgeHours` (when the DR layer passes a freshness
  query);
- a log-based metric for AI token usage: a distribution of `jsonPayload.total_tokens` from log
  entries with `jsonPayload.event="ai_usage"`, labelled by `model` and `provider` (the app logs
  one such JSON line per AI call);
- a dashboard with the seeds' panels (request rate, p95 latency, 5xx ratio, instances, CPU,
  memory, database, cache, AI tokens);
- billing budgets when `monitoring.budgets.billingAccount` is set: infrastructure per month
  (`monthlyInfrastructure`) and Cloud Storage per month (`monthlyStorage`), alerting at 50, 90 and
  100 % of actual spend and 100 % of forecast. (The seed's daily AI spend is billed by the AI
  provider, not GCP: watch it on the token panel and in the provider's console.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import StackContext

CLOUD_STORAGE_SERVICE = "services/95FF-2EF5-5EA1"  # Cloud Billing service id of Cloud Storage


@dataclass(frozen=True)
class UptimeTarget:
    key: str
    host: str
    path: str


@dataclass(frozen=True)
class CloudMonitoringArgs:
    context: StackContext
    project: pulumi.Input[str]
    uptime_targets: Sequence[UptimeTarget]
    provided_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # for channel credentials
    cloud_run: bool = True  # Cloud Run request/latency/CPU/memory alerts
    cloud_sql_instances: Sequence[str] = ()  # instance names
    redis_instances: Sequence[str] = ()  # Memorystore instance names
    postgres_max_connections: int = 200
    backup_freshness_query: Optional[str] = None  # PromQL returning a series when backups are stale
    log_resource_filter: Optional[str] = None  # which log entries count for the AI token metric
    # Monitoring, Logging (and, with budgets, Billing Budgets and Cloud Resource Manager) APIs
    depends_on: Sequence[pulumi.Resource] = ()


def _doc(text: str) -> gcp.monitoring.AlertPolicyDocumentationArgs:
    return gcp.monitoring.AlertPolicyDocumentationArgs(content=text, mime_type="text/markdown")


class CloudMonitoring(PlatformComponent):
    """Notification channels, uptime checks, alert policies, dashboard, token metric, budgets."""

    TYPE = "aiplatform:monitoring:CloudMonitoring"

    def __init__(self, name: str, args: CloudMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        mon = cfg.monitoring
        th = mon.thresholds
        prefix = self.context.prefix
        labels = self.labels
        self.alert_policies: dict[str, gcp.monitoring.AlertPolicy] = {}

        # --- notification channels --------------------------------------------------------
        notif = mon.notifications

        def channel(
            key: tuple[str, ...],
            type_: str,
            display: str,
            channel_labels: Optional[Mapping[str, str]] = None,
            sensitive: Optional[gcp.monitoring.NotificationChannelSensitiveLabelsArgs] = None,
        ) -> gcp.monitoring.NotificationChannel:
            return gcp.monitoring.NotificationChannel(
                self.child_name(*key),
                gcp.monitoring.NotificationChannelArgs(
                    project=args.project,
                    type=type_,
                    display_name=f"{self.context.stack}: {display}",
                    labels=channel_labels,
                    sensitive_labels=sensitive,
                    user_labels=labels,
                ),
                opts=self.child_opts(depends_on=args.depends_on),
            )

        channels: list[gcp.monitoring.NotificationChannel] = [
            channel(("email", str(index)), "email", email, {"email_address": email})
            for index, email in enumerate(notif.emails)
        ]
        if notif.slack_channel and notif.slack_token_secret:
            channels.append(
                channel(
                    ("slack",),
                    "slack",
                    f"Slack {notif.slack_channel}",
                    {"channel_name": notif.slack_channel},
                    gcp.monitoring.NotificationChannelSensitiveLabelsArgs(
                        auth_token=pulumi.Output.secret(args.provided_secrets[notif.slack_token_secret])
                    ),
                )
            )
        if notif.pagerduty_key_secret:
            channels.append(
                channel(
                    ("pagerduty",),
                    "pagerduty",
                    "PagerDuty",
                    sensitive=gcp.monitoring.NotificationChannelSensitiveLabelsArgs(
                        service_key=pulumi.Output.secret(args.provided_secrets[notif.pagerduty_key_secret])
                    ),
                )
            )
        self.channels = channels
        channel_ids = [c.name for c in channels]

        def policy(key: str, display: str, severity: str, documentation: str, **conditions) -> None:
            self.alert_policies[key] = gcp.monitoring.AlertPolicy(
                self.child_name("alert", key),
                gcp.monitoring.AlertPolicyArgs(
                    project=args.project,
                    display_name=f"[{self.context.stack}] {display}",
                    combiner="OR",
                    severity=severity,
                    notification_channels=channel_ids,
                    documentation=_doc(documentation),
                    user_labels=labels,
                    alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close="1800s"),
                    **conditions,
                ),
                opts=self.child_opts(depends_on=args.depends_on),
            )

        def threshold(display: str, filter_: pulumi.Input[str], value: float, seconds: int, *, aligner: str,
                      reducer: Optional[str] = None, group_by: Sequence[str] = (), comparison: str = "COMPARISON_GT"):
            return gcp.monitoring.AlertPolicyConditionArgs(
                display_name=display,
                condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                    filter=filter_,
                    comparison=comparison,
                    threshold_value=value,
                    duration=f"{seconds}s",
                    aggregations=[
                        gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                            alignment_period="60s",
                            per_series_aligner=aligner,
                            cross_series_reducer=reducer,
                            group_by_fields=list(group_by) or None,
                        )
                    ],
                    trigger=gcp.monitoring.AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
                ),
            )

        def promql(display: str, query: str, seconds: int):
            return gcp.monitoring.AlertPolicyConditionArgs(
                display_name=display,
                condition_prometheus_query_language=gcp.monitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                    query=query, duration=f"{seconds}s", evaluation_interval="60s"
                ),
            )

        # --- uptime checks ----------------------------------------------------------------
        self.uptime_checks: dict[str, gcp.monitoring.UptimeCheckConfig] = {}
        for target in args.uptime_targets:
            self.uptime_checks[target.key] = gcp.monitoring.UptimeCheckConfig(
                self.child_name("uptime", target.key),
                gcp.monitoring.UptimeCheckConfigArgs(
                    project=args.project,
                    display_name=f"{self.context.stack} {target.key} https://{target.host}{target.path}",
                    period="60s",
                    timeout="10s",
                    checker_type="STATIC_IP_CHECKERS",
                    http_check=gcp.monitoring.UptimeCheckConfigHttpCheckArgs(
                        path=target.path,
                        port=443,
                        use_ssl=True,
                        validate_ssl=True,
                        request_method="GET",
                    ),
                    monitored_resource=gcp.monitoring.UptimeCheckConfigMonitoredResourceArgs(
                        type="uptime_url", labels={"host": target.host, "project_id": args.project}
                    ),
                    user_labels=labels,
                ),
                opts=self.child_opts(depends_on=args.depends_on),
            )
        if args.uptime_targets:
            policy(
                "service-down",
                "Service down",
                "CRITICAL",
                f"A public health endpoint has failed its uptime check for more than {th.service_down_minutes} min "
                "(seed 001). Check the Cloud Run revisions and the load balancer.",
                conditions=[
                    threshold(
                        f"{t.key} health check failing",
                        'metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND '
                        f'resource.type="uptime_url" AND resource.label.host="{t.host}"',
                        1,
                        th.service_down_minutes * 60,
                        aligner="ALIGN_NEXT_OLDER",
                        reducer="REDUCE_COUNT_FALSE",
                        group_by=("resource.label.host",),
                    )
                    for t in args.uptime_targets
                ],
            )

        # --- Cloud Run --------------------------------------------------------------------
        if args.cloud_run:
            sel = f'monitored_resource="cloud_run_revision",service_name=~"{prefix}-.*"'
            policy(
                "error-rate",
                "5xx error rate",
                "CRITICAL",
                f"More than {th.error_rate_percent:g} % of requests failed with 5xx for {th.error_rate_minutes} min.",
                conditions=[
                    promql(
                        "5xx ratio per service",
                        f'sum by (service_name) (rate(run_googleapis_com:request_count{{{sel},response_code_class="5xx"}}[{th.error_rate_minutes}m]))'
                        f" / sum by (service_name) (rate(run_googleapis_com:request_count{{{sel}}}[{th.error_rate_minutes}m]))"
                        f" > {th.error_rate_percent / 100:g}",
                        th.error_rate_minutes * 60,
                    )
                ],
            )
            policy(
                "latency",
                "p95 latency",
                "WARNING",
                f"p95 request latency above {th.latency_p95_seconds:g} s for {th.latency_minutes} min (target: p95 < 2 s).",
                conditions=[
                    promql(
                        "p95 latency per service",
                        "histogram_quantile(0.95, sum by (service_name, le) "
                        f"(rate(run_googleapis_com:request_latencies_bucket{{{sel}}}[{th.latency_minutes}m])))"
                        f" > {th.latency_p95_seconds * 1000:g}",
                        th.latency_minutes * 60,
                    )
                ],
            )
            run_filter = f'resource.type="cloud_run_revision" AND resource.label.service_name=starts_with("{prefix}-")'
            # per service, the 99th percentile of its containers' utilization: its busiest instances
            for resource, shown, percent, remedy in (
                ("cpu", "CPU", th.cpu_percent, "raise cpu or maxReplicas"),
                ("memory", "memory", th.memory_percent, "raise memory"),
            ):
                policy(
                    f"instance-{resource}",
                    f"Instance {shown}",
                    "WARNING",
                    f"Container {shown} above {percent:g} % for {th.resource_minutes} min: {remedy}.",
                    conditions=[
                        threshold(
                            f"{shown} utilization p99",
                            f'metric.type="run.googleapis.com/container/{resource}/utilizations" AND {run_filter}',
                            percent / 100,
                            th.resource_minutes * 60,
                            aligner="ALIGN_PERCENTILE_99",
                            reducer="REDUCE_MAX",
                            group_by=("resource.label.service_name",),
                        )
                    ],
                )

        # --- Cloud SQL --------------------------------------------------------------------
        for instance in args.cloud_sql_instances:
            sql = f'resource.type="cloudsql_database" AND resource.label.database_id=ends_with(":{instance}")'
            policy(
                f"{instance}-down",
                f"Cloud SQL {instance} down",
                "CRITICAL",
                "The database is not serving (seed 002: database connectivity).",
                conditions=[
                    threshold("database up", f'metric.type="cloudsql.googleapis.com/database/up" AND {sql}', 1, 60,
                              aligner="ALIGN_MIN", comparison="COMPARISON_LT")
                ],
            )
            policy(
                f"{instance}-resources",
                f"Cloud SQL {instance} CPU, disk, connections",
                "WARNING",
                "Database CPU, disk or connections are near their limits: resize the tier or the disk, "
                "or look for connection leaks.",
                conditions=[
                    threshold("CPU", f'metric.type="cloudsql.googleapis.com/database/cpu/utilization" AND {sql}',
                              th.cpu_percent / 100, th.resource_minutes * 60, aligner="ALIGN_MEAN"),
                    threshold("disk", f'metric.type="cloudsql.googleapis.com/database/disk/utilization" AND {sql}',
                              th.disk_percent / 100, th.resource_minutes * 60, aligner="ALIGN_MEAN"),
                    threshold(
                        "connections",
                        f'metric.type="cloudsql.googleapis.com/database/postgresql/num_backends" AND {sql}',
                        round(args.postgres_max_connections * 0.8),
                        th.resource_minutes * 60,
                        aligner="ALIGN_MEAN",
                        reducer="REDUCE_SUM",
                        group_by=("resource.label.database_id",),
                    ),
                ],
            )

        # --- Memorystore ------------------------------------------------------------------
        for instance in args.redis_instances:
            policy(
                f"{instance}-memory",
                f"Memorystore {instance} memory",
                "WARNING",
                f"Redis memory above {th.memory_percent:g} % of its size: keys will be evicted.",
                conditions=[
                    threshold(
                        "memory usage ratio",
                        'metric.type="redis.googleapis.com/stats/memory/usage_ratio" AND '
                        f'resource.type="redis_instance" AND resource.label.instance_id=ends_with("/instances/{instance}")',
                        th.memory_percent / 100,
                        th.resource_minutes * 60,
                        aligner="ALIGN_MAX",
                    )
                ],
            )

        # --- backups ----------------------------------------------------------------------
        if args.backup_freshness_query:
            policy(
                "backup-age",
                "Backup age",
                "CRITICAL",
                f"No successful backup export in the last {th.backup_max_age_hours} h (seed 002). "
                "Check the backup workflow's executions.",
                conditions=[promql("no recent backup", args.backup_freshness_query, 300)],
            )

        # --- AI token usage ---------------------------------------------------------------
        token_metric_name = f"{prefix}-ai-tokens"
        resource_filter = args.log_resource_filter or (
            f'resource.type="cloud_run_revision" AND resource.labels.service_name:"{prefix}-"'
        )
        self.token_metric = gcp.logging.Metric(
            self.child_name("ai-tokens"),
            gcp.logging.MetricArgs(
                project=args.project,
                name=token_metric_name,
                description="AI tokens per call, from the app's `ai_usage` log lines",
                filter=f'{resource_filter} AND jsonPayload.event="ai_usage"',
                value_extractor="EXTRACT(jsonPayload.total_tokens)",
                label_extractors={"model": "EXTRACT(jsonPayload.model)", "provider": "EXTRACT(jsonPayload.provider)"},
                metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(
                    metric_kind="DELTA",
                    value_type="DISTRIBUTION",
                    unit="1",
                    display_name=f"{self.context.stack} AI tokens",
                    labels=[
                        gcp.logging.MetricMetricDescriptorLabelArgs(key="model", value_type="STRING"),
                        gcp.logging.MetricMetricDescriptorLabelArgs(key="provider", value_type="STRING"),
                    ],
                ),
                bucket_options=gcp.logging.MetricBucketOptionsArgs(
                    exponential_buckets=gcp.logging.MetricBucketOptionsExponentialBucketsArgs(
                        num_finite_buckets=32, growth_factor=2, scale=1
                    )
                ),
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )
        token_series = "logging_googleapis_com:user_" + re.sub(r"[^A-Za-z0-9_]", "_", token_metric_name)

        # --- dashboard --------------------------------------------------------------------
        self.dashboard = gcp.monitoring.Dashboard(
            self.child_name("dashboard"),
            gcp.monitoring.DashboardArgs(
                project=args.project,
                dashboard_json=json.dumps(
                    self._dashboard(prefix, args, token_series), sort_keys=True
                ),
            ),
            opts=self.child_opts(depends_on=args.depends_on),
        )

        # --- budgets ----------------------------------------------------------------------
        self.budgets: list[gcp.billing.Budget] = []
        budgets = mon.budgets
        if budgets.billing_account:
            # The budget filter needs the project number. getProject calls Cloud Resource Manager:
            # gated on `depends_on` (which then holds that API), it runs only once it is enabled.
            number = gcp.organizations.get_project_output(
                project_id=args.project, opts=pulumi.InvokeOutputOptions(depends_on=list(args.depends_on))
            ).number
            for key, amount, services in (
                ("infrastructure", budgets.monthly_infrastructure, None),
                ("storage", budgets.monthly_storage, [CLOUD_STORAGE_SERVICE]),
            ):
                self.budgets.append(
                    gcp.billing.Budget(
                        self.child_name("budget", key),
                        gcp.billing.BudgetArgs(
                            billing_account=budgets.billing_account,
                            display_name=f"{prefix} {key} monthly",
                            amount=gcp.billing.BudgetAmountArgs(
                                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(units=str(int(amount)))
                            ),
                            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                                projects=[number.apply(lambda n: f"projects/{n}")],
                                services=services,
                                calendar_period="MONTH",
                            ),
                            threshold_rules=[
                                gcp.billing.BudgetThresholdRuleArgs(threshold_percent=0.5),
                                gcp.billing.BudgetThresholdRuleArgs(threshold_percent=0.9),
                                gcp.billing.BudgetThresholdRuleArgs(threshold_percent=1.0),
                                gcp.billing.BudgetThresholdRuleArgs(threshold_percent=1.0, spend_basis="FORECASTED_SPEND"),
                            ],
                            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                                monitoring_notification_channels=channel_ids[:5],
                                disable_default_iam_recipients=False,
                            ),
                        ),
                        opts=self.child_opts(depends_on=args.depends_on),
                    )
                )
        self.register_outputs(
            {
                "alertPolicies": sorted(self.alert_policies),
                "uptimeChecks": sorted(self.uptime_checks),
                "tokenMetric": token_metric_name,
            }
        )

    def _dashboard(self, prefix: str, args: CloudMonitoringArgs, token_series: str) -> dict:
        """Mosaic dashboard of PromQL charts (the seeds' panels)."""
        sel = f'monitored_resource="cloud_run_revision",service_name=~"{prefix}-.*"'
        charts: list[tuple[str, str]] = []
        if args.cloud_run:
            charts += [
                ("Requests per second", f"sum by (service_name) (rate(run_googleapis_com:request_count{{{sel}}}[5m]))"),
                (
                    "p95 latency (ms)",
                    "histogram_quantile(0.95, sum by (service_name, le) "
                    f"(rate(run_googleapis_com:request_latencies_bucket{{{sel}}}[5m])))",
                ),
                (
                    "5xx ratio",
                    f'sum by (service_name) (rate(run_googleapis_com:request_count{{{sel},response_code_class="5xx"}}[5m]))'
                    f" / sum by (service_name) (rate(run_googleapis_com:request_count{{{sel}}}[5m]))",
                ),
                ("Instances", f"sum by (service_name) (run_googleapis_com:container_instance_count{{{sel}}})"),
                (
                    "CPU utilization p95",
                    "histogram_quantile(0.95, sum by (service_name, le) "
                    f"(rate(run_googleapis_com:container_cpu_utilizations_bucket{{{sel}}}[5m])))",
                ),
                (
                    "Memory utilization p95",
                    "histogram_quantile(0.95, sum by (service_name, le) "
                    f"(rate(run_googleapis_com:container_memory_utilizations_bucket{{{sel}}}[5m])))",
                ),
            ]
        for instance in args.cloud_sql_instances:
            charts.append(
                (f"Cloud SQL {instance} CPU",
                 f'avg(cloudsql_googleapis_com:database_cpu_utilization{{database_id=~".*:{instance}"}})')
            )
        for instance in args.redis_instances:
            charts.append(
                (f"Memorystore {instance} memory",
                 f'max(redis_googleapis_com:stats_memory_usage_ratio{{instance_id=~".*/{instance}"}})')
            )
        charts.append(("AI tokens per minute", f"sum by (model) (rate({token_series}_sum[5m])) * 60"))
        tiles = []
        for index, (title, query) in enumerate(charts):
            tiles.append(
                {
                    "xPos": (index % 2) * 24,
                    "yPos": (index // 2) * 16,
                    "width": 24,
                    "height": 16,
                    "widget": {
                        "title": title,
                        "xyChart": {
                            "dataSets": [{"plotType": "LINE", "timeSeriesQuery": {"prometheusQuery": query}}],
                        },
                    },
                }
            )
        return {"displayName": f"{self.context.project} {self.context.stack}", "mosaicLayout": {"columns": 48, "tiles": tiles}}
