"""The data plane's standby copies in the planned AWS stacks (issue 14): where they run, what they
reference, what they leave alone, and that the recovery points the program states match what it plans.

Rules applied to every resource of the kind in every `ecs` stack (and the standby modes):
- a data-plane resource (RDS, DocumentDB, ElastiCache, Amazon MQ, their subnet, parameter and log
  groups) references only resources of its own region -- a KMS key, a subnet group, a security group
  or a subnet of another region is refused by AWS -- except through the cross-region link itself;
- every standby copy runs in regions.secondary, in the standby VPC's isolated subnets, encrypted with
  the secondary `data` key, protected;
- switching the standby on changes no input of a primary data resource (no replacement);
- the cross-region recovery point the program states (components/data/aws.py CROSS_REGION_RECOVERY,
  read by the `dr` output) is seconds exactly when a continuous copy is planned."""

from __future__ import annotations

import functools
from typing import Any, Optional

import pytest

from components.config import PROJECT
from components.data.aws import cross_region_recovery
from components.data.registry import REGISTRY
from components.platforms.aws_settings import standby_mode
from tests.helpers import make_context, plan_of
from tools.harness import Capture, Registration, run_mocked
from tools.plan import available_stacks

ECS_STACKS = [s for s in available_stacks() if make_context(s).config.platform == "ecs"]
DATA_PREFIXES = ("aws:rds/", "aws:docdb/", "aws:elasticache/", "aws:mq/")
COPY_TYPES = ("aws:rds/instance:Instance", "aws:docdb/cluster:Cluster", "aws:docdb/clusterInstance:ClusterInstance",
              "aws:elasticache/replicationGroup:ReplicationGroup", "aws:mq/broker:Broker")
# the inputs that name the other region on purpose: the replication link
CROSS_REGION_INPUTS = {"replicateSourceDb", "sourceDbInstanceArn", "sourceDbClusterIdentifier",
                       "primaryReplicationGroupId", "globalClusterIdentifier", "globalReplicationGroupId"}
# inputs that carry a group's *name* (mocks echo names), per referenced type
NAMED = {"dbSubnetGroupName": "subnetGroup:SubnetGroup", "subnetGroupName": "subnetGroup:SubnetGroup",
         "parameterGroupName": "parameterGroup:ParameterGroup",
         "dbClusterParameterGroupName": "clusterParameterGroup:ClusterParameterGroup"}


def provider(reg: Registration) -> str:
    return reg.provider.rsplit("::", 1)[0].rsplit("::", 1)[-1] if reg.provider else ""


def _referenced(value: str, key: str, reg: Registration, regs: list[Registration]) -> list[Registration]:
    """The registrations a string input points at (mock ids are '<name>-id', ARNs end in ':<name>')."""
    found = [r for r in regs if r.custom and (value == f"{r.name}-id" or (value.startswith("arn:aws:")
                                                                             and value.endswith(f":{r.name}")))]
    if key in NAMED:
        family = reg.type.split(":")[1].split("/")[0]
        found += [r for r in regs if r.type == f"aws:{family}/{NAMED[key]}" and r.inputs.get("name") == value]
    return found


def region_of(reg: Registration, regs: list[Registration]) -> str:
    """The region of the explicit provider `reg` was registered with (two providers may share one)."""
    urn = reg.provider.rsplit("::", 1)[0]
    found = [r.inputs.get("region") for r in regs if r.urn == urn]
    return found[0] if found else provider(reg)


def cross_region_references(regs: list[Registration]) -> list[str]:
    problems = []
    for reg in regs:
        if not (reg.custom and (reg.type.startswith(DATA_PREFIXES) or reg.type == "aws:cloudwatch/logGroup:LogGroup")):
            continue
        for key, value in reg.inputs.items():
            if key in CROSS_REGION_INPUTS:
                continue
            for text in (value if isinstance(value, list) else [value]):
                if not isinstance(text, str):
                    continue
                for target in _referenced(text, key, reg, regs):
                    here, there = region_of(reg, regs), region_of(target, regs)
                    if not target.type.startswith("aws:iam/") and here != there:
                        problems.append(f"{reg.name}.{key} -> {target.name} ({here} vs {there})")
    return problems


