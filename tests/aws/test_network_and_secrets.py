"""Network, KMS keys and the Secrets Manager store, each built alone."""

import ipaddress

import pulumi
import pytest

from components.network.aws import AwsNetwork, AwsNetworkArgs, subnet_cidrs
from components.secrets.aws import AwsKeys, AwsKeysArgs, AwsSecretStore, AwsSecretStoreArgs
from tests.aws.helpers import ACCOUNT, assert_explicit_providers, on_primary, policy, run_aws
from tests.helpers import dig

LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/logs"


def _network(context, providers):
    return AwsNetwork("network", AwsNetworkArgs(context, ACCOUNT, LOGS_KEY), opts=on_primary(providers))


@pytest.fixture(scope="module")
def network():
    return run_aws(_network)


def test_subnets_three_tiers_over_three_zones(network):
    subnets = network.of_type("aws:ec2/subnet:Subnet")
    tiers = {}
    for s in subnets:
        tiers.setdefault(s.inputs["tags"]["tier"], []).append(s.inputs)
    assert sorted(tiers) == ["isolated", "private", "public"]
    for tier, items in tiers.items():
        assert len({i["availabilityZone"] for i in items}) == 3, tier
        assert all(i["mapPublicIpOnLaunch"] is False for i in items)
    nets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in subnets]
    assert all(a == b or not a.overlaps(b) for a in nets for b in nets)
    assert all(n.subnet_of(ipaddress.ip_network("10.30.0.0/16")) for n in nets)


def test_only_public_subnets_reach_the_internet_gateway_and_isolated_have_no_route_out(network):
    routes = network.of_type("aws:ec2/route:Route")
    to_igw = [r for r in routes if "gatewayId" in r.inputs]
    assert [r.inputs["routeTableId"] for r in to_igw] == ["network-public-rt-id"]
    via_nat = [r for r in routes if "natGatewayId" in r.inputs]
    assert len(via_nat) == 3
    assert not [r for r in routes if "isolated" in r.inputs["routeTableId"]]


