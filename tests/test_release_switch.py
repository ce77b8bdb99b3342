"""Day 2: switching an existing service's release strategy (rolling <-> canary <-> blueGreen) must
reach the cloud in one `pulumi up`.

Pulumi's `ignore_changes` keeps the *old* inputs under an ignored path (and drops a new value the
old inputs do not have): a path that a release owns at run time (ECS: the service's load balancers
and the listener rule's weights; Cloud Run: the traffic split) must therefore have the same shape
in every strategy, or the switch that turns the ignore on never sends what the new strategy needs.
The rule, for every stack and every switch between strategies: plan before and after, and the
inputs the update would send (old inputs for ignored paths, new ones for the rest,
tests/ignore_changes.py) are exactly the program's new inputs."""

from __future__ import annotations

import functools

import pytest

from components.platform import build_platform
from tests.helpers import make_context, plan_of, problems_of
from tests.ignore_changes import sent_inputs, swallowed
from tools.harness import Registration, run_mocked
from tools.plan import available_stacks, read_stack_config

STRATEGIES = ("rolling", "canary", "blueGreen")
SERVICE = "aws:ecs/service:Service"
RULE = "aws:lb/listenerRule:ListenerRule"


def _routed(stack: str) -> list[str]:
    config = make_context(stack).config
    return [n for n, s in config.enabled_services.items() if s.kind == "web" and s.route is not None]


def _overrides(stack: str, strategy: str) -> dict:
    return {"services": {n: {"release": {"strategy": strategy}} for n in _routed(stack)}}


def shipped_strategy(stack: str) -> str:
    """The one strategy of the stack's routed services (the defaults give one per environment)."""
    config = make_context(stack).config
    found = {config.enabled_services[n].release.strategy for n in _routed(stack)}
    assert len(found) == 1, f"{stack}: routed services with different strategies {found}"
    return found.pop()


def _strategies(stack: str) -> tuple[str, ...]:
    """The shipped strategy and the ones a switch goes to: every strategy on ecs (each maps to its
    own ECS strategy and traffic shape), one other elsewhere (rolling <-> the shipped one turns the
    release-owned ignores on and off: Cloud Run's traffic, the Deployment's replicas), to keep the
    plans few (each is a whole stack under mocks)."""
    shipped = shipped_strategy(stack)
    if make_context(stack).config.platform == "ecs":
        return (shipped, *(s for s in STRATEGIES if s != shipped))
    return (shipped, "rolling" if shipped != "rolling" else "canary")


def _switches(stack: str) -> list[tuple[str, str, str]]:
    found = _strategies(stack)
    return [(stack, a, b) for a in found for b in found if a != b]


SWITCHES = [switch for stack in available_stacks() for switch in _switches(stack)]


@functools.lru_cache(maxsize=None)
def plan_with(stack: str, strategy: str) -> list[Registration]:
    """The resources of the whole stack under mocks with every routed web service released
    `strategy` (the shipped strategy: the cached offline plan)."""
    if strategy == shipped_strategy(stack):
        return plan_of(stack).capture.resources
    project, config, secret_keys, _ = read_stack_config(stack)
    overrides = _overrides(stack, strategy)
    return run_mocked(lambda: build_platform(make_context(stack, overrides)), project=project, stack=stack,
                      config=config, secret_keys=secret_keys).resources


@pytest.mark.parametrize("stack,strategy", sorted({(s, b) for s, _, b in SWITCHES}))
def test_every_switch_is_a_config_the_stack_accepts(stack, strategy):
    """So that the switches below are real ones, and a refused strategy shows here, not as a skip."""
    assert not problems_of(stack, _overrides(stack, strategy)), (stack, strategy)


@pytest.mark.parametrize("stack,before,after", SWITCHES)
def test_a_strategy_switch_sends_everything_the_new_strategy_needs(stack, before, after):
    old = {r.urn: r for r in plan_with(stack, before)}
    lost = []
    for new in plan_with(stack, after):
        if new.urn in old and new.ignore_changes:
            for path in swallowed(old[new.urn].inputs, new.inputs, new.ignore_changes):
                lost.append(f"{new.name}: {path}")
    assert not lost, f"{stack} {before} -> {after}: the update would keep the old value of {lost}"


def _sent(stack: str, before: str, after: str, type_token: str) -> dict[str, dict]:
    old = {r.urn: r for r in plan_with(stack, before)}
    return {
        r.name: sent_inputs(old[r.urn].inputs, r.inputs, r.ignore_changes)
        for r in plan_with(stack, after)
        if r.type == type_token and r.urn in old
    }


ECS_SWITCHES = [switch for switch in SWITCHES if make_context(switch[0]).config.platform == "ecs"]
assert len(ECS_SWITCHES) >= 12, ECS_SWITCHES  # prod-aws, staging-aws: every switch


@pytest.mark.parametrize("stack,before,after", ECS_SWITCHES)
def test_ecs_receives_the_traffic_shift_of_the_new_strategy(stack, before, after):
    """What ECS needs for a canary/blue-green release, in the update that switches to it: the
    strategy, the alternate target group, the production listener rule and the role (in the
    service's `advancedConfiguration`), and a rule that forwards to both groups."""
    services = _sent(stack, before, after, SERVICE)
    rules = _sent(stack, before, after, RULE)
    for name in _routed(stack):
        service = services[f"app-{name}-service"]
        expected = {"rolling": "ROLLING", "blueGreen": "BLUE_GREEN"}.get(after)
        strategy = service["deploymentConfiguration"]["strategy"]
        assert strategy == expected if expected else strategy in ("CANARY", "LINEAR"), (name, strategy)
        advanced = service["loadBalancers"][0].get("advancedConfiguration") or {}
        assert {"alternateTargetGroupArn", "productionListenerRule", "roleArn"} <= set(advanced), (name, advanced)
        forward = rules[f"alb-{name}-rule"]["actions"][0].get("forward", {}).get("targetGroups", [])
        assert sorted(g["arn"] for g in forward) == sorted(
            [service["loadBalancers"][0]["targetGroupArn"], advanced["alternateTargetGroupArn"]]
        ), name


def test_the_engine_rule_keeps_old_values_and_drops_values_the_old_inputs_lack():
    old = {"a": {"x": 1}, "b": [{}]}
    new = {"a": {"x": 2, "y": 5}, "b": [{"c": 3}], "d": 4}
    assert sent_inputs(old, new, ["a.x", "b[0].c", "d"]) == {"a": {"x": 1, "y": 5}, "b": [{}]}
    assert swallowed(old, new, ["a.x", "b[0].c", "d"]) == ["a.x", "b[0].c", "d"]
    assert swallowed(old, new, ["a.y"]) == ["a.y"]  # first set under an ignore: lost
    assert swallowed(old, {"a": {"x": 1}}, ["a.x"]) == []