@functools.lru_cache(maxsize=None)
def planned(stack: str, mode: Optional[str] = None) -> Capture:
    """The program of `stack` with aws.standby.mode `mode` (None: the stack file's), under mocks."""
    from components.platform import build_platform

    overrides = {"aws": {"standby": {"mode": mode}}} if mode else None

    def program() -> None:
        build_platform(make_context(stack, overrides))

    return run_mocked(program, project=PROJECT, stack=stack)


VARIANTS = [(s, None) for s in ECS_STACKS] + [("prod-aws", "pilotLight"), ("prod-aws", "off")]


def resources_of(stack: str, mode: Optional[str]) -> list[Registration]:
    return plan_of(stack).capture.resources if mode is None else planned(stack, mode).resources


@pytest.mark.parametrize("stack, mode", VARIANTS)
def test_every_data_resource_references_only_its_own_region(stack, mode):
    assert cross_region_references(resources_of(stack, mode)) == []


def test_the_region_rule_sees_a_key_of_the_other_region():
    def reg(name, type_, prov, **inputs):
        return Registration(urn=f"urn:{name}", type=type_, name=name, parent=None, custom=True, protect=False,
                            dependencies=[], inputs=inputs, provider=f"urn:pulumi:s::p::pulumi:providers:aws::{prov}::id")

    providers = [
        Registration(urn=f"urn:pulumi:s::p::pulumi:providers:aws::{name}", type="pulumi:providers:aws", name=name,
                     parent=None, custom=True, protect=False, dependencies=[], inputs={"region": region})
        for name, region in (("aws-primary", "us-east-1"), ("aws-secondary", "us-west-2"), ("aws-us-east-1", "us-east-1"))
    ]
    key = reg("keys-data", "aws:kms/key:Key", "aws-primary")
    replica = reg("pg-standby", "aws:rds/instance:Instance", "aws-secondary",
                  kmsKeyId="arn:aws:kms:us-east-1:1:keys-data", replicateSourceDb="arn:aws:rds:us-east-1:1:pg-instance")
    assert cross_region_references([*providers, key, replica]) == ["pg-standby.kmsKeyId -> keys-data (us-west-2 vs us-east-1)"]
    # another provider object of the same region is the same region
    logs = reg("waf-logs", "aws:cloudwatch/logGroup:LogGroup", "aws-us-east-1", kmsKeyId="arn:aws:kms:us-east-1:1:keys-data")
    assert cross_region_references([*providers, key, logs]) == []


def _standby_copies(regs: list[Registration]) -> list[Registration]:
    return [r for r in regs if r.custom and r.type in COPY_TYPES and provider(r) == "aws-secondary"]


def _by_name(regs: list[Registration]) -> dict[str, Registration]:
    return {r.name: r for r in regs}


@pytest.mark.parametrize("mode", [None, "pilotLight"])
def test_prod_aws_plans_every_copy_in_the_standby_vpc_with_the_secondary_data_key(mode):
    regs = resources_of("prod-aws", mode)
    names = _by_name(regs)
    cfg = make_context("prod-aws").config
    copies = _standby_copies(regs)
    kinds = {r.type for r in copies}
    assert kinds == set(COPY_TYPES), kinds
    assert {r.inputs.get("replicateSourceDb") is not None for r in copies if r.type == COPY_TYPES[0]} == {True}
    data_key = "arn:aws:kms:us-east-1:123456789012:keys-data-secondary"  # mock ARNs name the key
    assert provider(names["keys-data-secondary"]) == "aws-secondary"
    standby_vpcs = [r for r in regs if r.type == "aws:ec2/vpc:Vpc" and provider(r) == "aws-secondary"]
    assert [v.inputs["cidrBlock"] for v in standby_vpcs] == [cfg.aws.standby.vpc_cidr]
    for copy in copies:
        assert copy.protect is True, copy.name
        if "kmsKeyId" in copy.inputs:
            assert copy.inputs["kmsKeyId"] == data_key, copy.name
        group = copy.inputs.get("dbSubnetGroupName") or copy.inputs.get("subnetGroupName")
        if copy.type == "aws:docdb/clusterInstance:ClusterInstance":
            continue
        if group is not None:
            subnet_groups = [r for r in regs if r.type.endswith("/subnetGroup:SubnetGroup") and r.inputs.get("name") == group]
            subnet_ids = subnet_groups[0].inputs["subnetIds"]
        else:
            subnet_ids = copy.inputs["subnetIds"]
        for subnet_id in subnet_ids:
            subnet = names[subnet_id.removesuffix("-id")]
            assert provider(subnet) == "aws-secondary" and subnet.inputs["vpcId"] == f"{standby_vpcs[0].name}-id"
            # isolated: the route table it is associated with has no route out of the VPC
            assert "isolated" in subnet.name, subnet.name


