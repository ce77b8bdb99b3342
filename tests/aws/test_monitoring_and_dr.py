"""Monitoring and DR alone."""

import pytest

from components.dr.aws import AwsDisasterRecovery, AwsDisasterRecoveryArgs, retention_tiers
from components.monitoring.aws import AwsMonitoring, AwsMonitoringArgs, route53_interval
from tests.aws.helpers import ACCOUNT, assert_explicit_providers, on_primary, run_aws
from tests.helpers import make_context


def _monitoring(context, providers):
    return AwsMonitoring(
        "monitoring",
        AwsMonitoringArgs(
            context=context,
            account_id=ACCOUNT,
            kms_key_arn="arn:key/logs",
            global_provider=providers.us_east_1,
            global_kms_key_arn="arn:key/logs",
            cluster_name="aia-prod-aws",
            service_names={"frontend": "frontend", "api": "api", "worker": "worker"},
            alb_arn_suffix="app/alb/1",
            target_group_arn_suffixes={"frontend": "targetgroup/f/1", "api": "targetgroup/a/1"},
            distribution_ids={"frontend": "EDFDVBD6EXAMPLE"},
            hosts={"frontend": "app.ai-assistant.example.com", "api": "api.ai-assistant.example.com"},
            postgres={"identifier": "aia-prod-aws-postgres", "instance_class": "db.m6g.large", "allocated_storage_gi": 100},
            redis_member_ids=["aia-prod-aws-redis-001", "aia-prod-aws-redis-002"],
            docdb_cluster_id="aia-prod-aws-docdb",
            mq_broker_name="aia-prod-aws-rabbitmq",
        ),
        opts=on_primary(providers),
    )


@pytest.fixture(scope="module")
def monitoring():
    return run_aws(_monitoring)


def _alarms(run):
    return {r.inputs["name"].removeprefix("aia-prod-aws-"): r for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_alarm_thresholds_from_the_seeds(monitoring):
    alarms = _alarms(monitoring)
    down = alarms["api-down"].inputs
    assert (down["metricName"], down["threshold"], down["evaluationPeriods"], down["period"]) == ("HealthyHostCount", 1, 1, 60)
    rate = alarms["api-5xx-rate"].inputs
    assert rate["threshold"] == 5 and rate["evaluationPeriods"] == 2
    assert "100 * errors / requests" in rate["metricQueries"][0]["expression"]
    latency = alarms["api-latency-p95"].inputs
    assert latency["extendedStatistic"] == "p95" and latency["threshold"] == 2 and latency["evaluationPeriods"] == 5
    assert alarms["frontend-cpu"].inputs["threshold"] == 80 and alarms["frontend-memory"].inputs["threshold"] == 80
    assert alarms["worker-down"].inputs["metricName"] == "RunningTaskCount"
    storage = alarms["postgres-storage"].inputs
    assert storage["metricName"] == "FreeStorageSpace" and storage["threshold"] == round(100 * 1024**3 * 0.15)
    assert alarms["postgres-connections"].inputs["metricName"] == "DatabaseConnections"
    assert alarms["redis-0-memory"].inputs["dimensions"] == {"CacheClusterId": "aia-prod-aws-redis-001"}
    assert {"mongodb-cpu", "rabbitmq-memory", "rabbitmq-cpu", "frontend-edge-5xx"} <= set(alarms)
    for alarm in alarms.values():
        assert alarm.inputs["alarmActions"] == ["arn:aws:sns:us-east-1:123456789012:monitoring-alerts"]
    assert_explicit_providers(monitoring)


def test_global_metrics_alarm_in_us_east_1(monitoring):
    alarms = _alarms(monitoring)
    assert monitoring.provider_name(alarms["frontend-edge-5xx"]) == "aws-us-east-1"
    assert monitoring.provider_name(alarms["api-health-check"]) == "aws-us-east-1"
    assert monitoring.provider_name(alarms["api-down"]) == "aws-primary"


def test_topic_encrypted_with_email_subscription(monitoring):
    topic = monitoring.one("aws:sns/topic:Topic").inputs
    assert topic["kmsMasterKeyId"] == "arn:key/logs"
    sub = monitoring.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert sub == {"topic": "arn:aws:sns:us-east-1:123456789012:monitoring-alerts", "protocol": "email",
                   "endpoint": "oncall@example.com"}


def test_route53_health_checks(monitoring):
    checks = {r.inputs["fqdn"]: r.inputs for r in monitoring.of_type("aws:route53/healthCheck:HealthCheck")}
    api = checks["api.ai-assistant.example.com"]
    assert api["type"] == "HTTPS" and api["resourcePath"] == "/health" and api["enableSni"] is True
    assert api["requestInterval"] == 30 and api["failureThreshold"] == 3
    assert checks["app.ai-assistant.example.com"]["resourcePath"] == "/api/health"
    assert route53_interval(60) == 30 and route53_interval(15) == 10


def test_budgets_and_dashboard(monitoring):
    budgets = {r.inputs["name"]: r.inputs for r in monitoring.of_type("aws:budgets/budget:Budget")}
    assert budgets["aia-prod-aws-infrastructure-monthly"]["limitAmount"] == "500.00"
    assert budgets["aia-prod-aws-storage-monthly"]["limitAmount"] == "50.00"
    storage = budgets["aia-prod-aws-storage-monthly"]["costFilters"]
    assert [f["name"] for f in storage] == ["UsageTypeGroup"]
    groups = storage[0]["values"]
    assert {"RDS: Storage", "DocumentDB: Storage", "S3: Storage - Standard"} <= set(groups)
    assert not any(g.startswith("EC2") for g in groups)  # NAT, EBS and transfer are not storage
    # the AI spend is OpenAI's bill, invisible to AWS Budgets: no Bedrock budget, an alarm on the app's metric
    assert "aia-prod-aws-ai-daily" not in budgets
    ai = _alarms(monitoring)["ai-spend-daily"].inputs
    assert (ai["namespace"], ai["metricName"], ai["dimensions"]) == ("AIAssistant", "AiSpendUsd", {"Environment": "prod"})
    assert (ai["statistic"], ai["period"], ai["evaluationPeriods"], ai["threshold"]) == ("Sum", 86400, 1, 100)
    widgets = __import__("json").loads(monitoring.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])["widgets"]
    titles = {w["properties"]["title"] for w in widgets}
    assert {"Requests", "Target 5xx", "Latency p95 (s)", "ECS CPU %", "PostgreSQL", "Health checks",
            "AI spend (USD) and tokens"} <= titles


