"""Scale: a stack with 40 more services plans on every platform, grows linearly, and stays inside
the clouds' per-object quotas.

Each platform's production stack file gets `n` generated services through the same loader
`__main__.py` uses (a copy of the project, `tools.plan.run_plan`): a mix of web services with a
public route, internal web services called by others (a cycle of calls included), and workers,
each using data services. Growth is measured as resources per added service between a small and
a large `n`: the marginal cost of the last services must not exceed that of the first ones
(quadratic growth, such as security-group rules made pair by pair, fails it). The quotas checked
are the ones a large stack meets first (see `QUOTAS`).
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from components.config import StackConfig, parse_stack_config
from tests.aws.security_group_model import quota_problems, security_groups_of
from tests.aws.test_security_group_flows import flow_differences
from tests.helpers import plan_of, project_copy
from tools.plan import REPO, Plan, run_plan

PROJECT = "ai-assistant-platform"
# one production stack per platform
STACKS = {"kubernetes": "dev", "gke": "prod-gke", "cloudrun": "prod", "ecs": "prod-aws"}
SMALL, LARGE = 8, 40
IMAGE = "ghcr.io/ai-assistant-platform/api:1.0.0"


def generated_services(n: int) -> dict[str, dict[str, Any]]:
    """`n` services, in groups of four: a routed web service that calls the next one, an internal
    web service, a worker, and an internal web service that calls the second and is called back
    by it (a cycle). Every one has full settings (not only the seed names get defaults)."""
    services: dict[str, dict[str, Any]] = {}
    sizes = {"cpu": "1", "memory": "2Gi", "minReplicas": 2, "maxReplicas": 4}  # a size every platform offers
    for i in range(n):
        name, group = f"svc{i:02d}", i - i % 4
        internal, peer = f"svc{group + 1:02d}", f"svc{group + 3:02d}"
        kind = i % 4
        if kind == 2:
            services[name] = {
                "kind": "worker", "image": IMAGE, **sizes,
                "command": ["python", "-m", "app.worker"],
                "healthCommand": ["python", "-m", "app.healthcheck"],
                "uses": ["postgres", "rabbitmq"],
            }
            continue
        svc = {"image": IMAGE, **sizes, "port": (8080, 8000, None, 8001)[kind], "healthPath": "/health",
               "uses": [["redis"], ["postgres", "redis"], None, ["mongodb"]][kind]}
        if kind == 0:
            svc["route"] = {"subdomain": f"s{i:02d}"}
        calls = {0: [internal], 1: [peer], 3: [internal]}[kind]
        svc["calls"] = [c for c in calls if int(c[3:]) < n]
        services[name] = svc
    return services


def stack_document(stack: str, n: int) -> dict[str, Any]:
    """The shipped stack file with `n` generated services added."""
    document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    document["config"][f"{PROJECT}:services"].update(generated_services(n))
    return document


def stack_config(platform: str, n: int) -> StackConfig:
    document = stack_document(STACKS[platform], n)
    raw = {k.partition(":")[2]: v for k, v in document["config"].items() if k.startswith(f"{PROJECT}:")}
    return parse_stack_config(raw, f"Pulumi.{STACKS[platform]}.yaml")


@functools.lru_cache(maxsize=None)
def scaled(platform: str, n: int) -> Plan:
    """The offline plan of the platform's stack with `n` more services (policies evaluated only
    for LARGE: the others are counted, not judged). n = 0 is the shipped stack's cached plan."""
    stack = STACKS[platform]
    if n == 0:
        return plan_of(stack)
    directory = Path(tempfile.mkdtemp(prefix=f"scale-{platform}-{n}-"))
    project_copy(directory, {stack: yaml.safe_dump(stack_document(stack, n), sort_keys=False)})
    return run_plan(stack, project_dir=directory, evaluate_policies=n == LARGE)


def custom(plan: Plan):
    return [r for r in plan.capture.resources if r.custom]


PLATFORMS = sorted(STACKS)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_stack_with_40_more_services_plans_without_mandatory_violations(platform):
    plan = scaled(platform, LARGE)
    assert plan.mandatory == [], [f"{v['policy']}: {v['message']}" for v in plan.mandatory[:5]]
    names = {r.name for r in custom(plan)}
    assert any("svc39" in n for n in names), "the generated services are not in the plan"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_resources_grow_linearly_with_services(platform):
    """Resources per added service, from 0 to SMALL and from SMALL to LARGE: the second must not be
    larger (a quadratic term would make it grow with the number already there)."""
    base = len(custom(scaled(platform, 0)))
    small = len(custom(scaled(platform, SMALL)))
    large = len(custom(scaled(platform, LARGE)))
    first = (small - base) / SMALL
    marginal = (large - small) / (LARGE - SMALL)
    assert marginal <= first + 0.5, (
        f"{platform}: {first:.1f} resources per service for the first {SMALL}, "
        f"{marginal:.1f} per service from {SMALL} to {LARGE}: growth is not linear"
    )


