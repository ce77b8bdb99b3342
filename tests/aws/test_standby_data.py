"""The AWS data adapters' standby copies in regions.secondary (issue 14), each adapter alone.

What AWS and the provider would say about a cross-region copy, applied to every adapter: every
standby resource is created by the secondary provider with the secondary keys and the standby VPC's
subnets and security group; nothing the standby adds changes an input of the primary (no replacement
of a database because a standby was switched on); the replica inputs the provider or AWS refuse are
absent; what a promotion or a regional failover changes outside Pulumi is in `ignore_changes`."""

import pytest

from components.data.amazonmq import AmazonMqRabbitMq
from components.data.aws import AwsDataArgs, AwsStandbyPlacement
from components.data.documentdb import DocumentDb
from components.data.elasticache import ElastiCacheRedis
from components.data.rds import RdsPostgres
from tests.aws.helpers import on_primary, run_aws

KEY = "arn:aws:kms:us-east-1:123456789012:key/data"
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/logs"
STANDBY_KEY = "arn:aws:kms:us-west-2:123456789012:key/data"
STANDBY_LOGS_KEY = "arn:aws:kms:us-west-2:123456789012:key/logs"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
STANDBY_SUBNETS = ["subnet-w1", "subnet-w2", "subnet-w3"]
ADAPTERS = (RdsPostgres, DocumentDb, ElastiCacheRedis, AmazonMqRabbitMq)
# the cross-region link itself: the one input of a standby resource that names the primary region's
CROSS_REGION_INPUTS = {"replicateSourceDb", "sourceDbClusterIdentifier", "primaryReplicationGroupId",
                       "globalClusterIdentifier", "globalReplicationGroupId"}
# what the provider refuses beside global_replication_group_id (its ConflictsWith): the datastore sets them
ELASTICACHE_SECONDARY_REFUSES = ("numNodeGroups", "parameterGroupName", "engine", "engineVersion", "nodeType",
                                 "securityGroupNames", "transitEncryptionEnabled", "atRestEncryptionEnabled",
                                 "snapshotArns", "snapshotName")
# what RDS refuses or ignores on a read replica: it inherits them (or, a final snapshot, refuses it)
RDS_REPLICA_REFUSES = ("dbName", "username", "password", "engine", "engineVersion", "finalSnapshotIdentifier",
                       "backupRetentionPeriod")


def _run(cls, mode="warm", overrides=None):
    holder = {}

    def build(context, providers):
        standby = None
        if mode is not None:
            standby = AwsStandbyPlacement(
                mode=mode, region="us-west-2", provider=providers.secondary, subnet_ids=STANDBY_SUBNETS,
                security_group_id="sg-standby", kms_key_arn=STANDBY_KEY, log_kms_key_arn=STANDBY_LOGS_KEY,
            )
        holder["component"] = cls(
            cls.__name__.lower(),
            AwsDataArgs(context=context, subnet_ids=SUBNETS, security_group_id="sg-data", kms_key_arn=KEY,
                        log_kms_key_arn=LOGS_KEY, standby=standby),
            opts=on_primary(providers),
        )

    run = run_aws(build, overrides=overrides)
    return run, holder["component"]


@pytest.fixture(scope="module", params=ADAPTERS, ids=lambda c: c.__name__)
def adapter(request):
    cls = request.param
    return cls, _run(cls), _run(cls, mode=None)


def _standby_resources(run):
    return [r for r in run.resources if r.custom and run.provider_name(r) == "aws-secondary"]


def test_every_standby_resource_is_in_the_secondary_region_with_its_keys_and_the_standby_vpc(adapter):
    cls, (run, component), _ = adapter
    standby = _standby_resources(run)
    assert standby, f"{cls.__name__} builds no standby"
    assert component.standby_connection is not None
    for reg in standby:
        i = reg.inputs
        for key in ("kmsKeyId", "performanceInsightsKmsKeyId"):
            if key in i:
                assert i[key] in (STANDBY_KEY, STANDBY_LOGS_KEY), (reg.name, key, i[key])
        assert i.get("subnetIds", STANDBY_SUBNETS[:1]) in (STANDBY_SUBNETS, STANDBY_SUBNETS[:1]), reg.name
        for key in ("vpcSecurityGroupIds", "securityGroupIds", "securityGroups"):
            if key in i:
                assert i[key] == ["sg-standby"], (reg.name, key)
        # what holds data is protected like the primary (prod-aws) and never unencrypted
        if reg.type in ("aws:rds/instance:Instance", "aws:docdb/cluster:Cluster",
                        "aws:elasticache/replicationGroup:ReplicationGroup", "aws:mq/broker:Broker",
                        "aws:docdb/clusterInstance:ClusterInstance"):
            assert reg.protect is True, reg.name
    # the subnet group, parameter group and log groups a replica needs exist in its region too
    types = {r.type for r in standby}
    assert any(t.endswith("/subnetGroup:SubnetGroup") for t in types) or cls is AmazonMqRabbitMq


