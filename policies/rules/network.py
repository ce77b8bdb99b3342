"""Network exposure: default-deny in-cluster traffic, nothing public that should be private.

Seeds 000/001/003: NetworkPolicies restrict pod-to-pod traffic (ingress only from authorized
sources, egress only to required services), VPC/subnet isolation; the only public entry point is
the edge (CDN + WAF + TLS) in front of the load balancer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .base import Check, resource_policy, stack_policy
from .props import get, is_unknown, items, seq, short, truthy
from .workloads import K8S_POD_SPEC, NETWORK_POLICY, k8s_name, k8s_namespace, selects_everything

# ---------------------------------------------------------------------------------------------


def _denies(props: Any) -> tuple[Any, Any]:
    """(denies all ingress, denies all egress) for the pods a NetworkPolicy selects."""
    spec = get(props, "spec")
    if is_unknown(spec):
        return spec, spec
    types = seq(get(spec, "policyTypes"), "spec.policyTypes")
    if is_unknown(types):
        return types, types
    ingress, egress = get(spec, "ingress"), get(spec, "egress")
    if not types:
        types = ["Ingress"] + (["Egress"] if egress else [])
    deny_in = "Ingress" in types and (ingress if is_unknown(ingress) else not ingress)
    deny_out = "Egress" in types and (egress if is_unknown(egress) else not egress)
    return deny_in, deny_out


@stack_policy(
    name="default-deny-network-policy",
    theme="network",
    summary="Every namespace that runs workloads has a default-deny NetworkPolicy for ingress and egress.",
    severity=Severity.HIGH,
    types=(NETWORK_POLICY,) + tuple(K8S_POD_SPEC),
    checks="For each namespace with Deployments/StatefulSets/DaemonSets/Jobs/CronJobs/Pods: a NetworkPolicy "
    "with an empty podSelector whose policyTypes include Ingress and Egress with no allow rules (one policy "
    "or two); allow rules then open only the flows each service needs.",
    source="seed 000 (Security Hardening: network policies); seed 001 (restrict inter-pod communication, "
    "deny egress except to required services); seed 003 (network policies for pod-to-pod communication)",
    remediation="Create `NetworkPolicy {podSelector: {}, policyTypes: [Ingress, Egress]}` in the namespace, "
    "then allow DNS, ingress-controller -> web services, services -> data services, and HTTPS egress "
    "where needed.",
    url="https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies",
)
def default_deny_network_policy(args: StackValidationArgs, check: Check) -> None:
    workloads: dict[str, list[Any]] = defaultdict(list)
    denied: dict[str, list[bool]] = defaultdict(lambda: [False, False])
    for r in args.resources:
        if r.resource_type in K8S_POD_SPEC:
            namespace = k8s_namespace(r.props)
            if check.known(namespace, f"namespace of {short(r.resource_type)} {r.name}"):
                workloads[str(namespace)].append(r)
        elif r.resource_type == NETWORK_POLICY:
            namespace = k8s_namespace(r.props)
            if not check.known(namespace, f"namespace of NetworkPolicy {r.name}"):
                continue
            everything = selects_everything(get(r.props, "spec.podSelector"))
            if not check.known(everything, f"podSelector of NetworkPolicy {r.name}") or not everything:
                continue
            deny_in, deny_out = _denies(r.props)
            if check.known(deny_in, f"ingress rules of NetworkPolicy {r.name}") and deny_in:
                denied[str(namespace)][0] = True
            if check.known(deny_out, f"egress rules of NetworkPolicy {r.name}") and deny_out:
                denied[str(namespace)][1] = True
    for namespace, members in sorted(workloads.items()):
        deny_in, deny_out = denied[namespace]
        missing = [d for d, ok in (("ingress", deny_in), ("egress", deny_out)) if not ok]
        if missing:
            names = ", ".join(f"{short(m.resource_type)} {k8s_name(m.props, m.name)}" for m in members[:4])
            check.fail(
                f"namespace {namespace!r} runs workloads ({names}{', ...' if len(members) > 4 else ''}) but has no "
                f"default-deny NetworkPolicy for {' and '.join(missing)} (podSelector: {{}}, no allow rules).",
                members[0].urn,
            )


# ---------------------------------------------------------------------------------------------

_INTERNAL_LB_ANNOTATIONS = {
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}


@resource_policy(
    name="no-public-load-balancer-service",
    theme="network",
    summary="Kubernetes Services are not exposed through public cloud load balancers.",
    severity=Severity.HIGH,
    types=("kubernetes:core/v1:Service",),
    checks="`spec.type: LoadBalancer` only with an internal load-balancer annotation (GKE "
    "networking.gke.io/load-balancer-type: Internal, AWS aws-load-balancer-scheme: internal, ...); "
    "public traffic enters through the Ingress/edge (WAF + TLS).",
    source="seed 000 (architecture: CDN -> WAF -> load balancer); seed 003 (VPC/subnet isolation)",
    remediation="Use `type: ClusterIP` behind the Ingress, or add the provider's internal load-balancer annotation.",
)
def no_public_load_balancer_service(args: ResourceValidationArgs, check: Check) -> None:
    kind = get(args.props, "spec.type")
    if not check.known(kind, "spec.type") or kind != "LoadBalancer":
        return
    annotations = items(get(args.props, "metadata.annotations"), "metadata.annotations")
    if not check.known(annotations, "metadata.annotations"):
        return
    for key, value in annotations:
        expected = _INTERNAL_LB_ANNOTATIONS.get(key)
        if expected is None:
            continue
        if not check.known(value, f"annotation {key}"):
            return
        if str(value).lower() == expected:
            return
    check.fail("Service is type LoadBalancer without an internal load-balancer annotation: it is reachable from the internet.")


@resource_policy(
    name="gke-private-nodes",
    theme="network",
    summary="GKE nodes have private IP addresses only.",
    severity=Severity.HIGH,
    types=("gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"),
    checks="Cluster: `privateClusterConfig.enablePrivateNodes: true` and no inline node pool with "
    "`networkConfig.enablePrivateNodes: false`; NodePool: `networkConfig.enablePrivateNodes` not false.",
    source="DESIGN (gke: private regional GKE cluster); seed 003 (VPC/subnet isolation); CIS GKE Benchmark 6.6.5",
    remediation="Set `private_cluster_config=ClusterPrivateClusterConfigArgs(enable_private_nodes=True, "
    "master_ipv4_cidr_block=...)` and give nodes egress through Cloud NAT.",
    url="https://cloud.google.com/kubernetes-engine/docs/how-to/private-clusters",
)
def gke_private_nodes(args: ResourceValidationArgs, check: Check) -> None:
    if args.resource_type == "gcp:container/cluster:Cluster":
        private = truthy(get(args.props, "privateClusterConfig.enablePrivateNodes"))
        if check.known(private, "privateClusterConfig.enablePrivateNodes") and private is not True:
            check.fail("cluster nodes get public IPs: set privateClusterConfig.enablePrivateNodes: true.")
        pools = seq(get(args.props, "nodePools"), "nodePools")
        if check.known(pools, "nodePools"):
            for index, pool in enumerate(pools):
                value = truthy(get(pool, "networkConfig.enablePrivateNodes"))
                if check.known(value, f"nodePools[{index}].networkConfig.enablePrivateNodes") and value is False:
                    check.fail(f"node pool {index} overrides enablePrivateNodes to false.")
        return
    value = truthy(get(args.props, "networkConfig.enablePrivateNodes"))
    if check.known(value, "networkConfig.enablePrivateNodes") and value is False:
        check.fail("node pool sets networkConfig.enablePrivateNodes: false (public node IPs).")


@resource_policy(
    name="ecs-no-public-ip",
    theme="network",
    summary="ECS tasks get no public IP address.",
    severity=Severity.HIGH,
    types=("aws:ecs/service:Service",),
    checks="`networkConfiguration.assignPublicIp` is not true (tasks run in private subnets behind the ALB).",
    source="DESIGN (ecs: ALB origin, private subnets); seed 003 (VPC/subnet isolation)",
    remediation="Run tasks in private subnets with a NAT gateway or VPC endpoints and set assign_public_ip=False.",
)
def ecs_no_public_ip(args: ResourceValidationArgs, check: Check) -> None:
    value = truthy(get(args.props, "networkConfiguration.assignPublicIp"))
    if check.known(value, "networkConfiguration.assignPublicIp") and value is True:
        check.fail("service assigns public IPs to its tasks (networkConfiguration.assignPublicIp: true).")


_RESTRICTED_INGRESS = ("INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")


@resource_policy(
    name="cloudrun-ingress-restricted",
    theme="network",
    summary="Cloud Run services accept traffic only from the load balancer or the VPC.",
    severity=Severity.HIGH,
    types=("gcp:cloudrunv2/service:Service",),
    checks="`ingress` is INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER or INGRESS_TRAFFIC_INTERNAL_ONLY (unset means "
    "INGRESS_TRAFFIC_ALL: the run.app URL would bypass Cloud Armor and the SSL policy).",
    source="DESIGN (cloudrun: global external Application LB with Cloud Armor); seed 000 (CDN -> WAF -> LB)",
    remediation="Set `ingress=\"INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER\"` for services behind the load balancer "
    "and `INGRESS_TRAFFIC_INTERNAL_ONLY` for workers and internal services.",
    url="https://cloud.google.com/run/docs/securing/ingress",
)
def cloudrun_ingress_restricted(args: ResourceValidationArgs, check: Check) -> None:
    ingress = get(args.props, "ingress")
    if check.known(ingress, "ingress") and ingress not in _RESTRICTED_INGRESS:
        shown = ingress if isinstance(ingress, str) else "unset (INGRESS_TRAFFIC_ALL)"
        check.fail(f"ingress is {shown}: the service is reachable directly from the internet.")
