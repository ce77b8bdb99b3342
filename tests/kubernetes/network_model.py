"""What the NetworkPolicies of a plan let through, computed the way a cluster enforces them.

Endpoints are the pods of the plan (pod templates of Deployments, StatefulSets, Jobs, CronJobs,
DaemonSets, by their labels and container ports), the pods the plan's Helm charts run (modelled
from the Release values: the ingress-nginx controller, Prometheus, Grafana, the Argo Rollouts
controller), the cluster DNS in
kube-system, a stranger pod in another namespace that even carries the platform's labels, and
addresses outside the cluster (the internet, Google's load balancers, the VPC's private-service
range, the metadata server).

A flow (source, destination, port, protocol) is allowed when both ends let it through
(Kubernetes NetworkPolicy semantics):
- a pod is isolated for a direction when any policy of its namespace selects it and names that
  direction in `policyTypes` (default: Ingress, plus Egress when the policy has egress rules);
- a non-isolated direction allows everything; an isolated one allows what the union of the rules
  of the policies selecting the pod allow (policies add up, none subtracts);
- a rule with no `from`/`to` matches every peer, with no `ports` every port; a peer with only a
  `podSelector` means pods of the policy's namespace, with only a `namespaceSelector` every pod of
  the matching namespaces, with both the matching pods of the matching namespaces; an `ipBlock`
  matches addresses in its CIDR and not in its `except` ranges (pods have addresses in the pod
  range, so an ipBlock that covers it would match them too);
- named ports resolve against the destination pod's container ports; `endPort` opens a range.
Outside-cluster addresses have no policies of their own: only the pod side decides.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

PORT_PROBE = 65000  # a port nobody serves: reachable only through a rule that opens every port
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# the images the charts run (repository only: the chart version pins the tag)
CHART_IMAGES = {
    "ingress-nginx": "registry.k8s.io/ingress-nginx/controller",
    "prometheus": "quay.io/prometheus/prometheus",
    "grafana": "docker.io/grafana/grafana",
    "argo-rollouts": "quay.io/argoproj/argo-rollouts",
}
POD_TEMPLATES = {
    "Deployment": "spec.template",
    "StatefulSet": "spec.template",
    "DaemonSet": "spec.template",
    "Job": "spec.template",
    "CronJob": "spec.jobTemplate.spec.template",
}


@dataclass(frozen=True)
class Endpoint:
    """A workload's pods (namespace + labels + ports) or an address outside the cluster."""

    name: str
    namespace: Optional[str] = None  # None: outside the cluster
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[tuple[Optional[str], int, str], ...] = ()  # (name, number, protocol)
    ip: str = ""
    receives: bool = True  # False: an outside address that only ever sends (a load balancer)
    images: Mapping[int, str] = field(default_factory=dict)  # container port -> image serving it

    @property
    def in_cluster(self) -> bool:
        return self.namespace is not None


@dataclass(frozen=True)
class Flow:
    source: str
    destination: str
    port: int
    protocol: str = "TCP"

    def __str__(self) -> str:
        return f"{self.source} -> {self.destination}:{self.port}/{self.protocol}"


