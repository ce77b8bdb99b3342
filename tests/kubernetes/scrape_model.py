"""Which pods and ports the ServiceMonitors and PodMonitors of a plan really scrape.

Resolved the way the Prometheus Operator does it:
- ServiceMonitor: the Services in `namespaceSelector.matchNames` (default: the monitor's own
  namespace; `any: true`: all) whose labels match `selector`; per endpoint, the Service port whose
  `name` is the endpoint's `port`; its `targetPort` (a container-port name or a number) on the
  pods the Service's own selector picks;
- PodMonitor: the pods in `namespaceSelector` whose labels match `selector`; per endpoint, the
  container port whose name is `port`.
A monitor endpoint that resolves to no pod port scrapes nothing: `Target.pods` is then empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from tests.kubernetes.network_model import Cluster, Endpoint, _selects


@dataclass(frozen=True)
class Target:
    monitor: str  # "<Kind>/<namespace>/<name>"
    job: str  # the `job` label Prometheus gives the series
    port_name: str
    pods: tuple[tuple[Endpoint, int], ...]  # each scraped pod and the port number it serves on


def _namespaces(monitor: Mapping[str, Any], cluster: Cluster) -> set[str]:
    selector = monitor["spec"].get("namespaceSelector") or {}
    if selector.get("any"):
        return set(cluster.namespaces)
    return set(selector.get("matchNames") or [monitor["metadata"]["namespace"]])


def _container_port(pod: Endpoint, port: Any) -> Optional[int]:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        number = int(port)
        return number if any(n == number for _, n, _ in pod.ports) else None
    return next((n for name, n, proto in pod.ports if name == port and proto == "TCP"), None)


def _service_monitor(monitor: Mapping[str, Any], objects: list[dict[str, Any]], cluster: Cluster) -> list[Target]:
    namespaces = _namespaces(monitor, cluster)
    services = [
        o for o in objects
        if o["kind"] == "Service" and o["metadata"]["namespace"] in namespaces
        and _selects(monitor["spec"].get("selector"), o["metadata"].get("labels") or {})
    ]
    targets = []
    for endpoint in monitor["spec"].get("endpoints") or ():
        pods = []
        for service in services:
            job = service["metadata"]["name"]
            for service_port in service["spec"].get("ports") or ():
                if service_port.get("name") != endpoint.get("port"):
                    continue
                target_port = service_port.get("targetPort", service_port["port"])
                selector = {"matchLabels": service["spec"].get("selector") or {}}
                for pod in cluster.endpoints:
                    if pod.namespace == service["metadata"]["namespace"] and service["spec"].get("selector") and _selects(selector, pod.labels):
                        number = _container_port(pod, target_port)
                        if number is not None:
                            pods.append((pod, number))
            targets.append(Target(_monitor_id(monitor), job, endpoint.get("port"), tuple(pods)))
        if not services:
            targets.append(Target(_monitor_id(monitor), monitor["metadata"]["name"], endpoint.get("port"), ()))
    return targets


def _pod_monitor(monitor: Mapping[str, Any], cluster: Cluster) -> list[Target]:
    namespaces = _namespaces(monitor, cluster)
    selected = [
        pod for pod in cluster.endpoints
        if pod.namespace in namespaces and _selects(monitor["spec"].get("selector"), pod.labels)
    ]
    job_label = monitor["spec"].get("jobLabel")
    targets = []
    for endpoint in monitor["spec"].get("podMetricsEndpoints") or ():
        pods = [(pod, n) for pod in selected if (n := _container_port(pod, endpoint.get("port"))) is not None]
        jobs = {pod.labels.get(job_label) for pod, _ in pods} if job_label else set()
        job = jobs.pop() if len(jobs) == 1 and None not in jobs else f"{monitor['metadata']['namespace']}/{monitor['metadata']['name']}"
        targets.append(Target(_monitor_id(monitor), job, endpoint.get("port"), tuple(pods)))
    return targets


def _monitor_id(monitor: Mapping[str, Any]) -> str:
    return f"{monitor['kind']}/{monitor['metadata']['namespace']}/{monitor['metadata']['name']}"


def scrape_targets(objects: list[dict[str, Any]], cluster: Cluster) -> list[Target]:
    """Every endpoint of every ServiceMonitor and PodMonitor in `objects`."""
    targets: list[Target] = []
    for obj in objects:
        if obj["kind"] == "ServiceMonitor":
            targets += _service_monitor(obj, objects, cluster)
        elif obj["kind"] == "PodMonitor":
            targets += _pod_monitor(obj, cluster)
    return targets
