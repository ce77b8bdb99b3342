"""Rules AWS enforces that Pulumi mocks never see, applied to every resource of the kind in every
stack's offline plan: service-created log groups, ordering and combination constraints, the
metrics CloudWatch services publish, WAF body rules in front of chat prompts, HSTS preload."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from components.edge.cloudfront import body_injection_labels
from tests.helpers import plan_of
from tools.harness import Registration
from tools.plan import available_stacks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy-aws.md"


def _resources(stack: str) -> list[Registration]:
    return [r for r in plan_of(stack).capture.resources if r.custom]


def _aws_stacks() -> list[str]:
    return [s for s in available_stacks() if any(r.type.startswith("aws:") for r in _resources(s))]


@pytest.fixture(scope="module", params=available_stacks())
def stack(request) -> str:
    return request.param


def _of_type(resources: list[Registration], *types: str) -> list[Registration]:
    return [r for r in resources if r.type in types]


def _by_id(resources: list[Registration]) -> dict[str, Registration]:
    """Resources by the id the mocks give them (`<name>-id`): what other inputs reference."""
    return {f"{r.name}-id": r for r in resources}


def test_there_is_an_aws_stack_to_check():
    assert "prod-aws" in _aws_stacks()


# --- 1. service-created log groups (issue 11 item 8) ---------------------------------------------

# type -> the log groups the service writes each enabled export to. None: the name is not
# knowable at plan time (Amazon MQ uses the broker id AWS assigns); docs/deploy-aws.md must then
# give the commands that set retention and the key.
LOG_GROUPS_OF: dict[str, Optional[Callable[[dict[str, Any]], list[str]]]] = {
    "aws:rds/instance:Instance": lambda i: [
        f"/aws/rds/instance/{i['identifier']}/{log}" for log in i.get("enabledCloudwatchLogsExports", [])
    ],
    "aws:rds/cluster:Cluster": lambda i: [
        f"/aws/rds/cluster/{i['clusterIdentifier']}/{log}" for log in i.get("enabledCloudwatchLogsExports", [])
    ],
    "aws:docdb/cluster:Cluster": lambda i: [
        f"/aws/docdb/{i['clusterIdentifier']}/{log}" for log in i.get("enabledCloudwatchLogsExports", [])
    ],
    "aws:mq/broker:Broker": None,
}


def test_every_log_export_has_a_pre_created_log_group_with_retention_and_key(stack):
    resources = _resources(stack)
    groups = {r.inputs.get("name"): r for r in _of_type(resources, "aws:cloudwatch/logGroup:LogGroup")}
    for reg in resources:
        exports = reg.inputs.get("enabledCloudwatchLogsExports") or (reg.inputs.get("logs") or {})
        if not exports:
            continue
        assert reg.type in LOG_GROUPS_OF, f"{reg.urn}: exports logs; add its log group names to LOG_GROUPS_OF"
        names_of = LOG_GROUPS_OF[reg.type]
        if names_of is None:
            text = DOCS.read_text()
            assert "/aws/amazonmq/broker/" in text and "put-retention-policy" in text and "associate-kms-key" in text
            continue
        for name in names_of(reg.inputs):
            group = groups.get(name)
            assert group is not None, f"{reg.urn}: no pre-created log group {name}"
            assert group.inputs.get("retentionInDays"), f"{name}: no retention"
            assert group.inputs.get("kmsKeyId"), f"{name}: not encrypted with the logs key"
            assert group.urn in reg.dependencies, f"{reg.urn} must depend on {name} (else the service creates it)"


def test_documentdb_profiler_export_has_the_profiler_on(stack):
    resources = _resources(stack)
    params = {r.inputs["name"]: r for r in _of_type(resources, "aws:docdb/clusterParameterGroup:ClusterParameterGroup")}
    for cluster in _of_type(resources, "aws:docdb/cluster:Cluster"):
        if "profiler" not in cluster.inputs.get("enabledCloudwatchLogsExports", []):
            continue
        values = {p["name"]: p["value"] for p in params[cluster.inputs["dbClusterParameterGroupName"]].inputs["parameters"]}
        assert values.get("profiler") == "enabled", f"{cluster.urn}: profiler export without the profiler"


# --- 2. ordering and combination constraints (items 9, 11, 14) ------------------------------------


def _engine_family(reg: Registration, resources: list[Registration]) -> list[str]:
    """An RDS/DocumentDB parameter group's family must be the engine's major version, and the
    version is config: major upgrades must be allowed or a version bump fails."""
    problems = []
    i = dict(reg.inputs)
    source = i.get("replicateSourceDb")
    if source and "engineVersion" not in i:  # a read replica runs its source's engine version
        i["engineVersion"] = next(r for r in resources if source.endswith(f":{r.name}")).inputs["engineVersion"]
    if i.get("allowMajorVersionUpgrade") is not True:
        problems.append("allowMajorVersionUpgrade is not true while engineVersion comes from config")
    if reg.type == "aws:rds/instance:Instance":
        group_type, key, family = "aws:rds/parameterGroup:ParameterGroup", "parameterGroupName", (
            f"postgres{str(i['engineVersion']).split('.')[0]}"
        )
    else:
        group_type, key, family = "aws:docdb/clusterParameterGroup:ClusterParameterGroup", "dbClusterParameterGroupName", (
            "docdb" + ".".join(str(i["engineVersion"]).split(".")[:2])
        )
    if i.get(key):
        group = next(g for g in _of_type(resources, group_type) if g.inputs["name"] == i[key])
        if group.inputs["family"] != family:
            problems.append(f"parameter group family {group.inputs['family']} is not {family}")
    return problems


def _cloudfront_logging(reg: Registration, resources: list[Registration]) -> list[str]:
    """CloudFront standard logging writes through the bucket ACL: the distribution must wait for the
    bucket's ownership controls (ACLs enabled) and any ACL set on it."""
    logging = reg.inputs.get("loggingConfig")
    if not logging:
        return []
    bucket = next(
        (b for b in _of_type(resources, "aws:s3/bucket:Bucket") if f"{b.inputs.get('bucket')}.s3.amazonaws.com" == logging["bucket"]),
        None,
    )
    if bucket is None:
        return [f"log bucket {logging['bucket']} is not in the stack"]
    problems = []
    controls = [r for r in _of_type(resources, "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                                    "aws:s3/bucketAcl:BucketAcl") if r.inputs.get("bucket") == f"{bucket.name}-id"]
    ownership = [c for c in controls if c.type.endswith("BucketOwnershipControls")]
    if not ownership or ownership[0].inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced":
        problems.append("the log bucket has ACLs disabled (CloudFront logging needs them)")
    problems += [f"does not depend on {c.name}" for c in controls if c.urn not in reg.dependencies]
    return problems


def _enhanced_monitoring(reg: Registration, resources: list[Registration]) -> list[str]:
    """RDS checks at create time that it can assume the monitoring role: the role's policy first."""
    if not reg.inputs.get("monitoringInterval"):
        return ["no enhanced monitoring"]
    role = next(r for r in _of_type(resources, "aws:iam/role:Role") if reg.inputs.get("monitoringRoleArn", "").endswith(f":{r.name}"))
    attachments = [a for a in _of_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.inputs["role"] == role.inputs["name"]]
    if not attachments:
        return ["the monitoring role has no policy attached"]
    return [f"does not depend on {a.name}" for a in attachments if a.urn not in reg.dependencies]


def _bucket_logging(reg: Registration, resources: list[Registration]) -> list[str]:
    """S3 delivers server access logs only to a bucket of the same region, SSE-S3 encrypted, whose
    policy lets logging.s3.amazonaws.com write: the logging configuration waits for that policy."""
    by_id = _by_id(resources)
    source, target = by_id[reg.inputs["bucket"]], by_id[reg.inputs["targetBucket"]]
    problems = []
    if source.provider != target.provider:
        problems.append("target bucket in another region")
    if source.urn == target.urn:
        problems.append("a bucket logging into itself loops")
    encryption = next(r for r in _of_type(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
                      if r.inputs["bucket"] == reg.inputs["targetBucket"])
    if encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] != "AES256":
        problems.append("target bucket is not SSE-S3")
    policies = [p for p in _of_type(resources, "aws:s3/bucketPolicy:BucketPolicy") if p.inputs["bucket"] == reg.inputs["targetBucket"]]
    if not policies or "logging.s3.amazonaws.com" not in policies[0].inputs["policy"]:
        problems.append("target bucket policy does not admit logging.s3.amazonaws.com")
    elif policies[0].urn not in reg.dependencies:
        problems.append("does not wait for the target bucket policy")
    return problems


def _waf_logging(reg: Registration, resources: list[Registration]) -> list[str]:
    """WAF logs only to destinations named `aws-waf-logs-*`, in the web ACL's region."""
    groups = {r.name: r for r in _of_type(resources, "aws:cloudwatch/logGroup:LogGroup")}
    problems = []
    for arn in reg.inputs["logDestinationConfigs"]:
        group = groups[arn.rsplit(":", 1)[-1]]  # the mocks' ARN ends with the logical name
        if not group.inputs["name"].startswith("aws-waf-logs-"):
            problems.append(f"{group.inputs['name']}: WAF requires the aws-waf-logs- prefix")
        if group.provider != reg.provider:
            problems.append(f"{group.inputs['name']}: not in the web ACL's region")
    redacted = {f["singleHeader"]["name"] for f in reg.inputs.get("redactedFields", []) if "singleHeader" in f}
    if not {"authorization", "cookie"} <= redacted:
        problems.append("authorization/cookie headers not redacted")
    return problems


RULES: dict[str, list[Callable[[Registration, list[Registration]], list[str]]]] = {
    "aws:rds/instance:Instance": [_engine_family, _enhanced_monitoring],
    "aws:docdb/cluster:Cluster": [_engine_family],
    "aws:cloudfront/distribution:Distribution": [_cloudfront_logging],
    "aws:s3/bucketLogging:BucketLogging": [_bucket_logging],
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": [_waf_logging],
}


def test_ordering_and_combination_rules(stack):
    resources = _resources(stack)
    problems = [
        f"{reg.urn}: {problem}"
        for reg in resources
        for rule in RULES.get(reg.type, ())
        for problem in rule(reg, resources)
    ]
    assert problems == []


def test_every_web_acl_logs_and_every_backup_bucket_logs_access(stack):
    resources = _resources(stack)
    logged = {r.inputs["resourceArn"] for r in _of_type(resources, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")}
    for acl in _of_type(resources, "aws:wafv2/webAcl:WebAcl"):
        assert f"arn:aws:wafv2:us-east-1:123456789012:{acl.name}" in logged, f"{acl.urn}: WAF not logged"
    logging = {r.inputs["bucket"] for r in _of_type(resources, "aws:s3/bucketLogging:BucketLogging")}
    for bucket in _of_type(resources, "aws:s3/bucket:Bucket"):
        if "-backups-" in str(bucket.inputs.get("bucket")):
            assert f"{bucket.name}-id" in logging, f"{bucket.urn}: no S3 access logging"


# --- 3. the metrics CloudWatch services publish (item 6) ---------------------------------------

# namespace -> metric -> the dimension sets the service publishes it with
PUBLISHED: dict[str, dict[str, list[frozenset[str]]]] = {
    "AWS/ApplicationELB": {
        m: [frozenset({"LoadBalancer"}), frozenset({"LoadBalancer", "TargetGroup"})]
        for m in ("HealthyHostCount", "HTTPCode_Target_5XX_Count", "RequestCount", "TargetResponseTime")
    } | {"UnHealthyHostCount": [frozenset({"LoadBalancer", "TargetGroup"})]},  # per target group only
    "AWS/ECS": {m: [frozenset({"ClusterName"}), frozenset({"ClusterName", "ServiceName"})]
                for m in ("CPUUtilization", "MemoryUtilization")},
    "ECS/ContainerInsights": {"RunningTaskCount": [frozenset({"ClusterName", "ServiceName"})]},
    "AWS/RDS": {m: [frozenset({"DBInstanceIdentifier"})]
                for m in ("CPUUtilization", "FreeStorageSpace", "DatabaseConnections")},
    "AWS/ElastiCache": {m: [frozenset({"CacheClusterId"}), frozenset({"CacheClusterId", "CacheNodeId"})]
                        for m in ("DatabaseMemoryUsagePercentage", "EngineCPUUtilization")},
    "AWS/DocDB": {m: [frozenset({"DBClusterIdentifier"}), frozenset({"DBInstanceIdentifier"})]
                  for m in ("CPUUtilization", "DatabaseConnections")},
    # node metrics: per node with Broker + Node; with Broker alone a cluster publishes the sum over its nodes
    "AWS/AmazonMQ": {m: [frozenset({"Broker"}), frozenset({"Broker", "Node"})]
                     for m in ("SystemCpuUtilization", "RabbitMQMemUsed", "RabbitMQMemLimit")},
    "AWS/Route53": {"HealthCheckStatus": [frozenset({"HealthCheckId"})]},
    "AWS/CloudFront": {"5xxErrorRate": [frozenset({"DistributionId", "Region"})]},
    # AWS Backup job metrics: per vault, per resource type, and per vault and resource type
    "AWS/Backup": {m: [frozenset({"BackupVaultName"}), frozenset({"ResourceType"}),
                       frozenset({"BackupVaultName", "ResourceType"})]
                   for m in ("NumberOfBackupJobsCompleted", "NumberOfBackupJobsFailed",
                             "NumberOfRestoreJobsCompleted", "NumberOfRestoreJobsFailed")},
    # the app's own (docs/deploy-aws.md, "AI spend metric")
    "AIAssistant": {m: [frozenset({"Environment"})] for m in ("AiSpendUsd", "AiTokens")},
}
# metrics that a multi-node broker only publishes meaningfully per node (Broker alone = a sum)
PER_NODE = {("AWS/AmazonMQ", m) for m in ("SystemCpuUtilization", "RabbitMQMemUsed", "RabbitMQMemLimit")}
_SCHEMA = re.compile(
    r'SELECT (\w+)\((\w+)\) FROM SCHEMA\("([^"]+)",\s*([^)]*)\)(?: WHERE (.*?))?(?: GROUP BY (\w+))?$'
)
_BROKER = re.compile(r"Broker = '([^']+)'")


@dataclass(frozen=True)
class AlarmMetric:
    namespace: str
    metric: str
    dimensions: frozenset[str]
    broker: Optional[str] = None  # the Broker it is filtered on (dimension or Metrics Insights WHERE)
    # a Metrics Insights query over per-node series without GROUP BY Node: how it combines them
    across_nodes: Optional[str] = None


def _alarm_metrics(alarm: Registration) -> list[AlarmMetric]:
    """Every metric an alarm reads (plain metric, metric query or Metrics Insights query)."""
    i = alarm.inputs
    if "metricName" in i:
        dims = i.get("dimensions") or {}
        return [AlarmMetric(i["namespace"], i["metricName"], frozenset(dims), dims.get("Broker"))]
    found = []
    for query in i.get("metricQueries", []):
        if "metric" in query:
            m = query["metric"]
            dims = m.get("dimensions") or {}
            found.append(AlarmMetric(m["namespace"], m["metricName"], frozenset(dims), dims.get("Broker")))
        elif query["expression"].startswith("SELECT"):
            match = _SCHEMA.match(query["expression"])
            assert match, f"{alarm.urn}: unparsed Metrics Insights query {query['expression']}"
            function, metric, namespace, dims, where, group_by = match.groups()
            names = frozenset(d.strip() for d in dims.split(","))
            assert group_by is None or group_by in names, alarm.urn
            broker = _BROKER.search(where or "")
            across = function if "Node" in names and group_by != "Node" else None
            found.append(AlarmMetric(namespace, metric, names, broker.group(1) if broker else None, across))
    return found


def test_every_alarm_reads_a_metric_its_service_publishes(stack):
    resources = _resources(stack)
    cluster_brokers = {b.inputs["brokerName"] for b in _of_type(resources, "aws:mq/broker:Broker")
                       if b.inputs["deploymentMode"] == "CLUSTER_MULTI_AZ"}
    problems = []
    for alarm in _of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        metrics = _alarm_metrics(alarm)
        assert metrics, f"{alarm.urn}: reads no metric"
        for m in metrics:
            published = PUBLISHED.get(m.namespace, {}).get(m.metric)
            if published is None or m.dimensions not in published:
                problems.append(f"{alarm.urn}: {m.namespace} {m.metric} {sorted(m.dimensions)} is not published")
    assert problems == []


def test_every_rabbitmq_resource_alarm_of_a_cluster_is_per_node(stack):
    """CPU and memory of a multi-node broker: with the Broker dimension alone CloudWatch sums the
    nodes (a ratio of sums is the cluster's average, and one node at its watermark blocks
    publishers), so every such metric an alarm reads carries the Node dimension, and a query over
    the node series keeps them apart (GROUP BY Node) or takes one node's value (MIN/MAX), never SUM."""
    resources = _resources(stack)
    cluster_brokers = {b.inputs["brokerName"] for b in _of_type(resources, "aws:mq/broker:Broker")
                       if b.inputs["deploymentMode"] == "CLUSTER_MULTI_AZ"}
    problems, seen = [], set()
    for alarm in _of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        for m in _alarm_metrics(alarm):
            if (m.namespace, m.metric) not in PER_NODE or m.broker not in cluster_brokers:
                continue
            seen.add(m.metric)
            if "Node" not in m.dimensions:
                problems.append(f"{alarm.urn}: {m.metric} of the cluster {m.broker} without the Node dimension is a sum")
            elif m.across_nodes not in (None, "MIN", "MAX"):
                problems.append(f"{alarm.urn}: {m.across_nodes}({m.metric}) over the nodes of {m.broker} is not per node")
    assert problems == []
    if cluster_brokers:
        assert seen == {m for _, m in PER_NODE}, f"{stack}: no per-node alarm on {sorted({m for _, m in PER_NODE} - seen)}"


def test_alarm_periods_are_ones_cloudwatch_accepts(stack):
    """PutMetricAlarm: a period of 10, 30 or a multiple of 60 s; an evaluation range of at most
    7 days; no more datapoints to alarm than evaluation periods."""
    for alarm in _of_type(_resources(stack), "aws:cloudwatch/metricAlarm:MetricAlarm"):
        i = alarm.inputs
        periods = [i["period"]] if "period" in i else [
            q.get("period") or q["metric"]["period"] for q in i["metricQueries"] if "metric" in q or "period" in q
        ]
        assert periods, alarm.urn
        for period in periods:
            assert period in (10, 30) or period % 60 == 0, alarm.urn
            assert period * i["evaluationPeriods"] <= 7 * 86400, alarm.urn
        assert i.get("datapointsToAlarm", i["evaluationPeriods"]) <= i["evaluationPeriods"], alarm.urn


# --- 4. WAF body rules in front of chat prompts (item 7) and HSTS preload (item 14) -------------


def _rules(acl: Registration) -> dict[str, dict]:
    return {r["name"]: r for r in acl.inputs["rules"]}


def test_waf_counts_injection_body_rules_on_ai_paths_and_blocks_them_elsewhere(stack):
    for acl in _of_type(_resources(stack), "aws:wafv2/webAcl:WebAcl"):
        rules = _rules(acl)
        counted = set()
        for rule in rules.values():
            group = rule["statement"].get("managedRuleGroupStatement")
            if group:
                counted |= {o["name"] for o in group.get("ruleActionOverrides", []) if "count" in o["actionToUse"]}
        assert {"CrossSiteScripting_BODY", "SQLi_BODY", "SQLiExtendedPatterns_BODY"} <= counted, acl.urn
        block = rules["block-body-injection"]
        assert block["action"] == {"block": {}}
        assert block["priority"] > max(r["priority"] for r in rules.values() if "managedRuleGroupStatement" in r["statement"])
        matched, negated = block["statement"]["andStatement"]["statements"]
        keys = [s["labelMatchStatement"]["key"] for s in matched["orStatement"]["statements"]]
        assert keys == body_injection_labels()
        ai = negated["notStatement"]["statement"]["orStatement"]["statements"]
        assert [s["byteMatchStatement"]["searchString"] for s in ai] == ["/api/chat", "/api/ai", "/v1/chat"]


def test_response_headers_are_hsts_preload_ready(stack):
    for policy in _of_type(_resources(stack), "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"):
        hsts = policy.inputs["securityHeadersConfig"]["strictTransportSecurity"]
        assert hsts["accessControlMaxAgeSec"] >= 31536000, policy.urn
        assert hsts["includeSubdomains"] is True and hsts["preload"] is True, policy.urn
