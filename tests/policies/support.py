"""Small builders for policy tests: plan-style resource dicts and one-policy evaluation.

Resources are built exactly as the offline plan writes them (engine camelCase inputs, "[unknown]"
and "[secret]" placeholders, ints) and run through `policies.offline.evaluate_with`, so every test
also exercises the SDK proxies and the float conversion the CLI applies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterable, Optional

from pulumi_policy import EnforcementLevel

from policies.offline import StackPolicyConfig, evaluate_with
from policies.pack import ALL_POLICIES, POLICIES_BY_NAME

U = "[unknown]"
S = "[secret]"

_counter = [0]


def res(
    type_token: str,
    inputs: Optional[dict[str, Any]] = None,
    *,
    name: Optional[str] = None,
    protect: bool = False,
    deps: Iterable[dict[str, Any]] = (),
    custom: bool = True,
    parent: Optional[str] = None,
) -> dict[str, Any]:
    """One resource as the offline plan's JSON describes it."""
    _counter[0] += 1
    name = name or f"r{_counter[0]}"
    return {
        "urn": f"urn:pulumi:test::ai-assistant-platform::{type_token}::{name}",
        "type": type_token,
        "name": name,
        "parent": parent,
        "custom": custom,
        "protect": protect,
        "dependencies": [d["urn"] for d in deps],
        "inputs": copy.deepcopy(inputs or {}),
    }


def only(policy_name: str, properties: Optional[dict[str, Any]] = None) -> StackPolicyConfig:
    """A config where `policy_name` is mandatory and every other policy disabled."""
    levels = {p.name: EnforcementLevel.DISABLED for p in ALL_POLICIES}
    levels[policy_name] = EnforcementLevel.MANDATORY
    policy = POLICIES_BY_NAME[policy_name]
    defaults = {k: v["default"] for k, v in (policy.config_schema.properties.items() if policy.config_schema else []) if "default" in v}
    return StackPolicyConfig(Path("test.json"), levels, {policy_name: {**defaults, **(properties or {})}})


