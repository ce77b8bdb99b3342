"""Releases on ECS (`ecs`): a service's `release` config as ECS native deployment strategies with
CloudWatch-alarm rollback.

What ECS offers (pulumi-aws `ServiceDeploymentConfigurationArgs`) and how the config maps onto it:

| `release.strategy` | ECS strategy | traffic |
|---|---|---|
| rolling | ROLLING | tasks replaced in place (minimum healthy 100 %, maximum 200 %) |
| canary, steps of equal size (e.g. 25/50/75/100) | LINEAR | `stepPercent` = the step, `stepBakeTimeInMinutes` = `stepMinutes` |
| canary, any other steps (e.g. the seed's 10/25/50/100) | CANARY | the **first** step (10 %) for `stepMinutes` x (steps - 1), then 100 % |
| blueGreen | BLUE_GREEN | 0 % then 100 % at once |

ECS has no multi-step canary: CANARY is one canary percentage and one bake time, LINEAR equal
steps. The seed's 10/25/50/100 (30 min each) therefore becomes 10 % for 90 min then 100 %: the same
monitoring time before full traffic, with less traffic exposed to the new version in between
(docs/deploy-aws.md says so). Every non-rolling strategy then keeps the old tasks for a bake time of
`stepMinutes` after the full shift, so a rollback in that window is a traffic switch, not a
redeployment.

Traffic shifting needs, per routed web service (these come from `components/edge/alb.py`; every
routed service has them whatever its strategy, so switching strategy is one `up`: `routed` below): a
second ("alternate") target group, the listener rule that forwards to both (weights 100/0, which
ECS then moves), and an IAM role ECS assumes to move them (`<prefix>-<service>-ecs-lb`): read the
load balancer, register/deregister targets in exactly the two target groups, modify exactly that
one listener rule (the actions of AWS's `AmazonECSInfrastructureRolePolicyForLoadBalancers`, each
scoped to this service's resources).

Rollback triggers (seed 002, `release.rollback`), one CloudWatch alarm each, named
`<prefix>-<service>-release-<trigger>` and attached to the service (`alarms`, rollback = `automatic`);
each alarm takes the worse of the two target groups, so a failing new version trips it whichever
group it is in:

- `5xx`: HTTPCode_Target_5XX_Count / RequestCount above `errorRatePercent` for `errorRateMinutes`;
- `p95`: TargetResponseTime p95 above `latencyP95Seconds` for `latencyMinutes`;
- `unhealthy`: UnHealthyHostCount >= 1; a target is unhealthy after `consecutiveHealthFailures`
  failed ALB health checks in a row (the target groups' unhealthy threshold is that number).

Services without a load balancer (internal web services in Cloud Map, workers) have no traffic to
shift and no ALB metrics: they stay ROLLING with the deployment circuit breaker's rollback.
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.config import Problem, ReleaseConfig, RollbackConfig, ServiceConfig, StackConfig

ECS_PRINCIPAL = "ecs.amazonaws.com"
# the ALB's health check unhealthy threshold (elbv2 ModifyTargetGroup: 2-10)
ALB_UNHEALTHY_THRESHOLD = (2, 10)
MAX_BAKE_MINUTES = 1440  # every ECS bake time: 0-1440
LINEAR_MIN_STEP_PERCENT = 3.0


def routed(svc: ServiceConfig) -> bool:
    """A web service behind the ALB. Every one gets, from creation and whatever its strategy, the
    alternate target group, the weighted (100/0) production rule, the role ECS assumes and the
    service's `advancedConfiguration` (ECS accepts them under ROLLING: AWS's own way to move a
    service from rolling to blue/green is to add `advancedConfiguration` with a rolling deployment
    first), and the release alarms on its ALB metrics. Pulumi ignores the rule's actions and the
    service's `loadBalancers`, which ECS owns during and after a release; ignored paths keep their
    *old* inputs, so they must have this one shape before and after a strategy switch, or the
    switch (rolling -> canary/blueGreen) would never send what ECS needs. The switch then changes
    only `deploymentConfiguration`, which Pulumi sends (tests/test_release_switch.py)."""
    return svc.kind == "web" and svc.route is not None


def health_failures(svc: ServiceConfig) -> int:
    """The target groups' unhealthy threshold: `release.rollback.consecutiveHealthFailures`."""
    return svc.release.rollback.consecutive_health_failures