def test_rabbitmq_cpu_alarm_per_node_on_a_cluster(monitoring):
    cpu = _alarms(monitoring)["rabbitmq-cpu"].inputs
    (query,) = cpu["metricQueries"]
    assert query["expression"] == (
        'SELECT MAX(SystemCpuUtilization) FROM SCHEMA("AWS/AmazonMQ", Broker, Node) '
        "WHERE Broker = 'aia-prod-aws-rabbitmq' GROUP BY Node"
    )
    assert query["period"] == 60 and cpu["threshold"] == 80 and cpu["evaluationPeriods"] == 5
    single = _alarms(run_aws(_monitoring, overrides={"data": {"rabbitmq": {"ha": False}}}))["rabbitmq-cpu"].inputs
    assert single["dimensions"] == {"Broker": "aia-prod-aws-rabbitmq"} and "metricQueries" not in single


def test_rabbitmq_memory_alarm_per_node_on_a_cluster(monitoring):
    """The highest node's used / watermark, not the ratio of the cluster's sums."""
    memory = _alarms(monitoring)["rabbitmq-memory"].inputs
    queries = {q["id"]: q for q in memory["metricQueries"]}
    schema = 'FROM SCHEMA("AWS/AmazonMQ", Broker, Node) WHERE Broker = \'aia-prod-aws-rabbitmq\''
    assert queries["mused"]["expression"] == f"SELECT MAX(RabbitMQMemUsed) {schema} GROUP BY Node"
    assert queries["mlimit"]["expression"] == f"SELECT MIN(RabbitMQMemLimit) {schema}"
    assert queries["pct"]["expression"] == "MAX(100 * mused / mlimit)" and queries["pct"]["returnData"] is True
    assert [q["id"] for q in memory["metricQueries"] if q.get("returnData")] == ["pct"]
    assert memory["threshold"] == 80 and memory["evaluationPeriods"] == 5
    single = _alarms(run_aws(_monitoring, overrides={"data": {"rabbitmq": {"ha": False}}}))["rabbitmq-memory"].inputs
    assert {q["metric"]["dimensions"]["Broker"] for q in single["metricQueries"] if "metric" in q} == {"aia-prod-aws-rabbitmq"}


