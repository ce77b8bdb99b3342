"""Pod Security: the pod-level parts of the Kubernetes Pod Security Standards the container rules leave.

`containers.py` judges each container's own securityContext (non-root, read-only root, no privilege
escalation, dropped capabilities). A pod can still break out through its pod spec: the host's
network, PID or IPC namespace, a hostPath volume (the node's file system), an unconfined seccomp
profile, or a service-account token mounted into a pod that never talks to the API server (a stolen
token is then a free credential). NodePort Services open a port on every node, beside the edge.

Sources: Kubernetes Pod Security Standards (baseline: host namespaces, hostPath; restricted:
seccomp RuntimeDefault/Localhost), CIS Kubernetes Benchmark 5.1.6 (service-account tokens only where
necessary) and 5.2.x, seed 001 (security contexts with minimal privileges).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity, StackValidationArgs

from .base import Check, resource_policy, stack_policy
from .props import get, is_unknown, seq, short, truthy
from .workloads import K8S_POD_SPEC, container_views, k8s_name, k8s_namespace, pod_security

ALLOWED_SECCOMP = ("RuntimeDefault", "Localhost")
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
BINDINGS = ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
SERVICE = "kubernetes:core/v1:Service"


@resource_policy(
    name="pod-seccomp-profile",
    theme="pod-security",
    summary="Every container runs with the RuntimeDefault or a Localhost seccomp profile.",
    severity=Severity.MEDIUM,
    types=tuple(K8S_POD_SPEC),
    checks="Each container's effective `securityContext.seccompProfile.type` (container overrides pod) is "
    "RuntimeDefault or Localhost; unset means Unconfined on most runtimes.",
    source="Kubernetes Pod Security Standards restricted (seccomp); seed 001 (security contexts with minimal "
    "privileges); CIS Kubernetes Benchmark 5.7.2",
    remediation="Set `securityContext.seccompProfile: {type: RuntimeDefault}` on the pod spec.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
)
def pod_seccomp_profile(args: ResourceValidationArgs, check: Check) -> None:
    for view in container_views(args, check):
        profile = pod_security(view, "seccompProfile.type")
        if check.known(profile, f"{view.where}.securityContext.seccompProfile.type") and profile not in ALLOWED_SECCOMP:
            shown = profile if isinstance(profile, str) else "unset (Unconfined)"
            check.fail(f"{view.label} runs with seccomp profile {shown}: use RuntimeDefault or Localhost.")


@resource_policy(
    name="pod-no-host-access",
    theme="pod-security",
    summary="Pods share no host namespace and mount no hostPath volume.",
    severity=Severity.HIGH,
    types=tuple(K8S_POD_SPEC),
    checks="The pod spec sets none of hostNetwork, hostPID, hostIPC to true and has no `volumes[].hostPath`.",
    source="Kubernetes Pod Security Standards baseline (host namespaces, hostPath volumes); CIS Kubernetes "
    "Benchmark 5.2.2-5.2.4; seed 001 (container security)",
    remediation="Remove hostNetwork/hostPID/hostIPC and hostPath volumes; use a Service for networking and "
    "emptyDir, a PVC or a projected volume for files.",
    url="https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
)
def pod_no_host_access(args: ResourceValidationArgs, check: Check) -> None:
    base = K8S_POD_SPEC[args.resource_type]
    pod = get(args.props, base)
    if not check.known(pod, base):
        return
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        value = truthy(get(pod, key))
        if check.known(value, f"{base}.{key}") and value is True:
            check.fail(f"the pod uses the host's {key[4:]} namespace ({key}: true).")
    volumes = seq(get(pod, "volumes"), f"{base}.volumes")
    if not check.known(volumes, f"{base}.volumes"):
        return
    for index, volume in enumerate(volumes):
        host_path = get(volume, "hostPath")
        if check.known(host_path, f"{base}.volumes[{index}].hostPath") and host_path is not None:
            check.fail(f"volume '{get(volume, 'name') or index}' mounts a hostPath: the node's file system.")


def _account_key(namespace: Any, name: Any) -> tuple[str, str]:
    """(namespace, name) as strings: the values come from user props and may be of any type."""
    return str(namespace), str(name)


def _bound_accounts(resources: list[Any], check: Check) -> set[tuple[str, str]]:
    """(namespace, name) of every ServiceAccount a RoleBinding or ClusterRoleBinding names."""
    bound: set[tuple[str, str]] = set()
    for r in resources:
        if r.resource_type not in BINDINGS:
            continue
        subjects = seq(get(r.props, "subjects"), "subjects")
        if not check.known(subjects, f"subjects of {short(r.resource_type)} {r.name}"):
            continue
        for subject in subjects:
            kind, name, namespace = get(subject, "kind"), get(subject, "name"), get(subject, "namespace")
            if any(is_unknown(v) for v in (kind, name, namespace)):
                check.unknown(f"a subject of {short(r.resource_type)} {r.name}")
            elif kind == "ServiceAccount":
                bound.add(_account_key(namespace or k8s_namespace(r.props), name))
    return bound


@stack_policy(
    name="pod-service-account-token",
    theme="pod-security",
    summary="Pods that need no Kubernetes API access do not mount a service-account token.",
    severity=Severity.MEDIUM,
    types=tuple(K8S_POD_SPEC) + (SERVICE_ACCOUNT,) + BINDINGS,
    checks="A pod whose service account (serviceAccountName, default `default`) no RoleBinding/ClusterRoleBinding "
    "names sets `automountServiceAccountToken: false`, or leaves it unset while its ServiceAccount sets it false.",
    source="CIS Kubernetes Benchmark 5.1.6 (service-account tokens only where necessary); Kubernetes Pod Security "
    "Standards guidance; seed 001 (least privilege)",
    remediation="Set `automountServiceAccountToken: false` on the pod spec (or the ServiceAccount); pods that call "
    "the API get a Role and RoleBinding for their own ServiceAccount.",
    url="https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
)
def pod_service_account_token(args: StackValidationArgs, check: Check) -> None:
    resources = list(args.resources)
    bound = _bound_accounts(resources, check)
    account_automount: dict[tuple[str, str], Any] = defaultdict(lambda: None)
    for r in resources:
        if r.resource_type == SERVICE_ACCOUNT:
            account_automount[_account_key(k8s_namespace(r.props), k8s_name(r.props, r.name))] = truthy(
                get(r.props, "automountServiceAccountToken")
            )
    for r in resources:
        if r.resource_type not in K8S_POD_SPEC:
            continue
        base = K8S_POD_SPEC[r.resource_type]
        namespace, account = k8s_namespace(r.props), get(r.props, f"{base}.serviceAccountName")
        mounted = truthy(get(r.props, f"{base}.automountServiceAccountToken"))
        label = f"{short(r.resource_type)} {k8s_name(r.props, r.name)}"
        if not check.known(namespace, f"namespace of {label}") or not check.known(account, f"service account of {label}"):
            continue
        if not check.known(mounted, f"automountServiceAccountToken of {label}"):
            continue
        key = _account_key(namespace, account or "default")
        if key in bound:
            continue
        effective = mounted if mounted is not None else account_automount[key]
        if not check.known(effective, f"automountServiceAccountToken of ServiceAccount {key[1]}"):
            continue
        if effective is not False:
            check.fail(
                f"{label} mounts a token of service account {key[1]!r}, which no RoleBinding grants anything: set "
                "automountServiceAccountToken: false.",
                r.urn,
            )


@resource_policy(
    name="no-nodeport-service",
    theme="pod-security",
    summary="Kubernetes Services are not of type NodePort.",
    severity=Severity.MEDIUM,
    types=(SERVICE,),
    checks="`spec.type` is not NodePort (a NodePort opens the port on every node's address, beside the edge).",
    source="seed 003 (VPC/subnet isolation); DESIGN (the edge is the only public entry point); NSA/CISA Kubernetes "
    "Hardening Guidance (limit exposed services)",
    remediation="Use `type: ClusterIP` behind the Ingress (or an internal load balancer).",
    url="https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport",
)
def no_nodeport_service(args: ResourceValidationArgs, check: Check) -> None:
    kind = get(args.props, "spec.type")
    if check.known(kind, "spec.type") and kind == "NodePort":
        check.fail("Service is type NodePort: its port is open on every node.")
