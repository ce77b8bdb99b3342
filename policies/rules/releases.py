"""Releases: a public web service in production rolls a bad release back by itself.

Seed 001 (automated failure detection and rollback), seed 002 (automatic rollback on 3+ failed
health checks, 5 % errors for 5 min, p95 > 5 s for 10 min). Environment specific: disabled in dev
(rolling releases, policies/config/dev.json), mandatory in staging (canaries like prod's) and prod.

What "automatic rollback" is on each platform:
- ECS: the service's CloudWatch alarms with `rollback` (the release alarms of
  components/app/ecs_release.py), or the deployment circuit breaker with `rollback`;
- Argo Rollouts: a canary or blue/green strategy with an analysis (a step's `analysis`, a background
  `analysis`, or `prePromotionAnalysis`/`postPromotionAnalysis`) naming at least one template -- a
  failed analysis aborts the rollout and traffic goes back to the stable version;
- Cloud Run: Cloud Run itself never rolls back; the deploy workflow's release loop
  (tools/release.py) does, for services whose labels say so: `release-strategy` canary or bluegreen
  and `release-rollback: automatic` (components/app/cloudrun_release.py). A service reachable only
  inside the project (`INGRESS_TRAFFIC_INTERNAL_ONLY`) is not public.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, resource_policy
from .props import get, is_unknown, seq, truthy

ECS_SERVICE = "aws:ecs/service:Service"
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service"
STRATEGY_LABEL = "release-strategy"
ROLLBACK_LABEL = "release-rollback"
SHIFTING_STRATEGIES = ("canary", "bluegreen")


def _names_a_template(analysis: Any) -> Any:
    """True when an Argo analysis block names at least one template (Unknown when it cannot be told)."""
    if analysis is None:
        return False
    templates = seq(get(analysis, "templates"), "templates")
    if is_unknown(templates):
        return templates
    return bool(templates)


def _fail_when_known(check: Check, values: list[tuple[Any, str]], message: str) -> None:
    """Fail with `message` unless one of `values` is unknown (then the check cannot verify it)."""
    for value, where in values:
        if not check.known(value, where):
            return
    check.fail(message)


def _ecs(args: ResourceValidationArgs, check: Check) -> None:
    balancers = seq(get(args.props, "loadBalancers"), "loadBalancers")
    if not check.known(balancers, "loadBalancers") or not balancers:
        return  # no load balancer: not public (internal services, workers)
    alarms_on = truthy(get(args.props, "alarms.enable"))
    alarms_rollback = truthy(get(args.props, "alarms.rollback"))
    breaker_on = truthy(get(args.props, "deploymentCircuitBreaker.enable"))
    breaker_rollback = truthy(get(args.props, "deploymentCircuitBreaker.rollback"))
    if alarms_on is True and alarms_rollback is True or breaker_on is True and breaker_rollback is True:
        return
    _fail_when_known(
        check,
        [
            (alarms_on, "alarms.enable"),
            (alarms_rollback, "alarms.rollback"),
            (breaker_on, "deploymentCircuitBreaker.enable"),
            (breaker_rollback, "deploymentCircuitBreaker.rollback"),
        ],
        "public ECS service has no automatic rollback: neither `alarms` with enable and rollback "
        "nor `deploymentCircuitBreaker` with enable and rollback.",
    )


def _rollout(args: ResourceValidationArgs, check: Check) -> None:
    strategy = get(args.props, "spec.strategy")
    if not check.known(strategy, "spec.strategy"):
        return
    canary, blue_green = get(strategy, "canary"), get(strategy, "blueGreen")
    candidates: list[tuple[Any, str]] = []
    if canary is not None:
        candidates.append((get(canary, "analysis"), "spec.strategy.canary.analysis"))
        steps = seq(get(canary, "steps"), "spec.strategy.canary.steps")
        if not check.known(steps, "spec.strategy.canary.steps"):
            return
        candidates += [(get(step, "analysis"), f"spec.strategy.canary.steps[{i}].analysis") for i, step in enumerate(steps)]
    if blue_green is not None:
        for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
            candidates.append((get(blue_green, key), f"spec.strategy.blueGreen.{key}"))
    if canary is None and blue_green is None:
        check.fail("Rollout has neither a canary nor a blueGreen strategy, so nothing can roll it back.")
        return
    verdicts = [(_names_a_template(block), where) for block, where in candidates]
    if any(v is True for v, _ in verdicts):
        return
    _fail_when_known(
        check,
        verdicts,
        "Rollout strategy has no analysis naming a template (steps[].analysis, a background `analysis`, "
        "or prePromotionAnalysis): a bad release is never rolled back automatically.",
    )


def _cloud_run(args: ResourceValidationArgs, check: Check) -> None:
    ingress = get(args.props, "ingress")
    if not check.known(ingress, "ingress") or ingress == "INGRESS_TRAFFIC_INTERNAL_ONLY":
        return
    labels = get(args.props, "labels")
    if not check.known(labels, "labels"):
        return
    strategy, rollback = get(labels, STRATEGY_LABEL), get(labels, ROLLBACK_LABEL)
    if not check.known(strategy, f"labels.{STRATEGY_LABEL}") or not check.known(rollback, f"labels.{ROLLBACK_LABEL}"):
        return
    if strategy in SHIFTING_STRATEGIES and rollback == "automatic":
        return
    check.fail(
        f"public Cloud Run service has no automatic rollback: labels {STRATEGY_LABEL}={strategy!r}, "
        f"{ROLLBACK_LABEL}={rollback!r} (the release loop rolls back canary/bluegreen services labelled "
        f"{ROLLBACK_LABEL}=automatic)."
    )


@resource_policy(
    name="automatic-rollback-in-production",
    theme="releases",
    summary="A public web service in production rolls a bad release back automatically.",
    severity=Severity.HIGH,
    types=(ECS_SERVICE, ROLLOUT, CLOUD_RUN_SERVICE),
    checks="ECS services with a load balancer: `alarms` enable+rollback or `deploymentCircuitBreaker` "
    "enable+rollback; Argo Rollouts: a canary/blueGreen strategy with an analysis naming a template "
    "(steps[].analysis, background analysis, pre/postPromotionAnalysis); Cloud Run services not "
    "INTERNAL_ONLY: labels release-strategy canary|bluegreen and release-rollback=automatic.",
    source="seed 001 (automated failure detection and rollback); seed 002 (automatic rollback on health, "
    "error-rate and latency triggers)",
    remediation="Set services.<name>.release (strategy canary or blueGreen, rollback.automatic: true) in the "
    "stack config; the platform components turn it into ECS alarm rollback, Argo analyses or the Cloud Run "
    "release labels.",
    environment_specific=True,
)
def automatic_rollback_in_production(args: ResourceValidationArgs, check: Check) -> None:
    {ECS_SERVICE: _ecs, ROLLOUT: _rollout, CLOUD_RUN_SERVICE: _cloud_run}[args.resource_type](args, check)
