"""The prod-aws stack end to end (one offline plan for the whole module) and its config checks."""

import json
from collections import Counter

import pytest

from tests.helpers import make_context, plan_of, problem_lines

STACK = "prod-aws"


@pytest.fixture(scope="module")
def plan():
    return plan_of(STACK)


def test_stack_contains_the_whole_platform(plan):
    assert plan.platform == "ecs"
    counts = Counter(r.type for r in plan.capture.resources if r.custom)
    expected = {
        # the primary's VPC and the warm standby's in us-west-2 (tests/aws/test_standby.py)
        "aws:ec2/vpc:Vpc": 2, "aws:ec2/subnet:Subnet": 18, "aws:ec2/natGateway:NatGateway": 6,
        "aws:ec2/flowLog:FlowLog": 2, "aws:ec2/vpcEndpoint:VpcEndpoint": 6, "aws:kms/key:Key": 8,
        # the app and its ALB, and the standby's
        "aws:ecs/cluster:Cluster": 2, "aws:ecs/taskDefinition:TaskDefinition": 8, "aws:ecs/service:Service": 8,
        "aws:appautoscaling/policy:Policy": 16, "aws:lb/loadBalancer:LoadBalancer": 2, "aws:lb/listener:Listener": 4,
        "aws:cloudfront/distribution:Distribution": 2, "aws:wafv2/webAcl:WebAcl": 1,
        # each data service and its copy in the standby (tests/aws/test_standby_stack.py)
        "aws:rds/instance:Instance": 2, "aws:elasticache/replicationGroup:ReplicationGroup": 2,
        "aws:docdb/cluster:Cluster": 2, "aws:mq/broker:Broker": 2, "aws:docdb/globalCluster:GlobalCluster": 1,
        "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": 1, "aws:backup/plan:Plan": 1,
        "aws:backup/vault:Vault": 2, "aws:backup/vaultLockConfiguration:VaultLockConfiguration": 2,
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": 1,
        "aws:budgets/budget:Budget": 2, "aws:cloudwatch/dashboard:Dashboard": 1, "aws:sns/topic:Topic": 1,
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig": 1, "pulumi:providers:aws": 3,
    }
    assert {t: counts[t] for t in expected} == expected
    # 12 (replicated to us-west-2) + the standby's 4 data connection URLs
    assert counts["aws:secretsmanager/secret:Secret"] == 16
    # two public hosts; per ALB (primary, standby): one HTTPS check per routed service + the calculated one
    assert counts["aws:route53/healthCheck:HealthCheck"] == 8
    assert counts["aws:cloudwatch/metricAlarm:MetricAlarm"] >= 30


def test_mandatory_policies_pass(plan):
    assert plan.mandatory == []


def test_stateful_resources_protected(plan):
    for reg in plan.capture.resources:
        if reg.type in ("aws:rds/instance:Instance", "aws:docdb/cluster:Cluster", "aws:mq/broker:Broker",
                        "aws:elasticache/replicationGroup:ReplicationGroup", "aws:kms/key:Key",
                        "aws:backup/vault:Vault", "aws:s3/bucket:Bucket"):
            assert reg.protect, reg.urn


def test_no_secret_value_outside_secret_markers(plan):
    document = json.dumps(plan.as_document())
    for leak in ("mock-random-", "offline-plan-placeholder", "placeholder-"):
        assert leak not in document
    task = next(r for r in plan.capture.resources if r.name == "app-api-task-definition")
    container = next(c for c in json.loads(task.inputs["containerDefinitions"]) if c["name"] == "api")
    assert {s["name"] for s in container["secrets"]} >= {"DATABASE_URL", "REDIS_URL", "MONGODB_CONNECTION_URI",
                                                        "QUEUE_CONNECTIONURL", "OPENAI_API_KEY"}
    assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"])
    versions = [r for r in plan.capture.resources if r.type == "aws:secretsmanager/secretVersion:SecretVersion"]
    assert {r.inputs["secretString"] for r in versions} == {"[secret]"}


def test_services_wait_for_their_listener_rules_and_nothing_else_is_serialised(plan):
    by_name = {r.name: r for r in plan.capture.resources}
    api = by_name["app-api-service"]
    assert by_name["alb-api-rule"].urn in api.dependencies
    # the data services do not wait for each other
    rds = by_name["postgres-instance"]
    for other in ("redis-group", "mongodb-cluster", "rabbitmq-broker"):
        assert by_name[other].urn not in rds.dependencies


def test_outputs(plan):
    out = plan.capture.outputs
    assert out["urls"] == {"frontend": "https://app.ai-assistant.example.com", "api": "https://api.ai-assistant.example.com"}
    assert out["region"] == "us-east-1" and out["secondaryRegion"] == "us-west-2"
    assert "Failover runbook" in out["failoverRunbook"]
    assert out["failover"].startswith("origin.ai-assistant.example.com: PRIMARY")
    assert out["standby"]["region"] == "us-west-2" and out["standby"]["mode"] == "warm"
    assert out["originDomain"] == "origin.ai-assistant.example.com"
    assert "CLOUDFRONT_ORIGIN_SECRET" in out["secretNames"]


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"edge": {"cdn": False}}, "edge.cdn = False"),
        ({"regions": {"primary": "local"}}, "regions.primary = 'local'"),
        ({"aws": {"cachedServices": ["worker"]}}, "aws.cachedServices = 'worker'"),
        ({"aws": {"runtimes": {"web": "nextjs"}}}, "aws.runtimes = 'web'"),
        ({"data": {"redis": {"version": "7.2"}}}, "data.redis.version = '7.2'"),
    ],
)
def test_config_aws_cannot_honour_fails_with_one_message(overrides, expected):
    assert expected in problem_lines(STACK, overrides)