def test_the_standby_changes_no_input_of_the_primary(adapter):
    """A standby switched on (or off) must not replace a primary database: every resource both runs
    register keeps its inputs; the standby adds resources and `ignore_changes` only."""
    cls, (run, _), (alone, _) = adapter
    before = {r.urn: r for r in alone.resources}
    for reg in run.resources:
        if reg.urn in before:
            assert reg.inputs == before[reg.urn].inputs, reg.name
            assert reg.protect == before[reg.urn].protect, reg.name
    assert set(before) <= {r.urn for r in run.resources}
    assert not _standby_resources(alone)


def test_standby_resources_reference_the_primary_only_through_the_cross_region_link(adapter):
    cls, (run, _), _ = adapter
    primary_names = {r.name for r in run.resources if run.provider_name(r) != "aws-secondary"}
    for reg in _standby_resources(run):
        for key, value in reg.inputs.items():
            if key in CROSS_REGION_INPUTS or key == "monitoringRoleArn":  # IAM is global
                continue
            texts = value if isinstance(value, list) else [value]
            for text in filter(lambda t: isinstance(t, str), texts):
                assert not any(text in (f"{n}-id", f"arn:aws:{reg.type.split(':')[1].split('/')[0]}:us-east-1:"
                                                     f"123456789012:{n}") for n in primary_names), (reg.name, key)


def test_rds_cross_region_read_replica():
    run, component = _run(RdsPostgres)
    replica = run.named("rdspostgres-standby")
    primary = run.named("rdspostgres-instance")
    i = replica.inputs
    assert run.provider_name(replica) == "aws-secondary"
    # a cross-region source must be the ARN; an encrypted one needs a key of the replica's region
    assert i["replicateSourceDb"] == "arn:aws:rds:us-east-1:123456789012:rdspostgres-instance"
    assert i["kmsKeyId"] == STANDBY_KEY and i["performanceInsightsKmsKeyId"] == STANDBY_KEY
    assert not [k for k in RDS_REPLICA_REFUSES if k in i]
    assert i["skipFinalSnapshot"] is True and i["deletionProtection"] is True
    group = run.named("rdspostgres-standby-subnets")
    assert i["dbSubnetGroupName"] == group.inputs["name"] and run.provider_name(group) == "aws-secondary"
    params = run.named("rdspostgres-standby-params").inputs
    assert i["parameterGroupName"] == params["name"] != primary.inputs["parameterGroupName"]
    assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"} in params["parameters"]
    logs = [r for r in run.of_type("aws:cloudwatch/logGroup:LogGroup") if run.provider_name(r) == "aws-secondary"]
    assert sorted(r.inputs["name"] for r in logs) == [
        "/aws/rds/instance/aia-prod-aws-postgres-standby/postgresql",
        "/aws/rds/instance/aia-prod-aws-postgres-standby/upgrade",
    ]
    assert all(r.inputs["kmsKeyId"] == STANDBY_LOGS_KEY and r.urn in replica.dependencies for r in logs)
    assert "replicateSourceDb" in replica.ignore_changes  # promoted: AWS refuses to re-attach it
    assert i["multiAz"] is True  # warm: as the primary
    assert component.standby_connection.env_var == "DATABASE_URL"


def test_rds_pilot_light_replica_is_single_zone():
    run, _ = _run(RdsPostgres, mode="pilotLight")
    assert run.named("rdspostgres-standby").inputs["multiAz"] is False