def _equal_steps(steps: Sequence[int]) -> Optional[int]:
    size = steps[0]
    return size if all(b - a == size for a, b in zip((0, *steps), steps)) else None


def ecs_strategy(release: ReleaseConfig) -> dict:
    """The ECS deployment configuration of a release config, in `ServiceDeploymentConfigurationArgs`
    keyword shape (bake times are strings in the provider's schema)."""
    minutes = str(release.step_minutes)
    if release.strategy == "rolling":
        return {"strategy": "ROLLING"}
    if release.strategy == "blueGreen":
        return {"strategy": "BLUE_GREEN", "bake_time_in_minutes": minutes}
    steps = release.canary_steps
    step = _equal_steps(steps)
    if step is not None and step >= LINEAR_MIN_STEP_PERCENT and len(steps) > 1:
        return {
            "strategy": "LINEAR",
            "bake_time_in_minutes": minutes,
            "linear_configuration": {"step_percent": float(step), "step_bake_time_in_minutes": minutes},
        }
    hold = min(release.step_minutes * max(len(steps) - 1, 1), MAX_BAKE_MINUTES)
    return {
        "strategy": "CANARY",
        "bake_time_in_minutes": minutes,
        "canary_configuration": {"canary_percent": float(steps[0]), "canary_bake_time_in_minutes": str(hold)},
    }


def deployment_configuration(release: ReleaseConfig) -> aws.ecs.ServiceDeploymentConfigurationArgs:
    shape = ecs_strategy(release)
    canary = shape.pop("canary_configuration", None)
    linear = shape.pop("linear_configuration", None)
    return aws.ecs.ServiceDeploymentConfigurationArgs(
        canary_configuration=aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs(**canary) if canary else None,
        linear_configuration=aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs(**linear) if linear else None,
        **shape,
    )


def release_problems(config: StackConfig) -> list[Problem]:
    """Release settings ECS cannot honour, found before anything is registered."""
    problems: list[Problem] = []
    low, high = ALB_UNHEALTHY_THRESHOLD
    for name, svc in config.enabled_services.items():
        if not routed(svc):
            continue
        failures = health_failures(svc)
        if not low <= failures <= high:
            problems.append(
                Problem(
                    f"services.{name}.release.rollback.consecutiveHealthFailures",
                    failures,
                    f"on ecs the ALB target group's unhealthy threshold counts the failures: {low}-{high}",
                )
            )
    return problems