@pytest.mark.parametrize("stack", [s for s in ECS_STACKS if standby_mode(make_context(s).config) == "off"])
def test_a_stack_without_a_standby_plans_no_copy(stack):
    regs = resources_of(stack, None)
    assert _standby_copies(regs) == []
    assert not [r for r in regs if r.type in ("aws:docdb/globalCluster:GlobalCluster",
                                              "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup")]


def test_prod_aws_off_plans_no_copy_and_keeps_the_replicated_backups():
    regs = resources_of("prod-aws", "off")
    assert _standby_copies(regs) == []
    assert [r for r in regs if r.type == "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"]


def test_switching_the_standby_on_changes_no_input_of_a_primary_data_resource():
    """Every data-plane resource of the primary region keeps its inputs (so nothing is replaced) when
    the standby goes from off to warm; the standby only adds resources (and `ignore_changes`)."""
    off = {r.urn: r for r in resources_of("prod-aws", "off") if r.custom and r.type.startswith(DATA_PREFIXES)}
    warm = {r.urn: r for r in resources_of("prod-aws", None)}
    assert off
    for urn, before in off.items():
        assert urn in warm, urn
        assert warm[urn].inputs == before.inputs, before.name


@pytest.mark.parametrize("stack, mode", VARIANTS)
def test_the_stated_cross_region_recovery_point_matches_what_is_planned(stack, mode):
    """Seconds (a continuous copy) for every durable service exactly when its copy is planned; the
    figures are what the `dr` output reads (CROSS_REGION_RECOVERY)."""
    overrides = {"aws": {"standby": {"mode": mode}}} if mode else None
    cfg = make_context(stack, overrides).config
    regs = resources_of(stack, mode)
    copied = {r.parent.rsplit("::", 1)[-1] for r in _standby_copies(regs) if r.parent}
    for name in cfg.data.enabled():
        if not REGISTRY[name].durable:
            continue
        figure = cross_region_recovery(cfg, name)
        if figure is None:
            assert not cfg.regions.secondary
            continue
        host = REGISTRY[name].backends["ecs"].hosted_on or name
        assert (figure[1] <= 60) == (host in copied), (name, figure, sorted(copied))
    if standby_mode(cfg) != "off":
        assert cross_region_recovery(cfg, "postgres")[1] <= 60 and cross_region_recovery(cfg, "mongodb")[1] <= 60


def test_the_runbook_output_names_the_copies_it_promotes():
    runbook = plan_of("prod-aws").capture.outputs["failoverRunbook"]
    assert "promote-read-replica --region us-west-2 --db-instance-identifier aia-prod-aws-postgres-standby" in runbook
    assert "failover-global-cluster --region us-west-2 --global-cluster-identifier aia-prod-aws-docdb-global" in runbook
    assert "aia-prod-aws-redis-standby" in runbook and "aia-prod-aws-rabbitmq-standby" in runbook
    outputs: dict[str, Any] = plan_of("prod-aws").capture.outputs
    assert set(outputs["standbyDataEndpoints"]) == {"postgres", "redis", "mongodb", "rabbitmq"}