def run(policy_name: str, resources: list[dict[str, Any]], properties: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
    return evaluate_with(only(policy_name, properties), resources, [POLICIES_BY_NAME[policy_name]])


def verdict(violations: list[dict[str, Any]]) -> str:
    """'fail' if anything mandatory, else 'unknown' if a cannot-verify advisory, else 'pass'."""
    if any(v["enforcement"] == "mandatory" for v in violations):
        return "fail"
    if any(v["message"].startswith("cannot verify") for v in violations):
        return "unknown"
    return "other" if violations else "pass"


def _overridden(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`body` with `overrides` applied: a value replaces the field, None deletes it."""
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------

HARDENED_SC = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
}


def k8s_container(**overrides: Any) -> dict[str, Any]:
    """A container that passes every container rule; override or delete (value None) fields."""
    container = {
        "name": "app",
        "image": "ghcr.io/org/api:1.2.3",
        "ports": [{"containerPort": 8080, "name": "http"}],
        "securityContext": copy.deepcopy(HARDENED_SC),
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
        "env": [{"name": "PORT", "value": "8080"}, {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "env", "key": "DATABASE_URL"}}}],
    }
    return _overridden(container, overrides)


def with_sc(**changes: Any) -> dict[str, Any]:
    return _overridden(copy.deepcopy(HARDENED_SC), changes)


def deployment(
    containers: Optional[list[dict[str, Any]]] = None,
    *,
    kind: str = "Deployment",
    name: str = "api",
    namespace: Any = "ai-assistant",
    replicas: Any = 2,
    pod_labels: Optional[dict[str, Any]] = None,
    pod_sc: Optional[dict[str, Any]] = None,
    init: Optional[list[dict[str, Any]]] = None,
    labels: Optional[dict[str, Any]] = None,
    extra_spec: Optional[dict[str, Any]] = None,
    **kw: Any,
) -> dict[str, Any]:
    pod_labels = pod_labels if pod_labels is not None else {"app.kubernetes.io/name": name}
    pod_spec: dict[str, Any] = {"containers": containers if containers is not None else [k8s_container()]}
    if pod_sc is not None:
        pod_spec["securityContext"] = pod_sc
    if init is not None:
        pod_spec["initContainers"] = init
    spec: dict[str, Any] = {
        "selector": {"matchLabels": pod_labels},
        "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        **(extra_spec or {}),
    }
    if replicas is not None:
        spec["replicas"] = replicas
    inputs = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
    }
    return res(f"kubernetes:apps/v1:{kind}", inputs, name=kw.pop("resource_name", name), **kw)


def cronjob(containers: list[dict[str, Any]], namespace: str = "ai-assistant") -> dict[str, Any]:
    return res(
        "kubernetes:batch/v1:CronJob",
        {
            "kind": "CronJob",
            "metadata": {"name": "backup", "namespace": namespace},
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": containers}}}}},
        },
    )


def k8s(type_token: str, kind: str, name: str = "obj", namespace: Any = "ai-assistant", spec: Any = None, **meta: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {"kind": kind, "metadata": {"name": name, "namespace": namespace, **meta}}
    if spec is not None:
        inputs["spec"] = spec
    return res(type_token, inputs, name=name)


def network_policy(name: str = "default-deny", namespace: Any = "ai-assistant", **spec: Any) -> dict[str, Any]:
    body = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    body.update(spec)
    return k8s("kubernetes:networking.k8s.io/v1:NetworkPolicy", "NetworkPolicy", name, namespace, body)


def hpa(target: dict[str, Any], min_replicas: Any = 2, max_replicas: int = 5) -> dict[str, Any]:
    return res(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        {
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": target["name"], "namespace": target["inputs"]["metadata"]["namespace"]},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target["inputs"]["kind"], "name": target["inputs"]["metadata"]["name"]},
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
            },
        },
        name=f"{target['name']}-hpa",
    )


def pdb(selector: Any, namespace: Any = "ai-assistant", **spec: Any) -> dict[str, Any]:
    body = {"selector": selector, **(spec or {"maxUnavailable": 1})}
    return k8s("kubernetes:policy/v1:PodDisruptionBudget", "PodDisruptionBudget", "pdb", namespace, body)


# ---------------------------------------------------------------------------------------------
# Cloud Run and ECS
# ---------------------------------------------------------------------------------------------


def cloudrun_container(**overrides: Any) -> dict[str, Any]:
    container = {
        "name": "api",
        "image": "us-docker.pkg.dev/p/r/api@sha256:" + "a" * 64,
        "ports": {"containerPort": 8080},
        "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
        "startupProbe": {"httpGet": {"path": "/health"}},
        "livenessProbe": {"httpGet": {"path": "/health"}},
        "envs": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DATABASE_URL", "valueSource": {"secretKeyRef": {"secret": "db-url", "version": "latest"}}}],
    }
    return _overridden(container, overrides)


def cloudrun_service(containers: Optional[list[dict[str, Any]]] = None, **inputs: Any) -> dict[str, Any]:
    body = {
        "location": "us-central1",
        "ingress": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        "template": {"containers": containers if containers is not None else [cloudrun_container()], "scaling": {"minInstanceCount": 2}},
    }
    body.update(inputs)
    return res("gcp:cloudrunv2/service:Service", body, name="api-service")


def ecs_container(**overrides: Any) -> dict[str, Any]:
    container = {
        "name": "api",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.2.3",
        "essential": True,
        "user": "10001",
        "readonlyRootFilesystem": True,
        "privileged": False,
        "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
        "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]},
        "portMappings": [{"containerPort": 8080}],
        "environment": [{"name": "PORT", "value": "8080"}],
        "secrets": [{"name": "DATABASE_URL", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}],
    }
    return _overridden(container, overrides)


def ecs_task(containers: Any = None, **inputs: Any) -> dict[str, Any]:
    definitions = containers if isinstance(containers, str) else json.dumps(containers if containers is not None else [ecs_container()])
    body = {"family": "api", "cpu": "1024", "memory": "2048", "networkMode": "awsvpc", "containerDefinitions": definitions}
    body.update(inputs)
    return res("aws:ecs/taskDefinition:TaskDefinition", body, name="api-task")
