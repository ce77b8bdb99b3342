"""The security groups of every ECS stack, evaluated as AWS does (tests/aws/security_group_model.py):
every flow the platform needs passes, nothing else does, and no group or network interface
exceeds AWS's default quotas. tests/test_scale.py applies the same checks to a stack with 40 more
services."""

from __future__ import annotations

import pytest

from tests.aws.security_group_model import needed_flows, quota_problems, security_groups_of
from tests.gcp.test_api_order import stacks_of
from tests.helpers import make_context, plan_of

ECS_STACKS = stacks_of("ecs")


def flow_differences(cfg, resources) -> tuple[list[str], list[str]]:
    """(needed but blocked, open but not needed), each sorted and printable."""
    model = security_groups_of(resources)
    needed = needed_flows(cfg, resources)
    opened = model.open_flows()
    blocked = sorted(f"{s} -> {t}:{p}" for s, t, p in needed if not model.allows(model.endpoint(s), model.endpoint(t), p))
    extra = sorted(f"{s} -> {t}:{p}" for s, t, p in opened - needed)
    return blocked, extra


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_every_needed_flow_passes_and_nothing_else(stack):
    plan = plan_of(stack)
    blocked, extra = flow_differences(make_context(stack).config, plan.capture.resources)
    assert blocked == [], "needed but blocked by the security groups:\n" + "\n".join(blocked)
    assert extra == [], "open but not needed:\n" + "\n".join(extra)


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_security_groups_stay_inside_the_default_quotas(stack):
    assert quota_problems(security_groups_of(plan_of(stack).capture.resources)) == []


def test_the_ecs_stacks_are_found():
    assert "prod-aws" in ECS_STACKS
