"""The AWS data adapters alone: security-relevant settings, protection, stable names, secret URLs."""

import pytest
from pulumi.runtime.sync_await import _sync_await

from components.data.amazonmq import AmazonMqRabbitMq
from components.data.aws import AwsDataArgs, backup_window
from components.data.documentdb import DocumentDb
from components.data.elasticache import ElastiCacheRedis
from components.data.rds import RdsPostgres
from tests.aws.helpers import assert_explicit_providers, on_primary, policy, run_aws
from tests.helpers import make_context, problem_lines

KEY = "arn:aws:kms:us-east-1:123456789012:key/data"
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/logs"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]


def _builder(cls, holder):
    def build(context, providers):
        holder["component"] = cls(
            cls.__name__.lower(),
            AwsDataArgs(
                context=context, subnet_ids=SUBNETS, security_group_id="sg-data", kms_key_arn=KEY,
                log_kms_key_arn=LOGS_KEY,
            ),
            opts=on_primary(providers),
        )

    return build


def _run(cls, overrides=None):
    holder = {}
    run = run_aws(_builder(cls, holder), overrides=overrides)
    return run, holder["component"]


def _url_is_secret(component) -> bool:
    return _sync_await(component.connection.url.is_secret())


@pytest.fixture(scope="module")
def rds():
    return _run(RdsPostgres)


def test_rds_postgres_production_settings(rds):
    run, component = rds
    db = run.one("aws:rds/instance:Instance")
    i = db.inputs
    assert i["multiAz"] is True
    assert i["storageEncrypted"] is True and i["kmsKeyId"] == KEY and i["storageType"] == "gp3"
    assert i["allocatedStorage"] == 100 and i["maxAllocatedStorage"] > 100
    assert i["backupRetentionPeriod"] == 30  # dr.retention.dailyDays: PITR window
    assert i["deletionProtection"] is True and i["skipFinalSnapshot"] is False
    assert i["finalSnapshotIdentifier"] == "aia-prod-aws-postgres-final"
    assert i["performanceInsightsEnabled"] is True and i["performanceInsightsKmsKeyId"] == KEY
    assert i["publiclyAccessible"] is False
    assert i["vpcSecurityGroupIds"] == ["sg-data"]
    assert i["password"] == "[secret]"
    assert db.protect is True
    subnet_group = run.one("aws:rds/subnetGroup:SubnetGroup").inputs
    assert subnet_group["subnetIds"] == SUBNETS
    params = run.one("aws:rds/parameterGroup:ParameterGroup").inputs
    assert params["family"] == "postgres16"
    assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"} in params["parameters"]
    # query logging (Checkov CKV2_AWS_30): schema changes and slow statements reach the exported log
    values = {p["name"]: p["value"] for p in params["parameters"]}
    assert values["log_statement"] == "ddl" and int(values["log_min_duration_statement"]) > 0
    assert i["parameterGroupName"] == params["name"]
    assert _url_is_secret(component) and component.connection.env_var == "DATABASE_URL"
    assert_explicit_providers(run)