# --- quotas -------------------------------------------------------------------------------------
# Default quotas and fixed limits a stack with many services meets first, from the providers' docs:
# AWS "Quotas for your Application Load Balancers" (rules per ALB 100 excluding the default rule,
# target groups per ALB 100, condition values per rule 5), Amazon VPC quotas (60 inbound and 60
# outbound rules per security group, 5 groups per network interface), CloudFront (200 distributions
# per account), Route 53 (200 health checks per account); GCP IAM (100 service accounts per
# project, 1,500 principals in a project's allow policy), Cloud Load Balancing (a global external
# Application Load Balancer's URL map at most 1 MB), Cloud Monitoring (100 uptime checks and 500
# alerting policies per metrics scope); Kubernetes (an object is stored in etcd, whose default
# request limit is 1.5 MiB).


def _of(plan: Plan, type_token: str):
    return [r for r in custom(plan) if r.type == type_token]


def _at_most(problems: list[str], what: str, count: int, limit: int) -> None:
    if count > limit:
        problems.append(f"{what}: {count} (the quota is {limit})")


def ecs_quota_problems(plan: Plan, cfg: StackConfig) -> list[str]:
    problems = quota_problems(security_groups_of(plan.capture.resources))
    blocked, extra = flow_differences(cfg, plan.capture.resources)
    problems += [f"needed flow blocked: {f}" for f in blocked] + [f"flow open but not needed: {f}" for f in extra]
    # per ALB (the primary's, and the DR standby's in its own region): its listeners' rules, the
    # target groups registered with its provider
    listeners = _of(plan, "aws:lb/listener:Listener")
    for alb in _of(plan, "aws:lb/loadBalancer:LoadBalancer"):
        mine = [f":{lst.name}" for lst in listeners if lst.inputs["loadBalancerArn"].endswith(f":{alb.name}")]
        on_alb = [r for r in _of(plan, "aws:lb/listenerRule:ListenerRule") if r.inputs["listenerArn"].endswith(tuple(mine))]
        _at_most(problems, f"listener rules on {alb.name}", len(on_alb), 100)
        groups = [t for t in _of(plan, "aws:lb/targetGroup:TargetGroup") if t.provider == alb.provider]
        _at_most(problems, f"target groups of {alb.name}", len(groups), 100)
    rules = _of(plan, "aws:lb/listenerRule:ListenerRule")
    for rule in rules:
        values = sum(len(match.get("values", [])) for c in rule.inputs["conditions"] for match in c.values())
        _at_most(problems, f"condition values of listener rule {rule.name}", values, 5)
    _at_most(problems, "CloudFront distributions", len(_of(plan, "aws:cloudfront/distribution:Distribution")), 200)
    _at_most(problems, "Route 53 health checks", len(_of(plan, "aws:route53/healthCheck:HealthCheck")), 200)
    return problems


def gcp_quota_problems(plan: Plan, cfg: StackConfig) -> list[str]:
    problems: list[str] = []
    _at_most(problems, "service accounts", len(_of(plan, "gcp:serviceaccount/account:Account")), 100)
    _at_most(problems, "project IAM principals", len({r.inputs["member"] for r in _of(plan, "gcp:projects/iAMMember:IAMMember")}), 1500)
    _at_most(problems, "uptime checks", len(_of(plan, "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")), 100)
    _at_most(problems, "alerting policies", len(_of(plan, "gcp:monitoring/alertPolicy:AlertPolicy")), 500)
    for url_map in _of(plan, "gcp:compute/uRLMap:URLMap"):
        _at_most(problems, f"bytes of URL map {url_map.name}", len(json.dumps(url_map.inputs)), 1024 * 1024)
    return problems


def kubernetes_quota_problems(plan: Plan, cfg: StackConfig) -> list[str]:
    problems: list[str] = []
    for r in custom(plan):
        if r.type.startswith("kubernetes:") and "kind" in r.inputs:
            _at_most(problems, f"bytes of {r.inputs['kind']} {r.name}", len(json.dumps(r.inputs)), 1536 * 1024)
    return problems


QUOTAS: dict[str, Callable[[Plan, StackConfig], list[str]]] = {
    "ecs": ecs_quota_problems,
    "cloudrun": gcp_quota_problems,
    "gke": lambda plan, cfg: gcp_quota_problems(plan, cfg) + kubernetes_quota_problems(plan, cfg),
    "kubernetes": kubernetes_quota_problems,
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_stack_with_40_more_services_stays_inside_the_quotas(platform):
    problems = QUOTAS[platform](scaled(platform, LARGE), stack_config(platform, LARGE))
    assert problems == [], f"{platform} with {LARGE} more services:\n" + "\n".join(problems)
