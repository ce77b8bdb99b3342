"""The warm standby of prod-aws in regions.secondary (issue 14): its network, app, ALB and the
failover to it, planned from the one stack; staging-aws (no secondary region) plans none."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from components.config import PROJECT, _decode, _deep_merge
from tests.helpers import make_context, plan_of
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
    (STACK, {"aws": {"standby": {"mode": "off"}}}),
])
def test_no_standby_without_a_standby_mode(stack, overrides):
    capture = planned(stack, overrides)
    assert not [r for r in capture.resources if "standby" in r.name], "a standby planned where none is asked for"
