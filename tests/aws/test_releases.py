"""Releases on ECS: every service's strategy and rollback triggers come from `services.<name>.release`,
reach real ALB metrics, and ECS gets exactly what it needs to move traffic (components/app/ecs_release.py).

Applied to every resource of the kind in every ECS stack, plus builds with changed config to show
the values follow it."""

from __future__ import annotations

import json

import pytest

from components.app.ecs_release import ecs_strategy, routed
from components.config import ReleaseConfig
from components.platform import config_problems
from components.platforms.ecs import build
from tests.aws.helpers import run_aws
from tests.aws.test_iam_scoping import AWS_STACKS
from tests.helpers import make_context, plan_of

SERVICE = "aws:ecs/service:Service"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"


def _of(plan, type_token):
    return [r for r in plan.capture.resources if r.type == type_token]


def _services(plan):
    """The primary's services (the DR standby's roll: tests/aws/test_standby.py)."""
    return {r.inputs["name"]: r for r in _of(plan, SERVICE) if (r.inputs.get("tags") or {}).get("dr-role") != "standby"}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_service_runs_its_configured_strategy(stack):
    config = make_context(stack).config
    for name, svc in _services(plan_of(stack)).items():
        release = config.enabled_services[name].release
        routed = "loadBalancers" in svc.inputs
        expected = ecs_strategy(release if routed else release.model_copy(update={"strategy": "rolling"}))
        got = svc.inputs["deploymentConfiguration"]
        assert got["strategy"] == expected["strategy"], name
        if expected["strategy"] != "ROLLING":
            assert got["bakeTimeInMinutes"] == str(release.step_minutes), name
        # a service without a load balancer keeps the circuit breaker as its rollback
        assert svc.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}, name


def test_seed_canary_maps_to_ecs_honestly():
    seed = ReleaseConfig(strategy="canary")  # 10/25/50/100, 30 min
    assert ecs_strategy(seed) == {
        "strategy": "CANARY",
        "bake_time_in_minutes": "30",
        # one canary step: the first percentage, held for the time of the steps before 100 %
        "canary_configuration": {"canary_percent": 10.0, "canary_bake_time_in_minutes": "90"},
    }
    linear = ecs_strategy(ReleaseConfig(strategy="canary", canary_steps=(25, 50, 75, 100), step_minutes=7))
    assert linear["strategy"] == "LINEAR"
    assert linear["linear_configuration"] == {"step_percent": 25.0, "step_bake_time_in_minutes": "7"}
    assert ecs_strategy(ReleaseConfig(strategy="blueGreen", step_minutes=12)) == {
        "strategy": "BLUE_GREEN", "bake_time_in_minutes": "12"
    }
    assert ecs_strategy(ReleaseConfig()) == {"strategy": "ROLLING"}


@pytest.mark.parametrize(
    "release",
    [
        ReleaseConfig(strategy="canary", canary_steps=(1, 2, 3, 100), step_minutes=1440),
        ReleaseConfig(strategy="canary", canary_steps=(2, 4, 6, 100)),
        ReleaseConfig(strategy="canary", canary_steps=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100), step_minutes=600),
        ReleaseConfig(strategy="canary", canary_steps=(100,)),
        ReleaseConfig(strategy="blueGreen", step_minutes=1440),
    ],
)
def test_every_mapping_is_within_what_ecs_accepts(release):
    """ECS: bake times 0-1440 min, canaryPercent 0.1-100, linear stepPercent 3-100."""
    shape = ecs_strategy(release)
    assert shape["strategy"] in ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
    assert 0 <= int(shape["bake_time_in_minutes"]) <= 1440
    if "canary_configuration" in shape:
        assert 0.1 <= shape["canary_configuration"]["canary_percent"] <= 100
        assert 0 <= int(shape["canary_configuration"]["canary_bake_time_in_minutes"]) <= 1440
    if "linear_configuration" in shape:
        assert 3.0 <= shape["linear_configuration"]["step_percent"] <= 100
        assert 0 <= int(shape["linear_configuration"]["step_bake_time_in_minutes"]) <= 1440


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_routed_service_rolls_back_on_alarms_that_exist(stack):
    plan = plan_of(stack)
    alarms = {r.inputs["name"]: r for r in _of(plan, ALARM)}
    config = make_context(stack).config
    for name, svc in _services(plan).items():
        if "loadBalancers" not in svc.inputs:
            assert "alarms" not in svc.inputs, name
            continue
        block = svc.inputs["alarms"]
        assert block["enable"] is True
        assert block["rollback"] is config.enabled_services[name].release.rollback.automatic
        assert len(block["alarmNames"]) == 3, name
        for alarm_name in block["alarmNames"]:
            assert alarm_name in alarms, f"{name}: alarm {alarm_name} is not created"
            # same region as the service: the alarm has the service's (default/primary) provider
            assert alarms[alarm_name].provider == svc.provider, alarm_name


