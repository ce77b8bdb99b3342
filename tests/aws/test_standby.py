"""The warm standby of prod-aws in regions.secondary (issue 14): its network, app, ALB and the
failover to it, planned from the one stack; staging-aws (no secondary region) plans none."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from components.config import PROJECT, _decode, _deep_merge
from tests.helpers import make_context, plan_of, problem_lines
from tools.harness import Capture
from tools.plan import read_stack_config, run_program

STACK = "prod-aws"
SECONDARY = "aws-secondary"


@functools.lru_cache(maxsize=None)
def _planned(stack: str, overrides_json: str) -> Capture:
    project, config, secret_keys, _ = read_stack_config(stack)
    for key, value in json.loads(overrides_json).items():
        full = f"{PROJECT}:{key}"
        merged = _deep_merge(_decode(config[full]) if full in config else {}, value)
        config = {**config, full: json.dumps(merged)}
    return run_program(project, stack, config, secret_keys)


def planned(stack: str, overrides: dict[str, Any] | None = None) -> Capture:
    """The program of `stack` with `overrides` deep-merged into its project config (no policies)."""
    if not overrides:
        return plan_of(stack).capture
    return _planned(stack, json.dumps(overrides, sort_keys=True))


def provider_of(reg) -> str:
    return reg.provider.rsplit("::", 1)[0].rsplit("::", 1)[-1] if reg.provider else ""


def standby_resources(capture: Capture, prefix: str) -> list:
    return [r for r in capture.resources if r.custom and r.name.startswith(prefix)]


# --- the network --------------------------------------------------------------------------------

def test_the_standby_network_is_a_whole_vpc_in_the_secondary_region():
    capture = planned(STACK)
    cfg = make_context(STACK).config
    network = standby_resources(capture, "network-standby-")
    assert network, "prod-aws (warm standby) plans no standby network"
    assert {provider_of(r) for r in network} == {SECONDARY}, "every standby network resource in regions.secondary"
    (vpc,) = [r for r in network if r.type == "aws:ec2/vpc:Vpc"]
    assert vpc.inputs["cidrBlock"] == cfg.aws.standby.vpc_cidr
    primary_types = sorted(r.type for r in standby_resources(capture, "network-") if not r.name.startswith("network-standby-"))
    assert sorted(r.type for r in network) == primary_types, "the standby network has what the primary's has"
    endpoints = [r.inputs["serviceName"] for r in network if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert all(f".{cfg.regions.secondary}." in e for e in endpoints), endpoints
    (group,) = [r for r in network if r.type == "aws:cloudwatch/logGroup:LogGroup"]
    assert group.inputs["kmsKeyId"].endswith(":keys-logs-secondary"), "flow logs with the secondary logs key"


@pytest.mark.parametrize("stack, overrides", [
    ("staging-aws", None),  # no secondary region
    # without a standby prod's 1 h RPO is refused (components/dr/objectives.py): declare what off achieves
    (STACK, {"aws": {"standby": {"mode": "off"}}, "dr": {"rpoMinutes": 1620}}),
])
def test_no_standby_without_a_standby_mode(stack, overrides):
    capture = planned(stack, overrides)
    assert not [r for r in capture.resources if "standby" in r.name], "a standby planned where none is asked for"


# --- the app ------------------------------------------------------------------------------------

def _by_name(capture: Capture) -> dict:
    return {r.name: r for r in capture.resources}


def test_every_service_runs_in_the_standby_behind_its_own_alb():
    capture = planned(STACK)
    cfg = make_context(STACK).config
    services = [r for r in capture.resources if r.type == "aws:ecs/service:Service" and provider_of(r) == SECONDARY]
    assert sorted(r.inputs["name"] for r in services) == sorted(cfg.enabled_services)
    (cluster,) = [r for r in capture.resources if r.type == "aws:ecs/cluster:Cluster" and provider_of(r) == SECONDARY]
    albs = [r for r in capture.resources if r.type == "aws:lb/loadBalancer:LoadBalancer" and provider_of(r) == SECONDARY]
    assert [r.name for r in albs] == ["alb-standby-alb"]
    standby_subnets = {r.name + "-id" for r in standby_resources(capture, "network-standby-public-")
                       if r.type == "aws:ec2/subnet:Subnet"}
    assert set(albs[0].inputs["subnets"]) == standby_subnets, "the standby ALB in the standby VPC's public subnets"
    groups = {r.name + "-id": r for r in capture.resources if r.type == "aws:lb/targetGroup:TargetGroup"}
    routed = {n for n, s in cfg.enabled_services.items() if s.kind == "web" and s.route is not None}
    for svc in services:
        assert svc.inputs["cluster"].endswith(f":{cluster.name}"), svc.name
        for lb in svc.inputs.get("loadBalancers") or []:
            target = next(g for g in groups.values() if lb["targetGroupArn"].endswith(f":{g.name}"))
            assert provider_of(target) == SECONDARY and target.inputs["vpcId"] == "network-standby-vpc-id"
        assert bool(svc.inputs.get("loadBalancers")) == (svc.inputs["name"] in routed), svc.name
        assert svc.inputs["networkConfiguration"]["subnets"] == [
            f"network-standby-private-{i}-id" for i in range(cfg.aws.az_count)
        ]
    listener = next(r for r in capture.resources if r.name == "alb-standby-https")
    (cert,) = [r for r in capture.resources if r.type == "aws:acm/certificate:Certificate" and provider_of(r) == SECONDARY]
    assert listener.inputs["certificateArn"].endswith(f":{cert.name}"), "the standby ALB's certificate is in its region"


def test_the_standby_tasks_read_their_secrets_and_log_in_the_secondary_region():
    capture = planned(STACK)
    region = make_context(STACK).config.regions.secondary
    by_arn_name = {r.name: r for r in capture.resources if r.type == "aws:secretsmanager/secret:Secret"}
    tasks = [r for r in capture.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition" and provider_of(r) == SECONDARY]
    assert tasks
    for task in tasks:
        for container in json.loads(task.inputs["containerDefinitions"]):
            assert container["logConfiguration"]["options"]["awslogs-region"] == region
            for secret in container.get("secrets", []):
                # mocks give every ARN the region us-east-1: a secret of the secondary provider, or the
                # primary's secret read through its replica (the ARN with the region swapped)
                arn = secret["valueFrom"]
                source = by_arn_name[arn.rsplit(":", 1)[-1]]
                replica = arn.startswith(f"arn:aws:secretsmanager:{region}:")
                assert replica or provider_of(source) == SECONDARY, (task.name, secret)
                if secret["name"] in ("DATABASE_URL", "REDIS_URL", "MONGODB_CONNECTION_URI", "QUEUE_CONNECTIONURL"):
                    assert not replica and source.inputs["name"].startswith("aia-prod-aws/standby/"), secret
                else:
                    assert replica and source.inputs["replicas"][0]["region"] == region, secret
    policies = [r for r in capture.resources if r.name.startswith("app-standby-") and r.name.endswith("-execution-policy")]
    for grant in policies:
        statements = {s["Sid"]: s for s in json.loads(grant.inputs["policy"])["Statement"]}
        if "DecryptSecrets" in statements:
            assert statements["DecryptSecrets"]["Condition"]["StringEquals"]["kms:ViaService"] == (
                f"secretsmanager.{region}.amazonaws.com"
            )
            assert statements["DecryptSecrets"]["Resource"].endswith(":keys-secrets-secondary")


@pytest.mark.parametrize("mode, tasks", [("warm", 1), ("pilotLight", 0)])
def test_the_standby_floor_is_min_tasks_when_warm_and_zero_in_pilot_light(mode, tasks):
    capture = planned(STACK, {"aws": {"standby": {"mode": mode}}})
    cfg = make_context(STACK).config
    by_name = _by_name(capture)
    for name, svc in cfg.enabled_services.items():
        service = by_name[f"app-standby-{name}-service"].inputs
        scaling = by_name[f"app-standby-{name}-scaling"].inputs
        assert service["desiredCount"] == scaling["minCapacity"] == tasks, name
        assert scaling["maxCapacity"] == svc.max_replicas
        assert service["tags"]["dr-role"] == "standby"
        assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        # the primary keeps the config's floor
        assert by_name[f"app-{name}-scaling"].inputs["minCapacity"] == svc.min_replicas


def test_both_albs_check_one_origin_secret():
    capture = planned(STACK)
    by_name = _by_name(capture)
    passwords = [r for r in capture.resources if r.type == "random:index/randomPassword:RandomPassword"
                 and "origin-secret" in r.name]
    assert [r.name for r in passwords] == ["alb-origin-secret"], "one origin secret for both ALBs"
    for alb in ("alb", "alb-standby"):
        rules = [r for r in capture.resources if r.type == "aws:lb/listenerRule:ListenerRule"
                 and r.name.startswith(f"{alb}-") and r.name.endswith("-rule") and "health" not in r.name]
        assert rules and all(by_name["alb-origin-secret"].urn in r.dependencies for r in rules), alb
        assert all(any(c.get("httpHeader", {}).get("httpHeaderName") == "X-Origin-Verify" for c in r.inputs["conditions"])
                   for r in rules)


# --- failover -----------------------------------------------------------------------------------

def _checks(capture: Capture) -> dict:
    return {f"{r.name}-id": r for r in capture.resources if r.type == "aws:route53/healthCheck:HealthCheck"}


def test_the_origin_fails_over_to_the_standby_alb_on_https_checks_at_30_s_x_3():
    capture = planned(STACK)
    cfg = make_context(STACK).config
    checks = _checks(capture)
    records = {r.inputs["setIdentifier"]: r.inputs for r in capture.resources if r.type == "aws:route53/record:Record"
               and r.inputs.get("setIdentifier")}
    assert sorted(records) == ["primary", "secondary"]
    targets = {"primary": "alb-alb.", "secondary": "alb-standby-alb."}
    routed = {n for n, s in cfg.enabled_services.items() if s.kind == "web" and s.route is not None}
    for role, record in records.items():
        assert record["name"] == f"origin.{cfg.domain}" and record["failoverRoutingPolicies"] == [{"type": role.upper()}]
        assert record["records"][0].startswith(targets[role])
        combined = checks[record["healthCheckId"]].inputs
        assert combined["type"] == "CALCULATED" and combined["childHealthThreshold"] == len(routed)
        children = [checks[c].inputs for c in combined["childHealthchecks"]]
        assert len(children) == len(routed)
        for child in children:
            # directly on this record's ALB, not on a CloudWatch alarm (minutes of periods)
            assert child["type"] == "HTTPS" and child["fqdn"] == record["records"][0] and child["port"] == 443
            assert (child["requestInterval"], child["failureThreshold"]) == (30, 3)
    assert not [c for c in checks.values() if c.inputs["type"] == "CLOUDWATCH_METRIC"], "the slow alarm path is gone"


def test_every_origin_health_check_reaches_its_service_without_the_origin_secret():
    """Route 53 sends no custom header: the ALB must answer the check's host and path with the
    service's own target group, from a rule without the origin-secret condition."""
    capture = planned(STACK)
    rules = [r for r in capture.resources if r.type == "aws:lb/listenerRule:ListenerRule"]
    groups = {r.name: r for r in capture.resources if r.type == "aws:lb/targetGroup:TargetGroup"}
    origin_checks = [c for c in _checks(capture).values() if c.inputs["type"] == "HTTPS" and c.name.startswith("dr-")]
    assert len(origin_checks) == 4
    for check in origin_checks:
        fqdn, path = check.inputs["fqdn"], check.inputs["resourcePath"]
        alb = fqdn.split(".", 1)[0]  # mocks: <resource name>.<region>.elb.amazonaws.com
        matching = [
            r for r in rules
            if r.inputs["listenerArn"].endswith(f":{alb.removesuffix('-alb')}-https")
            and any(c.get("hostHeader", {}).get("values") == [fqdn] for c in r.inputs["conditions"])
            and any(path in c.get("pathPattern", {}).get("values", []) for c in r.inputs["conditions"])
        ]
        assert len(matching) == 1, (check.name, [r.name for r in matching])
        (rule,) = matching
        assert not any("httpHeader" in c for c in rule.inputs["conditions"]), rule.name
        (action,) = rule.inputs["actions"]
        group = groups[action["targetGroupArn"].rsplit(":", 1)[-1]]
        assert group.inputs["healthCheck"]["path"] == path, "the check asks what the target group's health check asks"


@pytest.mark.parametrize("overrides, expected", [
    ({"dr": {"healthCheckIntervalSeconds": 20}}, "dr.healthCheckIntervalSeconds = 20"),
    ({"dr": {"healthCheckIntervalSeconds": 60}}, "dr.healthCheckIntervalSeconds = 60"),
    ({"aws": {"hostedZoneId": None}}, "aws.standby.mode = 'warm'"),
    ({"aws": {"standby": {"minTasks": 6}}}, "aws.standby.minTasks = 6"),
])
def test_what_the_failover_cannot_honour_fails_with_one_message(overrides, expected):
    assert expected in problem_lines(STACK, overrides)


@pytest.mark.parametrize("interval", [10, 30])
def test_the_intervals_route_53_offers_pass(interval):
    assert "healthCheckIntervalSeconds" not in problem_lines(STACK, {"dr": {"healthCheckIntervalSeconds": interval}})


def test_the_retired_secondary_origin_domain_is_an_unknown_key():
    with pytest.raises(Exception, match="secondaryOriginDomain"):
        make_context(STACK, {"aws": {"secondaryOriginDomain": "origin-dr.ai-assistant.example.com"}})