def test_documentdb_global_cluster_from_the_existing_cluster():
    run, component = _run(DocumentDb)
    cluster = run.named("documentdb-cluster")
    glob = run.one("aws:docdb/globalCluster:GlobalCluster")
    assert run.provider_name(glob) == "aws-primary"
    assert glob.inputs["sourceDbClusterIdentifier"] == "arn:aws:docdb:us-east-1:123456789012:documentdb-cluster"
    assert glob.inputs["deletionProtection"] is True and glob.protect is True
    assert "engine" not in glob.inputs  # conflicts with source_db_cluster_identifier
    # AWS then reports the global cluster on the primary: not a change to apply
    assert "globalClusterIdentifier" not in cluster.inputs and "globalClusterIdentifier" in cluster.ignore_changes
    secondary = run.named("documentdb-standby")
    i = secondary.inputs
    assert run.provider_name(secondary) == "aws-secondary"
    assert i["globalClusterIdentifier"] == "documentdb-global-id"
    assert "masterUsername" not in i and "masterPassword" not in i  # inherited from the global cluster
    assert i["storageEncrypted"] is True and i["kmsKeyId"] == STANDBY_KEY
    assert i["deletionProtection"] is True and i["skipFinalSnapshot"] is False
    assert "globalClusterIdentifier" in secondary.ignore_changes
    instances = [r for r in run.of_type("aws:docdb/clusterInstance:ClusterInstance")
                 if run.provider_name(r) == "aws-secondary"]
    assert len(instances) == 3 and all(r.inputs["clusterIdentifier"] == "documentdb-standby-id" for r in instances)
    pilot, _ = _run(DocumentDb, mode="pilotLight")
    assert len([r for r in pilot.of_type("aws:docdb/clusterInstance:ClusterInstance")
                if pilot.provider_name(r) == "aws-secondary"]) == 1
    assert component.standby_connection.host is not None


def test_elasticache_global_datastore_and_secondary_group():
    run, component = _run(ElastiCacheRedis)
    primary = run.named("elasticacheredis-group")
    glob = run.one("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup")
    assert glob.inputs["primaryReplicationGroupId"] == "elasticacheredis-group-id"
    assert glob.inputs["cacheNodeType"] == primary.inputs["nodeType"]
    assert "primaryReplicationGroupId" in glob.ignore_changes and "nodeType" in primary.ignore_changes
    secondary = run.named("elasticacheredis-standby")
    i = secondary.inputs
    assert i["globalReplicationGroupId"] == "ldgnf-aia-prod-aws-redis"
    assert not [k for k in ELASTICACHE_SECONDARY_REFUSES if k in i]
    assert i["kmsKeyId"] == STANDBY_KEY and i["authToken"] == "[secret]"
    # a global datastore's members have the same number of primaries; cluster mode disabled: one
    assert i["numCacheClusters"] == primary.inputs["numCacheClusters"]
    assert "globalReplicationGroupId" in secondary.ignore_changes
    assert component.standby_connection.env_var == "REDIS_URL"


def test_amazon_mq_standby_broker_is_empty_and_says_so():
    run, component = _run(AmazonMqRabbitMq)
    brokers = {r.inputs["brokerName"]: r for r in run.of_type("aws:mq/broker:Broker")}
    assert sorted(brokers) == ["aia-prod-aws-rabbitmq", "aia-prod-aws-rabbitmq-standby"]
    standby = brokers["aia-prod-aws-rabbitmq-standby"]
    assert run.provider_name(standby) == "aws-secondary"
    assert standby.inputs["deploymentMode"] == "CLUSTER_MULTI_AZ" and standby.inputs["subnetIds"] == STANDBY_SUBNETS
    assert standby.inputs["users"] == brokers["aia-prod-aws-rabbitmq"].inputs["users"]  # the same (secret) user
    # a broker cannot grow from single-instance to a cluster in place: pilot light keeps the mode
    pilot, _ = _run(AmazonMqRabbitMq, mode="pilotLight")
    same = [r for r in pilot.of_type("aws:mq/broker:Broker") if pilot.provider_name(r) == "aws-secondary"]
    assert same[0].inputs["deploymentMode"] == "CLUSTER_MULTI_AZ"
    staging, _ = _run(AmazonMqRabbitMq, overrides={"environment": "staging"})
    single = [r for r in staging.of_type("aws:mq/broker:Broker") if staging.provider_name(r) == "aws-secondary"]
    assert single[0].inputs["deploymentMode"] == "SINGLE_INSTANCE" and single[0].inputs["subnetIds"] == ["subnet-w1"]
    assert component.standby_connection.env_var == "QUEUE_CONNECTIONURL"