def load_balancer_role_policy(target_group_arns: Sequence[str], rule_arn: str) -> str:
    """What ECS needs to shift one service's traffic, and nothing of any other service."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    # the Describe actions support no resource-level permission: "*" is the only resource
                    "Sid": "ReadLoadBalancer",
                    "Effect": "Allow",
                    "Action": [
                        "elasticloadbalancing:DescribeListeners",
                        "elasticloadbalancing:DescribeRules",
                        "elasticloadbalancing:DescribeTargetGroups",
                        "elasticloadbalancing:DescribeTargetHealth",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "Targets",
                    "Effect": "Allow",
                    "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                    "Resource": sorted(target_group_arns),
                },
                {
                    "Sid": "ShiftTraffic",
                    "Effect": "Allow",
                    "Action": "elasticloadbalancing:ModifyRule",
                    "Resource": rule_arn,
                },
            ],
        }
    )


def load_balancer_trust(account_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ECS_PRINCIPAL},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )


def _tg_metric(key: str, metric: str, stat: str, tg: pulumi.Input[str], alb: pulumi.Input[str]):
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=key,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace="AWS/ApplicationELB",
            metric_name=metric,
            dimensions={"TargetGroup": tg, "LoadBalancer": alb},
            stat=stat,
            period=60,
        ),
    )


def alarm_specs(rollback: RollbackConfig, target_groups: Sequence[pulumi.Input[str]], alb: pulumi.Input[str]) -> dict[str, dict]:
    """The seed 002 triggers as MetricAlarm keyword arguments (trigger -> kwargs), the worse of the
    target groups (primary, alternate) deciding. Every threshold and duration is `rollback`'s."""
    groups = list(enumerate(target_groups))

    def worst(key: str, per_group: Sequence[str], label: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        expression = per_group[0] if len(per_group) == 1 else f"MAX([{', '.join(per_group)}])"
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(id=key, expression=expression, label=label, return_data=True)

    rates = [f"IF(FILL(r{i}, 0) > 0, 100 * FILL(e{i}, 0) / FILL(r{i}, 1), 0)" for i, _ in groups]
    error_queries = [worst("rate", rates, "5xx % (worse target group)")]
    for i, tg in groups:
        error_queries += [
            _tg_metric(f"e{i}", "HTTPCode_Target_5XX_Count", "Sum", tg, alb),
            _tg_metric(f"r{i}", "RequestCount", "Sum", tg, alb),
        ]
    latency_queries = [worst("p95", [f"l{i}" for i, _ in groups], "p95 seconds (worse target group)")]
    latency_queries += [_tg_metric(f"l{i}", "TargetResponseTime", "p95", tg, alb) for i, tg in groups]
    unhealthy_queries = [worst("unhealthy", [f"u{i}" for i, _ in groups], "unhealthy targets")]
    unhealthy_queries += [_tg_metric(f"u{i}", "UnHealthyHostCount", "Maximum", tg, alb) for i, tg in groups]
    def sustained(description: str, threshold: float, minutes: int, queries: list) -> dict:
        """Above `threshold` in each of `minutes` one-minute periods in a row."""
        return dict(description=description, threshold=threshold, comparison_operator="GreaterThanThreshold",
                    evaluation_periods=minutes, datapoints_to_alarm=minutes, metric_queries=queries)

    return {
        "5xx": sustained(
            f"5xx > {rollback.error_rate_percent}% of requests for {rollback.error_rate_minutes} min",
            rollback.error_rate_percent, rollback.error_rate_minutes, error_queries,
        ),
        "p95": sustained(
            f"p95 > {rollback.latency_p95_seconds}s for {rollback.latency_minutes} min",
            rollback.latency_p95_seconds, rollback.latency_minutes, latency_queries,
        ),
        "unhealthy": dict(
            description=f"a target failed {rollback.consecutive_health_failures} health checks in a row",
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=1,
            datapoints_to_alarm=1,
            metric_queries=unhealthy_queries,
        ),
    }


def release_alarms(
    owner: pulumi.ComponentResource,
    child_name,
    child_opts,
    prefix: str,
    name: str,
    svc: ServiceConfig,
    target_groups: Sequence[pulumi.Input[str]],
    alb: pulumi.Input[str],
    tags: dict,
) -> aws.ecs.ServiceAlarmsArgs:
    """The rollback alarms of one routed service, and the service's `alarms` block that watches them."""
    names = []
    for trigger, spec in alarm_specs(svc.release.rollback, target_groups, alb).items():
        alarm_name = f"{prefix}-{name}-release-{trigger}"
        description = spec.pop("description")
        aws.cloudwatch.MetricAlarm(
            child_name(name, "release", trigger),
            aws.cloudwatch.MetricAlarmArgs(
                name=alarm_name,
                alarm_description=f"{name} release rollback trigger: {description}",
                treat_missing_data="notBreaching",
                tags=tags,
                **spec,
            ),
            opts=child_opts(),
        )
        names.append(alarm_name)
    return aws.ecs.ServiceAlarmsArgs(alarm_names=names, enable=True, rollback=svc.release.rollback.automatic)