def _release_alarms(run_or_plan, service):
    return {
        r.inputs["name"].rsplit("-", 1)[-1]: r.inputs
        for r in _of(run_or_plan, ALARM)
        if r.inputs["name"].endswith(tuple(f"-{service}-release-{t}" for t in ("5xx", "p95", "unhealthy")))
    }


def _plan_with(overrides):
    """The whole prod-aws program under mocks with `overrides` merged into its stack config."""
    return run_aws(lambda context, _providers: build(context), overrides)


def test_thresholds_come_from_the_config():
    rollback = {"errorRatePercent": 2.5, "errorRateMinutes": 7, "latencyP95Seconds": 1.5, "latencyMinutes": 4,
                "consecutiveHealthFailures": 5, "automatic": False}
    plan = _plan_with({"services": {"api": {"release": {"rollback": rollback}}}})
    alarms = _release_alarms(plan, "api")
    assert (alarms["5xx"]["threshold"], alarms["5xx"]["evaluationPeriods"], alarms["5xx"]["datapointsToAlarm"]) == (2.5, 7, 7)
    assert (alarms["p95"]["threshold"], alarms["p95"]["evaluationPeriods"]) == (1.5, 4)
    groups = {r.inputs["name"]: r.inputs for r in _of(plan, TARGET_GROUP)}
    api_groups = [g for n, g in groups.items() if "-api-" in n]
    assert len(api_groups) == 2 and all(g["healthCheck"]["unhealthyThreshold"] == 5 for g in api_groups)
    api = _services(plan)["api"].inputs
    assert api["alarms"]["rollback"] is False
    # the defaults (seed 002) stay on the other service
    frontend = _release_alarms(plan, "frontend")
    assert (frontend["5xx"]["threshold"], frontend["p95"]["threshold"]) == (5.0, 5.0)
    assert (frontend["5xx"]["evaluationPeriods"], frontend["p95"]["evaluationPeriods"]) == (5, 10)