# --- what the global offerings refuse, before anything is registered --------------------------------


def test_a_standby_refuses_node_types_and_instance_classes_the_global_offerings_refuse():
    from tests.helpers import problem_lines

    small = {"data": {"redis": {"tier": "cache.t4g.medium"}, "mongodb": {"tier": "db.t4g.medium"}}}
    message = problem_lines("prod-aws", small)
    assert "data.redis.tier = 'cache.t4g.medium'" in message and "global datastore" in message
    assert "data.mongodb.tier = 'db.t4g.medium'" in message and "global cluster" in message
    # no standby: the tiers are fine (the RPO that off achieves is declared, or that refusal names "global")
    assert "global" not in problem_lines("prod-aws", {**small, "aws": {"standby": {"mode": "off"}}, "dr": {"rpoMinutes": 1620}})
    assert "global" not in problem_lines("prod-aws", {"data": {"redis": {"tier": "cache.m7g.large"}}})


def test_documentdb_global_clusters_are_refused_where_aws_does_not_offer_them():
    from tests.helpers import problem_lines

    message = problem_lines("prod-aws", {"regions": {"primary": "us-east-1", "secondary": "sa-east-1"}})
    assert "regions.secondary = 'sa-east-1'" in message and "DocumentDB global clusters" in message


# --- the runbook names the copies it promotes --------------------------------------------------------


def test_the_runbook_promotes_each_standby_copy_and_fails_back_without_replacing_anything():
    from components.dr.aws_runbook import DataNames, failback_steps, restore_runbook, standby_runbook
    from tests.helpers import make_context

    cfg = make_context("prod-aws").config
    names = DataNames(
        prefix="aia-prod-aws", primary="us-east-1", secondary="us-west-2", rds="aia-prod-aws-postgres",
        rds_standby="aia-prod-aws-postgres-standby", docdb="aia-prod-aws-docdb", docdb_global="aia-prod-aws-docdb-global",
        docdb_standby="aia-prod-aws-docdb-standby", redis="aia-prod-aws-redis", redis_standby="aia-prod-aws-redis-standby",
        mq="aia-prod-aws-rabbitmq", mq_standby="aia-prod-aws-rabbitmq-standby",
    )
    text = "\n".join(standby_runbook(cfg, names, "warm"))
    assert ("aws rds promote-read-replica --region us-west-2 --db-instance-identifier aia-prod-aws-postgres-standby "
            "--backup-retention-period 30") in text
    assert "aws docdb failover-global-cluster --region us-west-2 --global-cluster-identifier aia-prod-aws-docdb-global" in text
    assert "aws docdb switchover-global-cluster" in text and "remove-from-global-cluster" in text
    assert "failover-global-replication-group" in text and "--primary-replication-group-id aia-prod-aws-redis-standby" in text
    assert "replicates nothing across regions" in text and "aia-prod-aws-rabbitmq-standby" in text
    assert "restore-db-instance-to-point-in-time" not in text  # a replica is promoted, not restored
    back = "\n".join(failback_steps(cfg, names))
    assert "create-db-instance-read-replica --region us-east-1 --db-instance-identifier aia-prod-aws-postgres" in back
    assert "pulumi import aws:rds/instance:Instance postgres-instance aia-prod-aws-postgres" in back
    assert "--target-db-cluster-identifier arn:aws:rds:us-east-1:<account>:cluster:aia-prod-aws-docdb" in back
    pilot = "\n".join(standby_runbook(cfg, names, "pilotLight"))
    assert "--multi-az" in pilot and "create-db-instance --region us-west-2 --db-cluster-identifier" in pilot
    off = DataNames(prefix="aia-prod-aws", primary="us-east-1", secondary="us-west-2", rds="aia-prod-aws-postgres")
    assert not off.standby and failback_steps(cfg, off) == []
    assert "restore-db-instance-to-point-in-time" in "\n".join(restore_runbook(cfg, off))
