"""AWS monitoring (`ecs`): SNS alerts, CloudWatch alarms and dashboard, Route 53 health checks, Budgets.

Thresholds come from `monitoring.thresholds` (seeds 001/002), every alarm notifies the `alerts` SNS
topic (KMS-encrypted with the `logs` key; email subscriptions from `monitoring.notifications.emails`
-- each address must confirm once) on ALARM and on OK:

| alarm | metric | condition |
|---|---|---|
| `<svc>-down` (routed) | ALB HealthyHostCount | < 1 for `serviceDownMinutes` (1) |
| `<svc>-down` (worker, internal) | Container Insights RunningTaskCount | < 1 for `serviceDownMinutes` |
| `<svc>-5xx-rate` | 100 * target 5xx / requests | > `errorRatePercent` (5) for `errorRateMinutes` (2) |
| `<svc>-latency-p95` | ALB TargetResponseTime p95 | > `latencyP95Seconds` (2) for `latencyMinutes` (5) |
| `<svc>-cpu` / `-memory` | ECS service CPU / memory | > `cpuPercent` / `memoryPercent` (80) for `resourceMinutes` (5) |
| `postgres-cpu`, `-storage`, `-connections` | RDS | CPU > 80 %; free storage < 15 % (disk > `diskPercent` 85); connections > 80 % of max_connections |
| `redis-<n>-memory` / `-cpu` | ElastiCache per node | memory usage > 80 %, engine CPU > 80 % |
| `mongodb-cpu` | DocumentDB cluster | > 80 % |
| `rabbitmq-memory` | Amazon MQ | memory used / high watermark > 80 %: per node on a cluster (Metrics Insights: used grouped by Node over the nodes' limit, the highest node's percentage) -- the Broker-level values are sums over the nodes there, whose ratio hides one full node; the Broker dimension on a single instance |
| `rabbitmq-cpu` | Amazon MQ | system CPU > 80 %: per node (Broker + Node dimensions, a Metrics Insights query grouped by Node, one contributor per node, since node names come from their IPs) on a cluster -- the Broker-level value is the sum over the nodes there; the Broker dimension on a single instance |
| `ai-spend-daily` | `AIAssistant` AiSpendUsd (the app's, see below) | sum over the last 24 h > `monitoring.budgets.dailyAiSpend` (100) |
| `<svc>-edge-5xx` | CloudFront 5xxErrorRate | > `errorRatePercent` for `errorRateMinutes` |
| `<svc>-health-check` | Route 53 HealthCheckStatus | < 1 for `serviceDownMinutes` |

The backup-age alarm lives with the backup vault (components/dr/aws.py).

Route 53 health checks probe each public host over HTTPS (SNI) on its health path through
CloudFront, from several Route 53 regions, every `dr.healthCheckIntervalSeconds` and fail after
`dr.failureThreshold` failures. Route 53 offers only 10 s and 30 s intervals: 30 s (the seed value)
is used for any configured interval of 30 s or more, 10 s below that. Route 53 and CloudFront
metrics exist only in us-east-1, so their alarms are created there (us-east-1 provider) and notify a
topic in us-east-1 (the same topic when the primary region is us-east-1).

The dashboard shows the seeds' panels: requests, 5xx rate, p95 latency, ECS CPU/memory, RDS,
Redis, RabbitMQ, health checks, AI spend and tokens. The budgets and the AI spend metric contract
are in aws_costs.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.config import StackContext
from components.monitoring.aws_costs import AI_NAMESPACE, AI_SPEND_METRIC, AI_TOKENS_METRIC, budgets
from components.naming import bounded

# RDS PostgreSQL max_connections = LEAST(DBInstanceClassMemory / 9531392, 5000)
RDS_MEMORY_GIB = {
    "db.t4g.micro": 1, "db.t4g.small": 2, "db.t4g.medium": 4, "db.t4g.large": 8, "db.t4g.xlarge": 16,
    "db.m6g.large": 8, "db.m6g.xlarge": 16, "db.m6g.2xlarge": 32, "db.m7g.large": 8, "db.m7g.xlarge": 16,
    "db.r6g.large": 16, "db.r6g.xlarge": 32, "db.r6g.2xlarge": 64, "db.r7g.large": 16, "db.r7g.xlarge": 32,
}


def rds_max_connections(instance_class: str) -> int:
    gib = RDS_MEMORY_GIB.get(instance_class, 8)
    return min(int(gib * 1024**3 / 9531392), 5000)


DAY_SECONDS = 86400


def route53_interval(seconds: int) -> int:
    """Route 53 health checks run every 10 or 30 s."""
    return 30 if seconds >= 30 else 10


@dataclass(frozen=True)
class AwsMonitoringArgs:
    context: StackContext
    account_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    global_provider: pulumi.ProviderResource  # us-east-1
    global_kms_key_arn: pulumi.Input[str]
    cluster_name: str
    service_names: Mapping[str, str]
    alb_arn_suffix: Optional[pulumi.Input[str]] = None
    target_group_arn_suffixes: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    distribution_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    hosts: Mapping[str, str] = field(default_factory=dict)  # routed service -> public host
    postgres: Optional[Mapping[str, Any]] = None  # identifier, instance_class, allocated_storage_gi
    redis_member_ids: Sequence[str] = ()
    docdb_cluster_id: Optional[str] = None
    mq_broker_name: Optional[str] = None


class AwsMonitoring(PlatformComponent):
    """Alarms, dashboard, SNS, health checks, budgets. Exposes `topic_arn`, `health_check_ids`."""

    TYPE = "aiplatform:monitoring:AwsMonitoring"

    def __init__(self, name: str, args: AwsMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        self.args = args
        self.thresholds = cfg.monitoring.thresholds
        self.topic = self._topic("alerts", args.kms_key_arn, None)
        if cfg.regions.primary == "us-east-1":
            self.global_topic = self.topic
        else:
            self.global_topic = self._topic("alerts-global", args.global_kms_key_arn, args.global_provider)
        self.topic_arn = self.topic.arn
        self.alarm_names: list[str] = []

        self._service_alarms()
        self._data_alarms()
        self._ai_spend_alarm()
        self.health_check_ids = self._health_checks()
        self._edge_alarms()
        self._dashboard()
        budgets(self, self.topic.arn)
        self.register_outputs({"topicArn": self.topic.arn, "alarms": sorted(self.alarm_names)})

    # --- notifications ------------------------------------------------------------------------------

    def _topic(self, key: str, kms_key_arn, provider) -> aws.sns.Topic:
        extra = {"provider": provider} if provider is not None else {}
        topic = aws.sns.Topic(
            self.child_name(key),
            aws.sns.TopicArgs(
                name=f"{self.context.prefix}-{key}", kms_master_key_id=kms_key_arn, tags=self.labels
            ),
            opts=self.child_opts(**extra),
        )
        aws.sns.TopicPolicy(
            self.child_name(key, "policy"),
            aws.sns.TopicPolicyArgs(
                arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, self.args.account_id).apply(
                    lambda a: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "AlarmsAndBudgetsPublish",
                                    "Effect": "Allow",
                                    "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "events.amazonaws.com"]},
                                    "Action": "sns:Publish",
                                    "Resource": a[0],
                                    "Condition": {"StringEquals": {"aws:SourceAccount": a[1]}},
                                },
                                {
                                    "Sid": "DenyInsecureTransport",
                                    "Effect": "Deny",
                                    "Principal": "*",
                                    "Action": "sns:Publish",
                                    "Resource": a[0],
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                },
                            ],
                        }
                    )
                ),
            ),
            opts=self.child_opts(**extra),
        )
        for i, email in enumerate(self.config.monitoring.notifications.emails):
            aws.sns.TopicSubscription(
                self.child_name(key, "email", str(i)),
                aws.sns.TopicSubscriptionArgs(topic=topic.arn, protocol="email", endpoint=email),
                opts=self.child_opts(**extra),
            )
        return topic

    def _alarm(self, key: str, description: str, *, global_region: bool = False, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        topic = self.global_topic if global_region else self.topic
        extra = {"provider": self.args.global_provider} if global_region else {}
        kwargs.setdefault("treat_missing_data", "notBreaching")
        name = f"{self.context.prefix}-{key}"
        self.alarm_names.append(name)
        return aws.cloudwatch.MetricAlarm(
            self.child_name("alarm", key),
            aws.cloudwatch.MetricAlarmArgs(
                name=name,
                alarm_description=description,
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                tags=self.labels,
                **kwargs,
            ),
            opts=self.child_opts(**extra),
        )

    def _for_minutes(self, minutes: int) -> dict:
        return {"period": 60, "evaluation_periods": minutes, "datapoints_to_alarm": minutes}

    # --- alarms -----------------------------------------------------------------------------------

    def _service_alarms(self) -> None:
        t = self.thresholds
        args = self.args
        for svc, ecs_name in args.service_names.items():
            ecs_dims = {"ClusterName": args.cluster_name, "ServiceName": ecs_name}
            tg = args.target_group_arn_suffixes.get(svc)
            if tg is not None and args.alb_arn_suffix is not None:
                lb_dims = {"TargetGroup": tg, "LoadBalancer": args.alb_arn_suffix}
                self._alarm(
                    f"{svc}-down", f"{svc}: no healthy target for {t.service_down_minutes} min",
                    namespace="AWS/ApplicationELB", metric_name="HealthyHostCount", dimensions=lb_dims,
                    statistic="Minimum", comparison_operator="LessThanThreshold", threshold=1,
                    treat_missing_data="breaching", **self._for_minutes(t.service_down_minutes),
                )
                self._alarm(
                    f"{svc}-5xx-rate", f"{svc}: 5xx > {t.error_rate_percent}% of requests for {t.error_rate_minutes} min",
                    comparison_operator="GreaterThanThreshold", threshold=t.error_rate_percent,
                    evaluation_periods=t.error_rate_minutes, datapoints_to_alarm=t.error_rate_minutes,
                    metric_queries=[
                        aws.cloudwatch.MetricAlarmMetricQueryArgs(
                            id="rate", expression="IF(requests > 0, 100 * errors / requests, 0)",
                            label="5xx %", return_data=True,
                        ),
                        aws.cloudwatch.MetricAlarmMetricQueryArgs(
                            id="errors",
                            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                                namespace="AWS/ApplicationELB", metric_name="HTTPCode_Target_5XX_Count",
                                dimensions=lb_dims, stat="Sum", period=60,
                            ),
                        ),
                        aws.cloudwatch.MetricAlarmMetricQueryArgs(
                            id="requests",
                            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                                namespace="AWS/ApplicationELB", metric_name="RequestCount",
                                dimensions=lb_dims, stat="Sum", period=60,
                            ),
                        ),
                    ],
                )
                self._alarm(
                    f"{svc}-latency-p95", f"{svc}: p95 > {t.latency_p95_seconds}s for {t.latency_minutes} min",
                    namespace="AWS/ApplicationELB", metric_name="TargetResponseTime", dimensions=lb_dims,
                    extended_statistic="p95", comparison_operator="GreaterThanThreshold",
                    threshold=t.latency_p95_seconds, **self._for_minutes(t.latency_minutes),
                )
            else:
                self._alarm(
                    f"{svc}-down", f"{svc}: no running task for {t.service_down_minutes} min",
                    namespace="ECS/ContainerInsights", metric_name="RunningTaskCount", dimensions=ecs_dims,
                    statistic="Minimum", comparison_operator="LessThanThreshold", threshold=1,
                    treat_missing_data="breaching", **self._for_minutes(t.service_down_minutes),
                )
            for metric, threshold, label in (
                ("CPUUtilization", t.cpu_percent, "cpu"),
                ("MemoryUtilization", t.memory_percent, "memory"),
            ):
                self._alarm(
                    f"{svc}-{label}", f"{svc}: {label} > {threshold}% for {t.resource_minutes} min",
                    namespace="AWS/ECS", metric_name=metric, dimensions=ecs_dims, statistic="Average",
                    comparison_operator="GreaterThanThreshold", threshold=threshold,
                    **self._for_minutes(t.resource_minutes),
                )

    def _data_alarms(self) -> None:
        t = self.thresholds
        args = self.args
        five = self._for_minutes(t.resource_minutes)
        if args.postgres:
            dims = {"DBInstanceIdentifier": args.postgres["identifier"]}
            self._alarm("postgres-cpu", f"PostgreSQL CPU > {t.cpu_percent}%", namespace="AWS/RDS",
                        metric_name="CPUUtilization", dimensions=dims, statistic="Average",
                        comparison_operator="GreaterThanThreshold", threshold=t.cpu_percent, **five)
            free_bytes = args.postgres["allocated_storage_gi"] * 1024**3 * (100 - t.disk_percent) / 100
            self._alarm("postgres-storage", f"PostgreSQL disk > {t.disk_percent}% used", namespace="AWS/RDS",
                        metric_name="FreeStorageSpace", dimensions=dims, statistic="Minimum",
                        comparison_operator="LessThanThreshold", threshold=round(free_bytes), **five)
            limit = round(rds_max_connections(args.postgres["instance_class"]) * 0.8)
            self._alarm("postgres-connections", f"PostgreSQL connections > {limit} (80% of max_connections)",
                        namespace="AWS/RDS", metric_name="DatabaseConnections", dimensions=dims,
                        statistic="Maximum", comparison_operator="GreaterThanThreshold", threshold=limit, **five)
        for i, member in enumerate(args.redis_member_ids):
            dims = {"CacheClusterId": member}
            self._alarm(f"redis-{i}-memory", f"Redis node {member}: memory > {t.memory_percent}%",
                        namespace="AWS/ElastiCache", metric_name="DatabaseMemoryUsagePercentage", dimensions=dims,
                        statistic="Average", comparison_operator="GreaterThanThreshold",
                        threshold=t.memory_percent, **five)
            self._alarm(f"redis-{i}-cpu", f"Redis node {member}: engine CPU > {t.cpu_percent}%",
                        namespace="AWS/ElastiCache", metric_name="EngineCPUUtilization", dimensions=dims,
                        statistic="Average", comparison_operator="GreaterThanThreshold",
                        threshold=t.cpu_percent, **five)
        if args.docdb_cluster_id:
            self._alarm("mongodb-cpu", f"DocumentDB CPU > {t.cpu_percent}%", namespace="AWS/DocDB",
                        metric_name="CPUUtilization", dimensions={"DBClusterIdentifier": args.docdb_cluster_id},
                        statistic="Average", comparison_operator="GreaterThanThreshold",
                        threshold=t.cpu_percent, **five)
        if args.mq_broker_name:
            self._rabbitmq_memory_alarm(args.mq_broker_name)
            self._rabbitmq_cpu_alarm(args.mq_broker_name)

    def _rabbitmq_memory_alarm(self, broker: str) -> None:
        """Memory used / the high watermark, per RabbitMQ node. On a cluster the Broker-level
        RabbitMQMemUsed and RabbitMQMemLimit are sums over the nodes (their ratio is the cluster's
        average: one node at its watermark, blocking publishers, hides behind two idle ones); the
        per-node series (Broker + Node, node names unknown at plan time) come from Metrics Insights:
        used grouped by Node, divided by the smallest node's limit (the nodes share one instance
        type, so one limit), and the alarm watches the highest node's percentage (an alarm's
        expression returns one series)."""
        t = self.thresholds
        description = f"RabbitMQ memory > {t.memory_percent}% of the high watermark"
        periods = dict(evaluation_periods=t.resource_minutes, datapoints_to_alarm=t.resource_minutes)
        Query, Metric = aws.cloudwatch.MetricAlarmMetricQueryArgs, aws.cloudwatch.MetricAlarmMetricQueryMetricArgs
        if self.config.data.rabbitmq.ha:
            schema = f'FROM SCHEMA("AWS/AmazonMQ", Broker, Node) WHERE Broker = \'{broker}\''
            queries = [
                Query(id="pct", expression="MAX(100 * mused / mlimit)", label="memory % (highest node)", return_data=True),
                Query(id="mused", expression=f"SELECT MAX(RabbitMQMemUsed) {schema} GROUP BY Node", period=60,
                      return_data=False),
                Query(id="mlimit", expression=f"SELECT MIN(RabbitMQMemLimit) {schema}", period=60, return_data=False),
            ]
        else:
            dims = {"Broker": broker}
            queries = [
                Query(id="pct", expression="IF(mlimit > 0, 100 * mused / mlimit, 0)", label="memory %", return_data=True),
                Query(id="mused", metric=Metric(namespace="AWS/AmazonMQ", metric_name="RabbitMQMemUsed", dimensions=dims,
                                                 stat="Maximum", period=60)),
                Query(id="mlimit", metric=Metric(namespace="AWS/AmazonMQ", metric_name="RabbitMQMemLimit", dimensions=dims,
                                                  stat="Minimum", period=60)),
            ]
        self._alarm("rabbitmq-memory", description, comparison_operator="GreaterThanThreshold",
                    threshold=t.memory_percent, metric_queries=queries, **periods)

    def _rabbitmq_cpu_alarm(self, broker: str) -> None:
        """CPU per RabbitMQ node. On a cluster the Broker-level SystemCpuUtilization is the sum over
        the three nodes, and the per-node series carry a Node dimension named after each node's IP
        (unknown at plan time, new after a node is replaced): a Metrics Insights query grouped by
        Node makes each node a contributor of one alarm."""
        t = self.thresholds
        description = f"RabbitMQ CPU > {t.cpu_percent}% on a node for {t.resource_minutes} min"
        if not self.config.data.rabbitmq.ha:
            self._alarm("rabbitmq-cpu", description, namespace="AWS/AmazonMQ", metric_name="SystemCpuUtilization",
                        dimensions={"Broker": broker}, statistic="Average", comparison_operator="GreaterThanThreshold",
                        threshold=t.cpu_percent, **self._for_minutes(t.resource_minutes))
            return
        query = (
            'SELECT MAX(SystemCpuUtilization) FROM SCHEMA("AWS/AmazonMQ", Broker, Node) '
            f"WHERE Broker = '{broker}' GROUP BY Node"
        )
        self._alarm(
            "rabbitmq-cpu", description, comparison_operator="GreaterThanThreshold", threshold=t.cpu_percent,
            evaluation_periods=t.resource_minutes, datapoints_to_alarm=t.resource_minutes,
            metric_queries=[aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="cpu", expression=query, period=60, label="CPU % per node", return_data=True,
            )],
        )

    def _ai_spend_alarm(self) -> None:
        """The seed's daily AI spend limit on the app's `AiSpendUsd` metric: its sum over the last 24 h."""
        limit = self.config.monitoring.budgets.daily_ai_spend
        self._alarm(
            "ai-spend-daily", f"AI provider spend > {limit:.2f} USD in 24 h (the app's {AI_SPEND_METRIC} metric)",
            namespace=AI_NAMESPACE, metric_name=AI_SPEND_METRIC, dimensions={"Environment": self.config.environment},
            statistic="Sum", period=DAY_SECONDS, evaluation_periods=1, comparison_operator="GreaterThanThreshold",
            threshold=limit,
        )

    def _health_checks(self) -> dict[str, pulumi.Output[str]]:
        cfg = self.config
        t = self.thresholds
        ids: dict[str, pulumi.Output[str]] = {}
        for svc, host in self.args.hosts.items():
            service = cfg.enabled_services[svc]
            check = aws.route53.HealthCheck(
                self.child_name("health", svc),
                aws.route53.HealthCheckArgs(
                    type="HTTPS",
                    fqdn=host,
                    port=443,
                    resource_path=service.health_path or "/",
                    enable_sni=True,
                    request_interval=route53_interval(cfg.dr.health_check_interval_seconds),
                    failure_threshold=cfg.dr.failure_threshold,
                    measure_latency=True,
                    reference_name=bounded(f"{self.context.prefix}-{svc}", 27),  # provider maximum
                    tags={**self.labels, "Name": f"{self.context.prefix}-{svc}"},
                ),
                opts=self.child_opts(provider=self.args.global_provider),
            )
            ids[svc] = check.id
            self._alarm(
                f"{svc}-health-check", f"{host}: Route 53 health check failing for {t.service_down_minutes} min",
                global_region=True, namespace="AWS/Route53", metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": check.id}, statistic="Minimum",
                comparison_operator="LessThanThreshold", threshold=1, treat_missing_data="breaching",
                **self._for_minutes(t.service_down_minutes),
            )
        return ids

    def _edge_alarms(self) -> None:
        t = self.thresholds
        for svc, distribution_id in self.args.distribution_ids.items():
            self._alarm(
                f"{svc}-edge-5xx", f"CloudFront {svc}: 5xx > {t.error_rate_percent}% for {t.error_rate_minutes} min",
                global_region=True, namespace="AWS/CloudFront", metric_name="5xxErrorRate",
                dimensions={"DistributionId": distribution_id, "Region": "Global"}, statistic="Average",
                comparison_operator="GreaterThanThreshold", threshold=t.error_rate_percent,
                **self._for_minutes(t.error_rate_minutes),
            )

    # --- dashboard ----------------------------------------------------------------------------------

    def _dashboard(self) -> None:
        args = self.args
        region = self.config.regions.primary
        routed = sorted(args.target_group_arn_suffixes)
        tg_suffixes = [args.target_group_arn_suffixes[s] for s in routed]
        hc_ids = [self.health_check_ids[s] for s in sorted(self.health_check_ids)]

        def body(values: list) -> str:
            lb = values[0]
            tgs = dict(zip(routed, values[1 : 1 + len(routed)]))
            hcs = dict(zip(sorted(self.health_check_ids), values[1 + len(routed) :]))
            widgets: list[dict] = []

            def metric_widget(title: str, metrics: list, stat: str = "Sum", widget_region: str = region) -> None:
                n = len(widgets)
                widgets.append(
                    {
                        "type": "metric", "x": (n % 2) * 12, "y": (n // 2) * 6, "width": 12, "height": 6,
                        "properties": {"title": title, "region": widget_region, "stat": stat, "period": 60,
                                       "view": "timeSeries", "metrics": metrics},
                    }
                )

            if lb:
                metric_widget("Requests", [["AWS/ApplicationELB", "RequestCount", "TargetGroup", tg, "LoadBalancer", lb,
                                            {"label": s}] for s, tg in tgs.items()])
                metric_widget("Target 5xx", [["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "TargetGroup", tg,
                                              "LoadBalancer", lb, {"label": s}] for s, tg in tgs.items()])
                metric_widget("Latency p95 (s)", [["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", tg,
                                                   "LoadBalancer", lb, {"label": s, "stat": "p95"}]
                                                  for s, tg in tgs.items()], stat="p95")
            metric_widget("ECS CPU %", [["AWS/ECS", "CPUUtilization", "ClusterName", args.cluster_name,
                                         "ServiceName", n, {"label": s}] for s, n in args.service_names.items()],
                          stat="Average")
            metric_widget("ECS memory %", [["AWS/ECS", "MemoryUtilization", "ClusterName", args.cluster_name,
                                            "ServiceName", n, {"label": s}] for s, n in args.service_names.items()],
                          stat="Average")
            if args.postgres:
                ident = args.postgres["identifier"]
                metric_widget("PostgreSQL", [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", ident],
                                             ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", ident],
                                             ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", ident,
                                              {"yAxis": "right"}]], stat="Average")
            if args.redis_member_ids:
                metric_widget("Redis memory %", [["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", m]
                                                 for m in args.redis_member_ids], stat="Average")
            if args.docdb_cluster_id:
                metric_widget("DocumentDB", [["AWS/DocDB", "CPUUtilization", "DBClusterIdentifier", args.docdb_cluster_id],
                                             ["AWS/DocDB", "DatabaseConnections", "DBClusterIdentifier",
                                              args.docdb_cluster_id]], stat="Average")
            if args.mq_broker_name:
                metric_widget("RabbitMQ", [["AWS/AmazonMQ", "MessageCount", "Broker", args.mq_broker_name],
                                           ["AWS/AmazonMQ", "ConsumerCount", "Broker", args.mq_broker_name]],
                              stat="Maximum")
            metric_widget("AI spend (USD) and tokens", [
                [AI_NAMESPACE, AI_SPEND_METRIC, "Environment", self.config.environment],
                [AI_NAMESPACE, AI_TOKENS_METRIC, "Environment", self.config.environment, {"yAxis": "right"}],
            ])
            if hcs:
                metric_widget("Health checks", [["AWS/Route53", "HealthCheckStatus", "HealthCheckId", h, {"label": s}]
                                                for s, h in hcs.items()], stat="Minimum", widget_region="us-east-1")
            return json.dumps({"widgets": widgets})

        aws.cloudwatch.Dashboard(
            self.child_name("dashboard"),
            aws.cloudwatch.DashboardArgs(
                dashboard_name=self.context.prefix,
                dashboard_body=pulumi.Output.all(args.alb_arn_suffix, *tg_suffixes, *hc_ids).apply(body),
            ),
            opts=self.child_opts(),
        )