def _queries(alarm):
    return {q["id"]: q for q in alarm["metricQueries"]}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_release_alarms_watch_both_target_groups_of_the_service(stack):
    plan = plan_of(stack)
    for name, svc in _services(plan).items():
        if "loadBalancers" not in svc.inputs:
            continue
        alarms = _release_alarms(plan, name)
        assert sorted(alarms) == ["5xx", "p95", "unhealthy"], name
        expected_groups = 2 if "advancedConfiguration" in svc.inputs["loadBalancers"][0] else 1
        for trigger, alarm in alarms.items():
            metrics = [q["metric"] for q in alarm["metricQueries"] if "metric" in q]
            groups = {m["dimensions"]["TargetGroup"] for m in metrics}
            assert len(groups) == expected_groups, (name, trigger, groups)
            returned = [q for q in alarm["metricQueries"] if q.get("returnData")]
            assert len(returned) == 1 and "expression" in returned[0], (name, trigger)
        assert {m["metricName"] for m in (q["metric"] for q in _queries(alarms["5xx"]).values() if "metric" in q)} == {
            "HTTPCode_Target_5XX_Count", "RequestCount"
        }
        assert {q["metric"]["stat"] for q in _queries(alarms["p95"]).values() if "metric" in q} == {"p95"}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_routed_services_have_rule_groups_and_a_scoped_role(stack):
    """Every routed service, whatever its strategy, has what ECS needs to shift traffic (so that a
    strategy switch is one update: tests/test_release_switch.py); the others have none of it."""
    plan = plan_of(stack)
    config = make_context(stack).config
    rules = {r.name: r for r in _of(plan, RULE)}
    roles = {r.name: r for r in _of(plan, "aws:iam/role:Role")}
    policies = {r.name: r for r in _of(plan, "aws:iam/rolePolicy:RolePolicy")}
    with_lb = [n for n, s in config.enabled_services.items() if routed(s)]
    assert with_lb or stack != "prod-aws"
    for name, svc in _services(plan).items():
        lb = (svc.inputs.get("loadBalancers") or [{}])[0]
        if name not in with_lb:
            assert "advancedConfiguration" not in lb, name
            continue
        advanced = lb["advancedConfiguration"]
        role = roles[f"app-{name}-ecs-lb"]
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "ecs.amazonaws.com"}
        assert set(trust["Condition"]["StringEquals"]) == {"aws:SourceAccount"}
        document = json.loads(policies[f"app-{name}-ecs-lb-policy"].inputs["policy"])
        scoped = {s["Sid"]: s["Resource"] for s in document["Statement"]}
        assert sorted(scoped["Targets"]) == sorted([lb["targetGroupArn"], advanced["alternateTargetGroupArn"]])
        assert scoped["ShiftTraffic"] == advanced["productionListenerRule"]
        # the rule forwards to both groups; ECS owns the weights, Pulumi ignores them
        rule = rules[f"alb-{name}-rule"]
        assert "actions" in rule.ignore_changes, name
        forward = rule.inputs["actions"][0]["forward"]["targetGroups"]
        assert [g["weight"] for g in forward] == [100, 0]
        # a release ends with ECS swapping the two groups of the service: not drift
        assert "loadBalancers" in svc.ignore_changes, name
        # ECS assumes the role when the service is created: its grant first
        assert policies[f"app-{name}-ecs-lb-policy"].urn in svc.dependencies, name
        # `up` waits for a rolling deployment; a traffic-shifting one outlasts the provider's wait
        assert svc.inputs["waitForSteadyState"] is not config.enabled_services[name].shifts_traffic, name


def test_rolling_services_keep_the_traffic_shape_and_roll():
    plan = _plan_with({"services": {"api": {"release": {"strategy": "rolling"}}}})
    rules = {r.name: r for r in _of(plan, RULE)}
    forward = rules["alb-api-rule"].inputs["actions"][0]["forward"]["targetGroups"]
    assert [g["weight"] for g in forward] == [100, 0]
    assert [r for r in _of(plan, TARGET_GROUP) if r.name == "alb-api-tg-alternate"]
    api = _services(plan)["api"].inputs
    assert api["deploymentConfiguration"] == {"strategy": "ROLLING"}
    assert "advancedConfiguration" in api["loadBalancers"][0]
    assert api["waitForSteadyState"] is True
    # still watched: the alarms roll a rolling deployment back too
    assert api["alarms"]["rollback"] is True


def test_health_failures_ecs_cannot_count_fail_before_anything_is_built():
    config = make_context("prod-aws", {"services": {"api": {"release": {"rollback": {"consecutiveHealthFailures": 1}}}}}).config
    lines = [problem.line() for problem in config_problems(config, "prod-aws")]
    assert any("services.api.release.rollback.consecutiveHealthFailures = 1" in line for line in lines), lines
