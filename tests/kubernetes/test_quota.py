"""The namespace's ResourceQuota fits everything the stack runs in it, at its largest.

The API server rejects a pod whose limits would push the namespace past its quota: a quota that
forgot a sidecar, a Job or an HPA's maximum shows up as pods that never start. Counted here from
the plan: each Deployment at its HPA maximum plus one surge pod (run by an Argo Rollout: plus
the canary's maxSurge, or twice for blue/green), each StatefulSet at its replicas,
each Job and CronJob once; a pod counts its containers' limits plus its native sidecars' (or its
largest init container's with the sidecars started before it, if that is more).
"""

from __future__ import annotations

import math

import pytest

from tests.helpers import k8s_objects, plan_of
from tests.kubernetes.rollout_plans import ROLLOUT_PLANS, objects_of
from tests.test_network_flows import KUBERNETES_STACKS

UNITS = {"m": 0.001, "": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value: str) -> float:
    for suffix in sorted(UNITS, key=len, reverse=True):
        if suffix and value.endswith(suffix):
            return float(value[: -len(suffix)]) * UNITS[suffix]
    return float(value)


def pod_limits(pod_spec: dict) -> tuple[float, float]:
    def total(containers):
        limits = [c.get("resources", {}).get("limits", {}) for c in containers]
        return sum(quantity(l.get("cpu", "0")) for l in limits), sum(quantity(l.get("memory", "0")) for l in limits)

    # native sidecars (init containers with restartPolicy Always) run beside everything after them
    inits = pod_spec.get("initContainers") or ()
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    side_cpu, side_memory = total(sidecars)
    cpu, memory = total(pod_spec["containers"])
    cpu, memory = cpu + side_cpu, memory + side_memory
    started: list = []
    for init in inits:
        if init.get("restartPolicy") == "Always":
            started.append(init)
            continue
        init_cpu, init_memory = total([init, *started])
        cpu, memory = max(cpu, init_cpu), max(memory, init_memory)
    return cpu, memory


def _release_peak(rollout: dict, maximum: int) -> int:
    strategy = rollout["spec"]["strategy"]
    if "blueGreen" in strategy:
        return 2 * maximum
    surge = strategy["canary"].get("maxSurge", "25%")
    return maximum + (math.ceil(maximum * int(surge[:-1]) / 100) if str(surge).endswith("%") else int(surge))


@pytest.mark.parametrize("stack", tuple(dict.fromkeys(KUBERNETES_STACKS + ROLLOUT_PLANS)))
def test_quota_covers_every_workload_at_its_largest(stack):
    objects = objects_of(stack) if stack in ROLLOUT_PLANS else k8s_objects(plan_of(stack).capture.resources)
    rollouts = {o["spec"]["workloadRef"]["name"]: o for o in objects if o["kind"] == "Rollout"}
    (quota,) = [o for o in objects if o["kind"] == "ResourceQuota"]
    namespace = quota["metadata"]["namespace"]
    hpa_max = {o["spec"]["scaleTargetRef"]["name"]: o["spec"]["maxReplicas"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    cpu = memory = pods = 0.0
    for o in objects:
        if o["metadata"].get("namespace") != namespace:
            continue
        if o["kind"] == "Deployment" and o["metadata"]["name"] in rollouts:
            name = o["metadata"]["name"]
            count, spec = _release_peak(rollouts[name], hpa_max[name]), o["spec"]["template"]["spec"]
        elif o["kind"] == "Deployment":
            count, spec = hpa_max.get(o["metadata"]["name"], o["spec"].get("replicas", 1)) + 1, o["spec"]["template"]["spec"]
        elif o["kind"] == "StatefulSet":
            count, spec = o["spec"]["replicas"], o["spec"]["template"]["spec"]
        elif o["kind"] == "Job":
            count, spec = 1, o["spec"]["template"]["spec"]
        elif o["kind"] == "CronJob":
            count, spec = 1, o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        else:
            continue
        pod_cpu, pod_memory = pod_limits(spec)
        cpu, memory, pods = cpu + count * pod_cpu, memory + count * pod_memory, pods + count
    hard = quota["spec"]["hard"]
    assert cpu <= quantity(hard["limits.cpu"]), (cpu, hard["limits.cpu"])
    assert memory <= quantity(hard["limits.memory"]), (memory / 2**30, hard["limits.memory"])
    assert pods <= int(hard["pods"])