def test_rds_log_groups_enhanced_monitoring_and_major_upgrades(rds):
    run, _ = rds
    db = run.one("aws:rds/instance:Instance")
    groups = {r.inputs["name"]: r for r in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert sorted(groups) == ["/aws/rds/instance/aia-prod-aws-postgres/postgresql",
                              "/aws/rds/instance/aia-prod-aws-postgres/upgrade"]
    for group in groups.values():
        assert group.inputs["kmsKeyId"] == LOGS_KEY and group.inputs["retentionInDays"] == 365
        assert group.urn in db.dependencies
    assert db.inputs["monitoringInterval"] == 60 and db.inputs["monitoringRoleArn"].endswith(":rdspostgres-monitoring-role")
    role = run.one("aws:iam/role:Role").inputs
    assert policy(run.one("aws:iam/role:Role"), "assumeRolePolicy")["Statement"][0]["Principal"] == {
        "Service": "monitoring.rds.amazonaws.com"
    }
    attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["role"] == role["name"] and attachment.urn in db.dependencies
    assert attachment.inputs["policyArn"].endswith("service-role/AmazonRDSEnhancedMonitoringRole")
    assert db.inputs["allowMajorVersionUpgrade"] is True


def test_rds_name_is_stable_when_config_changes(rds):
    run, _ = rds
    bigger, _ = _run(RdsPostgres, {"data": {"postgres": {"storageGi": 500, "tier": "db.r6g.xlarge"}}})
    assert bigger.one("aws:rds/instance:Instance").inputs["identifier"] == run.one(
        "aws:rds/instance:Instance"
    ).inputs["identifier"] == "aia-prod-aws-postgres"


def test_rds_not_protected_outside_prod():
    run, _ = _run(RdsPostgres, {"environment": "staging"})
    db = run.one("aws:rds/instance:Instance")
    assert db.protect is False and db.inputs["deletionProtection"] is False and db.inputs["multiAz"] is False
    assert db.inputs["skipFinalSnapshot"] is False  # a final snapshot is still taken


def test_elasticache_redis():
    run, component = _run(ElastiCacheRedis)
    group = run.one("aws:elasticache/replicationGroup:ReplicationGroup")
    i = group.inputs
    assert i["multiAzEnabled"] is True and i["automaticFailoverEnabled"] is True and i["numCacheClusters"] >= 2
    assert i["atRestEncryptionEnabled"] is True and i["kmsKeyId"] == KEY
    assert i["transitEncryptionEnabled"] is True
    assert i["authToken"] == "[secret]"
    assert i["snapshotRetentionLimit"] == 30 and i["finalSnapshotIdentifier"]
    assert i["engineVersion"] == "7.1"
    assert group.protect is True
    assert _sync_await(component.connection.url.is_secret())
    assert component.member_cluster_ids[0] == "aia-prod-aws-redis-001"


def test_documentdb():
    run, component = _run(DocumentDb)
    cluster = run.one("aws:docdb/cluster:Cluster")
    i = cluster.inputs
    assert i["storageEncrypted"] is True and i["kmsKeyId"] == KEY
    assert i["backupRetentionPeriod"] == 30
    assert i["deletionProtection"] is True and i["skipFinalSnapshot"] is False and i["finalSnapshotIdentifier"]
    assert i["masterPassword"] == "[secret]"
    assert i["engineVersion"] == "5.0.0"
    assert cluster.protect is True
    params = run.one("aws:docdb/clusterParameterGroup:ClusterParameterGroup").inputs
    assert params["family"] == "docdb5.0"
    assert {"name": "tls", "value": "enabled", "applyMethod": "pending-reboot"} in params["parameters"]
    assert i["dbClusterParameterGroupName"] == params["name"]
    assert len(run.of_type("aws:docdb/clusterInstance:ClusterInstance")) == 3
    assert {"name": "profiler", "value": "enabled"} in params["parameters"]
    assert {"name": "profiler_threshold_ms", "value": "2000"} in params["parameters"]
    groups = {r.inputs["name"]: r for r in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert sorted(groups) == ["/aws/docdb/aia-prod-aws-docdb/audit", "/aws/docdb/aia-prod-aws-docdb/profiler"]
    assert all(g.urn in cluster.dependencies and g.inputs["kmsKeyId"] == LOGS_KEY for g in groups.values())
    assert i["allowMajorVersionUpgrade"] is True
    assert _sync_await(component.connection.url.is_secret())


def test_amazon_mq_rabbitmq_cluster_in_prod_single_elsewhere():
    run, component = _run(AmazonMqRabbitMq)
    broker = run.one("aws:mq/broker:Broker")
    i = broker.inputs
    assert i["deploymentMode"] == "CLUSTER_MULTI_AZ" and i["subnetIds"] == SUBNETS
    assert i["publiclyAccessible"] is False
    assert i["logs"] == {"general": True}
    assert i["users"] == [{"username": "aiassistant", "password": "[secret]"}]
    assert i["engineType"] == "RabbitMQ" and i["brokerName"] == "aia-prod-aws-rabbitmq"
    assert broker.protect is True
    url = _sync_await(component.connection.url.future())
    assert url.startswith("amqps://aiassistant:") and url.endswith("amazonaws.com:5671")
    staging, _ = _run(AmazonMqRabbitMq, {"environment": "staging"})
    single = staging.one("aws:mq/broker:Broker").inputs
    assert single["deploymentMode"] == "SINGLE_INSTANCE" and single["subnetIds"] == ["subnet-a"]


def test_unsupported_engine_versions_fail_before_anything_is_created():
    message = problem_lines("prod-aws", {"data": {"redis": {"version": "7.2"}, "mongodb": {"version": "7.0"}}})
    assert "data.redis.version = '7.2'" in message and "6.2, 7.0, 7.1" in message
    assert "data.mongodb.version = '7.0'" in message


def test_backup_window_ends_before_the_maintenance_window():
    config = make_context("prod-aws").config
    assert config.dr.maintenance_window == "SUN:02:00-SUN:04:00"
    assert backup_window(config) == "00:00-01:00"