# --- DR --------------------------------------------------------------------------------------------


def _dr(context, providers, **extra):
    return AwsDisasterRecovery(
        "dr",
        AwsDisasterRecoveryArgs(
            context=context,
            account_id=ACCOUNT,
            backup_kms_key_arn="arn:key/backup",
            alert_topic_arn="arn:topic",
            secondary_provider=providers.secondary,
            secondary_backup_kms_key_arn="arn:key/backup-west" if providers.secondary else None,
            rds_instance_arn="arn:rds/postgres",
            rds_identifier="aia-prod-aws-postgres",
            docdb_cluster_arn="arn:docdb/cluster",
            docdb_cluster_identifier="aia-prod-aws-docdb",
            alb_dns_name="alb.us-east-1.elb.amazonaws.com",
            alb_arn_suffix="app/alb/1",
            target_group_arn_suffixes={"api": "targetgroup/a/1", "frontend": "targetgroup/f/1"},
            **extra,
        ),
        opts=on_primary(providers),
    )


@pytest.fixture(scope="module")
def dr():
    return run_aws(_dr)


def test_backup_vaults_locked_and_encrypted_in_both_regions(dr):
    vaults = {r.inputs["name"]: r for r in dr.of_type("aws:backup/vault:Vault")}
    assert dr.provider_name(vaults["aia-prod-aws-vault"]) == "aws-primary"
    assert dr.provider_name(vaults["aia-prod-aws-vault-us-west-2"]) == "aws-secondary"
    assert vaults["aia-prod-aws-vault"].inputs["kmsKeyArn"] == "arn:key/backup"
    assert all(v.protect for v in vaults.values())
    locks = [r.inputs for r in dr.of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")]
    assert len(locks) == 2 and all(lock["changeableForDays"] == 3 for lock in locks)  # compliance mode in prod-aws
    assert all(lock["maxRetentionDays"] >= 7 * 365 for lock in locks)
    assert_explicit_providers(dr)


def test_backup_plan_tiers_and_cross_region_copy(dr):
    rules = {r["ruleName"]: r for r in dr.one("aws:backup/plan:Plan").inputs["rules"]}
    assert {n: r["lifecycle"]["deleteAfter"] for n, r in rules.items()} == {
        "daily": 30, "weekly": 84, "monthly": 365, "yearly": 2562
    }
    # the daily skips Sunday, whose 02:00 is inside the maintenance window; the weekly runs after it
    assert rules["daily"]["schedule"] == "cron(0 2 ? * MON,TUE,WED,THU,FRI,SAT *)"
    assert rules["weekly"]["schedule"] == "cron(0 5 ? * SUN *)"
    for rule in rules.values():
        copy = rule["copyActions"][0]
        assert copy["destinationVaultArn"].endswith("dr-vault-secondary")
        assert copy["lifecycle"] == rule["lifecycle"]
    selection = dr.one("aws:backup/selection:Selection").inputs
    assert selection["resources"] == ["arn:rds/postgres", "arn:docdb/cluster"]


def test_rds_backups_replicated_to_the_secondary_region(dr):
    replication = dr.one("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    assert dr.provider_name(replication) == "aws-secondary"
    assert replication.inputs == {"sourceDbInstanceArn": "arn:rds/postgres", "kmsKeyId": "arn:key/backup-west",
                                  "retentionPeriod": 30}


def test_backup_bucket_versioned_private_encrypted_replicated(dr):
    buckets = {r.name: r for r in dr.of_type("aws:s3/bucket:Bucket")}
    assert dr.provider_name(buckets["dr-backups-replica"]) == "aws-secondary"
    versioning = [r.inputs["versioningConfiguration"]["status"] for r in dr.of_type("aws:s3/bucketVersioning:BucketVersioning")]
    assert versioning == ["Enabled"] * 4  # two backup buckets, two access-log buckets
    for block in dr.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert block.inputs["blockPublicPolicy"] is True and block.inputs["restrictPublicBuckets"] is True
    encryption = dr.named("dr-backups-encryption").inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:key/backup"}
    lifecycle = dr.named("dr-backups-lifecycle").inputs["rules"][0]
    assert [t["storageClass"] for t in lifecycle["transitions"]] == ["STANDARD_IA", "GLACIER"]
    replication = dr.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    rule = replication.inputs["rules"][0]
    assert rule["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": "arn:key/backup-west"}
    assert set(replication.dependencies) >= {dr.named("dr-backups-versioning").urn, dr.named("dr-backups-replica-versioning").urn}


def test_backup_buckets_log_access_to_a_bucket_of_their_region(dr):
    buckets = {r.name: r for r in dr.of_type("aws:s3/bucket:Bucket")}
    logging = {r.name: r for r in dr.of_type("aws:s3/bucketLogging:BucketLogging")}
    assert sorted(logging) == ["dr-backups-access-logging", "dr-backups-replica-access-logging"]
    for source in ("dr-backups", "dr-backups-replica"):
        entry = logging[f"{source}-access-logging"]
        target = buckets[f"{source}-access-logs"]
        assert entry.inputs["bucket"] == f"{source}-id" and entry.inputs["targetBucket"] == f"{source}-access-logs-id"
        assert dr.provider_name(entry) == dr.provider_name(target) == dr.provider_name(buckets[source])
        assert dr.named(f"{source}-access-logs-policy").urn in entry.dependencies
        encryption = dr.named(f"{source}-access-logs-encryption").inputs["rules"][0]
        assert encryption["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_backup_age_alarm(dr):
    age = dr.named("dr-backup-age").inputs
    assert age["metricName"] == "NumberOfBackupJobsCompleted"
    assert age["period"] * age["evaluationPeriods"] == 26 * 3600 and age["treatMissingData"] == "breaching"


def test_failover_records_need_a_standby_alb(dr):
    """Alone (no standby ALB passed), the origin is a plain record; with the standby's ALB, PRIMARY
    and SECONDARY records on HTTPS checks of each ALB (the whole stack: tests/aws/test_standby.py)."""
    records = {r.name: r.inputs for r in dr.of_type("aws:route53/record:Record")}
    assert list(records) == ["dr-origin"] and "setIdentifier" not in records["dr-origin"]
    assert "no standby" in dr.result.failover_status
    both = run_aws(lambda context, providers: _dr(context, providers, standby_alb_dns_name="standby.elb.example",
                                                  health_check_paths={"api": "/ready"}))
    records = {r.inputs["setIdentifier"]: r.inputs for r in both.of_type("aws:route53/record:Record")}
    assert sorted(records) == ["primary", "secondary"] and records["secondary"]["records"] == ["standby.elb.example"]
    checks = {r.name: r.inputs for r in both.of_type("aws:route53/healthCheck:HealthCheck")}
    assert checks["dr-standby-api-https"]["fqdn"] == "standby.elb.example"
    assert checks["dr-standby-api-https"]["resourcePath"] == "/ready"
    assert "us-west-2" in both.result.runbook and "restore-db-instance-to-point-in-time" in both.result.runbook


def test_no_records_without_a_hosted_zone_and_the_outputs_say_so():
    run = run_aws(_dr, overrides={"aws": {"hostedZoneId": None}})
    assert not run.of_type("aws:route53/record:Record")
    assert run.result.failover_status.startswith("skipped: no aws.hostedZoneId")


def test_no_secondary_region_no_copies():
    run = run_aws(_dr, overrides={"regions": {"secondary": None}})
    assert len(run.of_type("aws:backup/vault:Vault")) == 1
    assert not run.of_type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    assert "copyActions" not in run.one("aws:backup/plan:Plan").inputs["rules"][0]


def test_retention_tiers_follow_config():
    config = make_context("prod-aws", {"dr": {"retention": {"yearlyYears": 0}, "backupSchedule": "30 3 * * *"}}).config
    tiers = retention_tiers(config)
    assert [t[0] for t in tiers] == ["daily", "weekly", "monthly"]
    # 03:30 is inside SUN 02:00-04:00: no daily on Sunday; the weekly an hour after the window ends
    assert tiers[0][1] == "cron(30 3 ? * MON,TUE,WED,THU,FRI,SAT *)" and tiers[1][1] == "cron(0 5 ? * SUN *)"
    # a daily clear of the window runs every day
    clear = retention_tiers(make_context("prod-aws", {"dr": {"backupSchedule": "0 8 * * *"}}).config)
    assert clear[0][1] == "cron(0 8 * * ? *)"