def test_nat_gateway_per_zone_in_prod_one_elsewhere(network):
    assert len(network.of_type("aws:ec2/natGateway:NatGateway")) == 3
    staging = run_aws(_network, overrides={"environment": "staging"})
    assert len(staging.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert {r.inputs["natGatewayId"] for r in staging.of_type("aws:ec2/route:Route") if "natGatewayId" in r.inputs} == {
        "network-nat-0-id"
    }


def test_flow_logs_all_traffic_to_encrypted_log_group(network):
    flow = network.one("aws:ec2/flowLog:FlowLog").inputs
    assert flow["trafficType"] == "ALL" and flow["logDestinationType"] == "cloud-watch-logs"
    group = network.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert group["kmsKeyId"] == LOGS_KEY and group["retentionInDays"] == 365
    trust = policy(network.one("aws:iam/role:Role"), "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


def _endpoints(run):
    return {r.inputs["serviceName"].removeprefix("com.amazonaws.us-east-1."): r.inputs
            for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}


def test_vpc_endpoints(network):
    endpoints = _endpoints(network)
    # prod-aws pulls from ghcr.io and ECR Public: no ECR endpoints to pay for
    assert sorted(endpoints) == ["logs", "s3", "secretsmanager"]
    for service in ("secretsmanager", "logs"):
        ep = endpoints[service]
        assert ep["vpcEndpointType"] == "Interface" and ep["privateDnsEnabled"] is True
        assert ep["securityGroupIds"] == ["network-sg-endpoints-id"]
    s3 = endpoints["s3"]
    assert s3["vpcEndpointType"] == "Gateway" and len(s3["routeTableIds"]) == 3


def test_ecr_endpoints_only_for_images_in_the_regions_ecr():
    local = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/api:1.2.3"
    with_ecr = _endpoints(run_aws(_network, overrides={"services": {"api": {"image": local}}}))
    assert {"ecr.api", "ecr.dkr"} <= set(with_ecr)
    assert with_ecr["ecr.dkr"]["vpcEndpointType"] == "Interface"
    elsewhere = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api:1.2.3"
    assert "ecr.dkr" not in _endpoints(run_aws(_network, overrides={"services": {"api": {"image": elsewhere}}}))


def test_security_groups_allow_only_platform_flows(network):
    ingress = [r.inputs for r in network.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    egress = [r.inputs for r in network.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]
    # nothing is open to the internet; the ALB takes 443 from CloudFront's prefix list only
    assert not [r for r in ingress if "cidrIpv4" in r or "cidrIpv6" in r]
    alb_in = [r for r in ingress if r["securityGroupId"] == "network-sg-alb-id"]
    assert alb_in == [dict(alb_in[0], prefixListId="pl-3b927c52", fromPort=443, toPort=443)]
    # data services accept only their port, from the tasks' shared group; only the users' own
    # groups let them out to it (tests/aws/test_security_group_flows.py evaluates both sides)
    postgres_in = [r for r in ingress if r["securityGroupId"] == "network-sg-data-postgres-id"]
    assert {r["referencedSecurityGroupId"] for r in postgres_in} == {"network-sg-tasks-id"}
    assert {(r["fromPort"], r["toPort"]) for r in postgres_in} == {(5432, 5432)}
    to_postgres = {r["securityGroupId"] for r in egress if r.get("referencedSecurityGroupId") == "network-sg-data-postgres-id"}
    assert to_postgres == {"network-sg-svc-api-id", "network-sg-svc-mcp-id", "network-sg-svc-worker-id"}
    # the frontend uses only redis: no path to postgres, mongodb or rabbitmq
    frontend_out = {(r.get("referencedSecurityGroupId"), r["fromPort"]) for r in egress
                    if r["securityGroupId"] == "network-sg-svc-frontend-id"}
    assert frontend_out == {("network-sg-data-redis-id", 6379)}
    # the MCP server (no route) is reachable only from the tasks, not from the ALB
    mcp_in = {r["referencedSecurityGroupId"] for r in ingress if r["securityGroupId"] == "network-sg-svc-mcp-id"}
    assert mcp_in == {"network-sg-tasks-id"}
    # data security groups have no egress at all
    assert not [r for r in egress if "data-" in r["securityGroupId"]]
    default = network.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs
    assert not default.get("ingress") and not default.get("egress")


def test_network_resources_tagged_and_on_the_primary_provider(network):
    assert_explicit_providers(network)
    for r in network.resources:
        if r.custom and "tags" in r.inputs:
            assert r.inputs["tags"]["app"] == "ai-assistant-platform"
    assert network.one("aws:ec2/vpc:Vpc").inputs["tags"]["environment"] == "prod"


def test_subnet_cidrs_cut_from_the_vpc():
    cidrs = subnet_cidrs("10.30.0.0/16", 3)
    assert cidrs["private"] == ["10.30.0.0/20", "10.30.16.0/20", "10.30.32.0/20"]
    assert cidrs["public"][0] == "10.30.128.0/20"


# --- keys and secrets ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return run_aws(
        lambda c, p: AwsKeys(
            "keys", AwsKeysArgs(c, ACCOUNT, secondary_provider=p.secondary, global_provider=p.us_east_1),
            opts=on_primary(p),
        )
    )


def test_customer_managed_keys_rotate_and_are_protected(keys):
    created = keys.of_type("aws:kms/key:Key")
    # data, secrets, logs, backup + in us-west-2 backup, secrets and (prod's warm standby) data, logs
    assert len(created) == 8
    for key in created:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
        assert key.protect is True
    secondary = {k.name for k in created if keys.provider_name(k) == "aws-secondary"}
    assert secondary == {"keys-backup-secondary", "keys-secrets-secondary", "keys-data-secondary", "keys-logs-secondary"}
    assert_explicit_providers(keys)


def test_logs_key_lets_only_this_accounts_log_groups_and_alarms_use_it(keys):
    doc = policy(keys.named("keys-logs"))
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["CloudWatchLogs"]["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert ACCOUNT in str(by_sid["CloudWatchLogs"]["Condition"])
    assert by_sid["AlarmAndBudgetNotifications"]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    data = policy(keys.named("keys-data"))
    assert [s["Sid"] for s in data["Statement"]] == ["AccountAdministration"]


def test_secret_store_encrypts_replicates_and_never_shows_values():
    holder = {}

    def build(context, providers):
        values = {"DATABASE_URL": pulumi.Output.secret("postgresql://u:s3cr3t-value@h/db"), "JWT_SECRET_KEY": "s3cr3t-jwt"}
        holder["store"] = AwsSecretStore(
            "secrets",
            AwsSecretStoreArgs(context, values, kms_key_arn="arn:key/secrets", replica_kms_key_arn="arn:key/replica"),
            opts=on_primary(providers),
        )

    run = run_aws(build)
    secrets = {r.inputs["name"]: r.inputs for r in run.of_type("aws:secretsmanager/secret:Secret")}
    assert sorted(secrets) == ["aia-prod-aws/database-url", "aia-prod-aws/jwt-secret-key"]
    for s in secrets.values():
        assert s["kmsKeyId"] == "arn:key/secrets"
        assert s["replicas"] == [{"region": "us-west-2", "kmsKeyId": "arn:key/replica"}]
        assert s["recoveryWindowInDays"] == 30
    versions = run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert [v.inputs["secretString"] for v in versions] == ["[secret]", "[secret]"]
    assert sorted(holder["store"].versions) == ["DATABASE_URL", "JWT_SECRET_KEY"]
    # outside prod a destroyed stack can be rebuilt at once: the names are not reserved for 30 days
    staging = run_aws(build, overrides={"environment": "staging"})
    assert {r.inputs["recoveryWindowInDays"] for r in staging.of_type("aws:secretsmanager/secret:Secret")} == {0}
    assert "s3cr3t" not in str([r.inputs for r in run.resources])