def _dig(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _selects(selector: Optional[Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    """Label-selector semantics: matchLabels and matchExpressions; {} selects everything."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or ())
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass
class Cluster:
    """Namespaces (name -> labels), endpoints, and NetworkPolicies (manifests)."""

    namespaces: dict[str, dict[str, str]]
    endpoints: list[Endpoint]
    policies: list[dict[str, Any]]

    def endpoint(self, name: str) -> Endpoint:
        (found,) = [e for e in self.endpoints if e.name == name]
        return found

    def policed_namespaces(self) -> set[str]:
        return {p["metadata"]["namespace"] for p in self.policies}

    # --- enforcement ----------------------------------------------------------------------------

    def _isolating(self, pod: Endpoint, direction: str) -> list[dict[str, Any]]:
        found = []
        for policy in self.policies:
            spec = policy["spec"]
            if policy["metadata"]["namespace"] != pod.namespace or not _selects(spec.get("podSelector"), pod.labels):
                continue
            types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if spec.get("egress") else []))
            if direction in types:
                found.append(policy)
        return found

    def _peer_matches(self, peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
        block = peer.get("ipBlock")
        if block is not None:
            address = ipaddress.ip_address(other.ip)
            return address in ipaddress.ip_network(block["cidr"]) and not any(
                address in ipaddress.ip_network(e) for e in block.get("except") or ()
            )
        if not other.in_cluster:
            return False
        if "namespaceSelector" in peer:
            if not _selects(peer["namespaceSelector"], self.namespaces[other.namespace]):
                return False
        elif other.namespace != policy_namespace:
            return False
        return _selects(peer.get("podSelector"), other.labels)

    @staticmethod
    def _port_matches(rule_ports: Optional[list[dict[str, Any]]], destination: Endpoint, port: int, protocol: str) -> bool:
        if not rule_ports:
            return True
        for p in rule_ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            number = p.get("port")
            if number is None:
                return True
            if isinstance(number, str) and not number.isdigit():
                numbers = [n for name, n, proto in destination.ports if name == number and proto == protocol]
                if port in numbers:
                    return True
                continue
            if int(number) <= port <= int(p.get("endPort") or number):
                return True
        return False

    def _side_allows(self, pod: Endpoint, other: Endpoint, destination: Endpoint, port: int, protocol: str, direction: str) -> bool:
        policies = self._isolating(pod, direction)
        if not policies:
            return True
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in policies:
            for rule in policy["spec"].get(key) or ():
                peers = rule.get(peers_key)
                if peers and not any(self._peer_matches(p, policy["metadata"]["namespace"], other) for p in peers):
                    continue
                if self._port_matches(rule.get("ports"), destination, port, protocol):
                    return True
        return False

    def allows(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
        if source.in_cluster and not self._side_allows(source, destination, destination, port, protocol, "Egress"):
            return False
        if destination.in_cluster and not self._side_allows(destination, source, destination, port, protocol, "Ingress"):
            return False
        return True

    # --- the whole matrix -------------------------------------------------------------------------

    def probe_ports(self, destination: Endpoint) -> set[tuple[int, str]]:
        """The ports worth asking about: what the destination serves (all of it, for an address
        outside the cluster: every port any pod or policy names), plus one nobody serves."""
        if destination.in_cluster:
            ports = {(n, proto) for _, n, proto in destination.ports}
        else:
            ports = {(n, proto) for e in self.endpoints for _, n, proto in e.ports}
            for policy in self.policies:
                for rule in (policy["spec"].get("ingress") or []) + (policy["spec"].get("egress") or []):
                    for p in rule.get("ports") or ():
                        if isinstance(p.get("port"), int):
                            ports.add((p["port"], p.get("protocol", "TCP")))
        return ports | {(PORT_PROBE, "TCP"), (PORT_PROBE, "UDP")}

    def open_flows(self, scope: Iterable[str]) -> set[Flow]:
        """Every allowed flow with at least one end in a namespace of `scope`."""
        scope = set(scope)
        found = set()
        for source in self.endpoints:
            for destination in self.endpoints:
                if not destination.receives or (source is destination and not source.in_cluster):
                    continue
                if source.namespace not in scope and destination.namespace not in scope:
                    continue
                for port, protocol in self.probe_ports(destination):
                    if self.allows(source, destination, port, protocol):
                        found.add(Flow(source.name, destination.name, port, protocol))
        return found


# --- building the cluster from a plan -----------------------------------------------------------


def _container_ports(pod_spec: Mapping[str, Any]) -> tuple[tuple[Optional[str], int, str], ...]:
    return tuple(
        (p.get("name"), int(p["containerPort"]), p.get("protocol", "TCP"))
        for c in pod_spec.get("containers") or ()
        for p in c.get("ports") or ()
    )


def _port_images(pod_spec: Mapping[str, Any]) -> dict[int, str]:
    return {
        int(p["containerPort"]): c.get("image", "")
        for c in pod_spec.get("containers") or ()
        for p in c.get("ports") or ()
    }


def _pod_address(index: int) -> str:
    return f"10.250.{index // 250}.{index % 250 + 1}"  # the model's pod range (private, like any CNI's)


def plan_pods(objects: list[dict[str, Any]]) -> list[Endpoint]:
    """One endpoint per pod template; named after its `app.kubernetes.io/name` (or the object)."""
    pods = []
    for obj in objects:
        path = POD_TEMPLATES.get(obj.get("kind", ""))
        template = _dig(obj, path) if path else None
        if not template:
            continue
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        name = labels.get("app.kubernetes.io/name", obj["metadata"]["name"])
        spec = template["spec"]
        pods.append(
            Endpoint(
                name, obj["metadata"]["namespace"], labels, _container_ports(spec), _pod_address(len(pods)),
                images=_port_images(spec),
            )
        )
    return pods


def chart_pods(releases: list[Mapping[str, Any]], first_address: int) -> list[Endpoint]:
    """The pods the plan's Helm releases run that talk to the platform, from their values."""
    pods = []
    for release in releases:
        values, namespace, name = release.get("values") or {}, release["namespace"], release["name"]
        if release["chart"] == "ingress-nginx":
            controller = values.get("controller") or {}
            labels = {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": name,
                "app.kubernetes.io/component": "controller",
                **(controller.get("podLabels") or {}),
            }
            ports = [("http", 80, "TCP"), ("https", 443, "TCP"), ("webhook", 8443, "TCP")]
            metrics = controller.get("metrics") or {}
            if metrics.get("enabled"):
                ports.append((metrics.get("portName", "metrics"), int(metrics.get("port", 10254)), "TCP"))
            pods.append(("ingress-nginx", namespace, labels, tuple(ports), CHART_IMAGES["ingress-nginx"]))
        if release["chart"] == "kube-prometheus-stack":
            prometheus = {"app.kubernetes.io/name": "prometheus", "prometheus": f"{name}-prometheus"}
            pods.append(("prometheus", namespace, prometheus, (("http-web", 9090, "TCP"),), CHART_IMAGES["prometheus"]))
            grafana = {"app.kubernetes.io/name": "grafana"}
            pods.append(("grafana", namespace, grafana, (("grafana", 3000, "TCP"),), CHART_IMAGES["grafana"]))
        if release["chart"] == "argo-rollouts":
            controller = values.get("controller") or {}
            labels = {
                "app.kubernetes.io/name": "argo-rollouts",
                "app.kubernetes.io/instance": name,
                "app.kubernetes.io/component": controller.get("component", "rollouts-controller"),
                **(values.get("podLabels") or {}),
                **(controller.get("podLabels") or {}),
            }
            container_ports = controller.get("containerPorts") or {}
            ports = (("metrics", int(container_ports.get("metrics", 8090)), "TCP"), ("healthz", int(container_ports.get("healthz", 8080)), "TCP"))
            pods.append(("argo-rollouts", namespace, labels, ports, CHART_IMAGES["argo-rollouts"]))
    return [
        Endpoint(n, ns, labels, ports, _pod_address(first_address + i), images={p[1]: image for p in ports})
        for i, (n, ns, labels, ports, image) in enumerate(pods)
    ]


def cluster_of(
    objects: list[dict[str, Any]],
    releases: list[Mapping[str, Any]],
    outside: Mapping[str, str],
    senders: Mapping[str, str] = {},
) -> Cluster:
    """The cluster a plan builds, with the fixtures every cluster has, `outside` addresses
    (name -> IP) for the world beyond it and `senders`, outside addresses that only send."""
    namespaces = {
        "kube-system": {NAMESPACE_NAME_LABEL: "kube-system"},
        "elsewhere": {NAMESPACE_NAME_LABEL: "elsewhere"},
    }
    for obj in objects:
        if obj["kind"] == "Namespace":
            name = obj["metadata"]["name"]
            namespaces[name] = {**(obj["metadata"].get("labels") or {}), NAMESPACE_NAME_LABEL: name}
    pods = plan_pods(objects)
    for release in releases:
        namespaces.setdefault(release["namespace"], {NAMESPACE_NAME_LABEL: release["namespace"]})
    pods += chart_pods(releases, len(pods))
    platform_labels = next((p.labels for p in pods if "app" in p.labels), {})
    pods += [
        Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")), "10.250.99.10"),
        # a pod of another team, in another namespace, that copies the platform's labels
        Endpoint("stranger", "elsewhere", {**platform_labels, "app.kubernetes.io/name": "prometheus"}, (("http", 8080, "TCP"),), "10.250.99.20"),
    ]
    pods += [Endpoint(name, None, {}, (), ip) for name, ip in outside.items()]
    pods += [Endpoint(name, None, {}, (), ip, receives=False) for name, ip in senders.items()]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    return Cluster(namespaces, pods, policies)
