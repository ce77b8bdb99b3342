"""One view of "the containers a resource runs", across Kubernetes, Cloud Run and ECS.

Container rules (`containers.py`) and the plain-env secret rule (`secrets.py`) iterate
`container_views(args, check)` (`containers_of` plus the unreadable/invalid-list handling they
share) and judge each `ContainerView`, whatever the platform:

- Kubernetes workloads: the pod template of Deployments, StatefulSets, DaemonSets, ReplicaSets,
  Jobs, CronJobs (under `spec.jobTemplate`) and bare Pods; init containers included.
- Cloud Run v2: `template.containers` of services and worker pools, `template.template.containers`
  of jobs.
- ECS: `containerDefinitions`, a JSON *string* in the engine's inputs, parsed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .base import Check
from .props import Invalid, Unknown, get, is_unknown, items, parse_json, seq

K8S_POD_SPEC: dict[str, str] = {
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
    "kubernetes:core/v1:Pod": "spec",
}
K8S_LONG_RUNNING = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:apps/v1:ReplicaSet",
        "kubernetes:core/v1:Pod",
    }
)
CLOUD_RUN_CONTAINERS: dict[str, str] = {
    "gcp:cloudrunv2/service:Service": "template.containers",
    "gcp:cloudrunv2/job:Job": "template.template.containers",
    "gcp:cloudrunv2/workerPool:WorkerPool": "template.containers",
}
ECS_TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"

K8S_WORKLOADS = tuple(K8S_POD_SPEC)
CLOUD_RUN = tuple(CLOUD_RUN_CONTAINERS)
ALL_CONTAINER_TYPES = K8S_WORKLOADS + CLOUD_RUN + (ECS_TASK_DEFINITION,)


@dataclass
class ContainerView:
    platform: str  # "kubernetes" | "cloudrun" | "ecs"
    label: str  # "container 'api'", "init container 'migrate'"
    where: str  # property path, for "cannot verify" notes
    data: Any  # the container (Mapping) or Unknown
    init: bool = False
    long_running: bool = True
    pod: Any = None  # Kubernetes pod spec (pod-level securityContext)
    ecs_task: Any = None  # the ECS task definition props (task-level cpu/memory)

    def get(self, path: str, default: Any = None, *, secret_ok: bool = False) -> Any:
        return get(self.data, path, default, secret_ok=secret_ok)


@dataclass
class Containers:
    """The containers of a resource, plus anything that stopped us from listing them."""

    views: list[ContainerView] = field(default_factory=list)
    unknown: Optional[Unknown] = None  # the list itself could not be read
    invalid: Optional[str] = None  # e.g. containerDefinitions is not JSON


def _name(container: Any, fallback: str) -> str:
    name = get(container, "name")
    return name if isinstance(name, str) and name else fallback


def containers_of(resource_type: str, props: Any, *, include_init: bool = True) -> Containers:
    found = Containers()
    if resource_type in K8S_POD_SPEC:
        base = K8S_POD_SPEC[resource_type]
        pod = get(props, base)
        if is_unknown(pod):
            found.unknown = pod
            return found
        long_running = resource_type in K8S_LONG_RUNNING
        if resource_type == "kubernetes:core/v1:Pod" and get(pod, "restartPolicy") in ("Never", "OnFailure"):
            long_running = False
        groups = [("containers", False)] + ([("initContainers", True)] if include_init else [])
        for key, is_init in groups:
            listed = seq(get(pod, key), f"{base}.{key}")
            if is_unknown(listed):
                found.unknown = listed
                continue
            for index, container in enumerate(listed):
                where = f"{base}.{key}[{index}]"
                label = ("init container" if is_init else "container") + f" '{_name(container, str(index))}'"
                found.views.append(
                    ContainerView("kubernetes", label, where, container, is_init, long_running and not is_init, pod)
                )
        return found
    if resource_type in CLOUD_RUN_CONTAINERS:
        base = CLOUD_RUN_CONTAINERS[resource_type]
        listed = seq(get(props, base), base)
        if is_unknown(listed):
            found.unknown = listed
            return found
        long_running = resource_type != "gcp:cloudrunv2/job:Job"
        for index, container in enumerate(listed):
            label = f"container '{_name(container, str(index))}'"
            found.views.append(ContainerView("cloudrun", label, f"{base}[{index}]", container, False, long_running))
        return found
    if resource_type == ECS_TASK_DEFINITION:
        parsed = parse_json(get(props, "containerDefinitions", secret_ok=True), "containerDefinitions")
        if is_unknown(parsed):
            found.unknown = parsed
            return found
        if isinstance(parsed, Invalid):
            found.invalid = "containerDefinitions is not valid JSON"
            return found
        listed = seq(parsed, "containerDefinitions")
        if is_unknown(listed):
            found.unknown = listed
            return found
        for index, container in enumerate(listed):
            label = f"container '{_name(container, str(index))}'"
            found.views.append(
                ContainerView("ecs", label, f"containerDefinitions[{index}]", container, ecs_task=props)
            )
        return found
    return found


def container_views(args: Any, check: Check, *, include_init: bool = True) -> list[ContainerView]:
    """The containers of the resource a rule is judging (`args`: its ResourceValidationArgs); a
    container list that cannot be read is recorded as "cannot verify", one that is invalid fails."""
    found = containers_of(args.resource_type, args.props, include_init=include_init)
    if found.unknown is not None:
        check.unknown("the container list", found.unknown)
    if found.invalid:
        check.fail(found.invalid)
    return found.views


def pod_security(view: ContainerView, key: str) -> Any:
    """A Kubernetes security setting: the container's securityContext overrides the pod's."""
    own = view.get(f"securityContext.{key}")
    if own is not None:
        return own
    return get(view.pod, f"securityContext.{key}")


def has_ports(view: ContainerView) -> Union[bool, Unknown]:
    ports = view.get("ports") if view.platform != "ecs" else view.get("portMappings")
    if is_unknown(ports):
        return ports
    if ports is None:
        return False
    if view.platform == "cloudrun":
        return True  # a Cloud Run `ports` block names the serving port
    listed = seq(ports)
    return len(listed) > 0 if not is_unknown(listed) else listed


# ---------------------------------------------------------------------------------------------
# Kubernetes object helpers for stack policies
# ---------------------------------------------------------------------------------------------

HPA_TYPES = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
PDB_TYPE = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
REPLICATED_WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:ReplicaSet")


def k8s_namespace(props: Any) -> Any:
    """metadata.namespace; 'default' when unset (what the API server uses)."""
    namespace = get(props, "metadata.namespace")
    return "default" if namespace is None or namespace == "" else namespace


def k8s_name(props: Any, fallback: str) -> Any:
    name = get(props, "metadata.name")
    return fallback if name is None else name


def selector_matches(selector: Any, labels: Any) -> Union[bool, Unknown]:
    """Does a LabelSelector (matchLabels + matchExpressions) select pods with `labels`?

    A null (absent) selector selects nothing: policy/v1 PodDisruptionBudget "A null selector will
    match no pods, while an empty ({}) selector will select all pods within the namespace". A
    selector that is not a mapping, or whose matchLabels is not one, is malformed and selects
    nothing either (the API server would refuse it)."""
    if is_unknown(selector):
        return selector
    if is_unknown(labels):
        return labels
    if not isinstance(selector, Mapping):
        return False
    raw_labels = get(selector, "matchLabels")
    if is_unknown(raw_labels):
        return raw_labels
    if raw_labels is not None and not isinstance(raw_labels, Mapping):
        return False
    match_labels = items(raw_labels, "matchLabels")
    for key, wanted in match_labels:
        have = get(labels, (key,))
        if is_unknown(wanted):
            return wanted
        if is_unknown(have):
            return have
        if have != wanted:
            return False
    expressions = seq(get(selector, "matchExpressions"))
    if is_unknown(expressions):
        return expressions
    for expr in expressions:
        key, op = get(expr, "key"), get(expr, "operator")
        values = seq(get(expr, "values"))
        for part in (key, op, values):
            if is_unknown(part):
                return part
        have = get(labels, (key,)) if isinstance(key, str) else None
        if is_unknown(have):
            return have
        if op == "In" and have not in list(values):
            return False
        if op == "NotIn" and have in list(values):
            return False
        if op == "Exists" and have is None:
            return False
        if op == "DoesNotExist" and have is not None:
            return False
    return True


def selects_everything(selector: Any) -> Union[bool, Unknown]:
    if is_unknown(selector):
        return selector
    if selector is None:
        return True
    match_labels, expressions = get(selector, "matchLabels"), get(selector, "matchExpressions")
    for part in (match_labels, expressions):
        if is_unknown(part):
            return part
    return not match_labels and not expressions
