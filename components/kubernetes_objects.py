"""Building blocks shared by every component that creates Kubernetes objects.

One place for the pod hardening the seeds' security checklists ask for (non-root, read-only root
filesystem, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault), for
object metadata with the project's labels, for the network-policy rules every workload needs,
and for the Ingress rules of both Ingress edges (nginx and GKE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.config import cpu_quantity, memory_quantity

PART_OF = "ai-assistant-platform"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
# The Prometheus Operator labels every Prometheus pod it runs with this; NetworkPolicies admit
# scrapes from these pods only, not from the whole monitoring namespace.
PROMETHEUS_POD_LABELS = {NAME_LABEL: "prometheus"}
METRICS_PORT_NAME = "metrics"  # the container port an exporter (or a built-in endpoint) serves on


@dataclass(frozen=True)
class ScrapeTarget:
    """Pods that serve Prometheus metrics, for a PodMonitor (monitoring) and its NetworkPolicy.

    `name` becomes the PodMonitor's name and the series' `job` label; `metrics` lists metric
    names the alert rules read from this target (the exporter's own names)."""

    name: str
    namespace: pulumi.Input[str]
    pod_labels: Mapping[str, str]
    port_name: str = METRICS_PORT_NAME
    path: str = "/metrics"
    metrics: tuple[str, ...] = ()
    # (Secret name, key) of a Bearer token the endpoint wants (Qdrant's read-only API key)
    bearer_secret: Optional[tuple[str, str]] = None


def selector_labels(name: str) -> dict[str, str]:
    """Labels that select one workload's pods (immutable once a Deployment exists)."""
    return {NAME_LABEL: name, PART_OF_LABEL: PART_OF}


def metadata(
    name: str,
    namespace: Optional[pulumi.Input[str]],
    labels: Mapping[str, str],
    annotations: Optional[Mapping[str, pulumi.Input[str]]] = None,
) -> k8s.meta.v1.ObjectMetaArgs:
    """Explicit, stable object names (no auto-suffix): names never change when config does."""
    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace,
        labels=dict(labels),
        annotations=dict(annotations) if annotations else None,
    )


def pod_security_context(uid: int = 1000) -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        fs_group=uid,
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security_context(uid: int = 1000) -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def resources(cpu: int, memory: int, cpu_limit: int, memory_limit: int) -> k8s.core.v1.ResourceRequirementsArgs:
    """Requests are what the workload is sized for; limits cap bursts (seed 003 uses 2x)."""
    return k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": cpu_quantity(cpu), "memory": memory_quantity(memory)},
        limits={"cpu": cpu_quantity(cpu_limit), "memory": memory_quantity(memory_limit)},
    )


def scratch_volume(name: str = "tmp", size: str = "256Mi") -> k8s.core.v1.VolumeArgs:
    """A writable emptyDir, because the root filesystem is read-only."""
    return k8s.core.v1.VolumeArgs(name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=size))


def secret_env(env_name: str, secret_name: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarArgs:
    """An env var read from a Secret: the only way secrets reach a container."""
    return k8s.core.v1.EnvVarArgs(
        name=env_name,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=key)
        ),
    )


def tcp_ports(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(port=p, protocol="TCP") for p in ports]


def dns_egress_rule() -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """Egress to the cluster DNS (kube-dns / CoreDNS in kube-system) only."""
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                ),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
            )
        ],
        ports=[
            k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="UDP"),
            k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="TCP"),
        ],
    )


def prometheus_peer(monitoring_namespace: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """The Prometheus pods of the monitoring namespace (NetworkPolicy source of every scrape)."""
    return peer(namespace=monitoring_namespace, pod_labels=PROMETHEUS_POD_LABELS)


def network_policy(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    *,
    ingress: Optional[Sequence[k8s.networking.v1.NetworkPolicyIngressRuleArgs]] = None,
    egress: Optional[Sequence[k8s.networking.v1.NetworkPolicyEgressRuleArgs]] = None,
) -> k8s.networking.v1.NetworkPolicy:
    """A NetworkPolicy for the pods with `pod_labels`; policyTypes name exactly the directions given
    (an empty list isolates that direction: nothing in, or nothing out beyond other policies)."""
    types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=metadata(name, namespace, labels),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_labels)),
            policy_types=types,
            ingress=list(ingress) if ingress else None,
            egress=list(egress) if egress else None,
        ),
        opts=opts,
    )


def peer(
    *,
    namespace: Optional[str] = None,
    pod_labels: Optional[Mapping[str, str]] = None,
    cidr: Optional[str] = None,
    except_cidrs: Sequence[str] = (),
) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """A NetworkPolicy peer: pods (optionally in another namespace) or an IP block."""
    if cidr is not None:
        return k8s.networking.v1.NetworkPolicyPeerArgs(
            ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr, except_=list(except_cidrs) or None)
        )
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=(
            k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace})
            if namespace
            else None
        ),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_labels or {})),
    )


def ingress_rule(host: str, paths: Sequence[str], service: pulumi.Input[str], port: int) -> k8s.networking.v1.IngressRuleArgs:
    """An Ingress rule sending `host` and each path prefix under `paths` to one Service port."""
    return k8s.networking.v1.IngressRuleArgs(
        host=host,
        http=k8s.networking.v1.HTTPIngressRuleValueArgs(
            paths=[
                k8s.networking.v1.HTTPIngressPathArgs(
                    path=path,
                    path_type="Prefix",
                    backend=k8s.networking.v1.IngressBackendArgs(
                        service=k8s.networking.v1.IngressServiceBackendArgs(
                            name=service,
                            port=k8s.networking.v1.ServiceBackendPortArgs(number=port),
                        )
                    ),
                )
                for path in paths
            ]
        ),
    )


def pod_disruption_budget(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.policy.v1.PodDisruptionBudget:
    """At most one pod of a multi-replica workload is voluntarily evicted at a time."""
    return k8s.policy.v1.PodDisruptionBudget(
        resource_name,
        metadata=metadata(name, namespace, labels),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
        ),
        opts=opts,
    )


def utc_cron_job_spec(
    schedule: str,
    job_labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
    pod: k8s.core.v1.PodSpecArgs,
    *,
    backoff_limit: int,
    active_deadline_seconds: int,
    starting_deadline_seconds: int,
    history_limit: int,
    ttl_seconds_after_finished: Optional[int] = None,
) -> k8s.batch.v1.CronJobSpecArgs:
    """A CronJob on a UTC schedule whose runs never overlap (`Forbid`): a slow run is not doubled
    by the next, a run missed by a controller outage still starts within `starting_deadline_seconds`."""
    return k8s.batch.v1.CronJobSpecArgs(
        schedule=schedule,
        time_zone="Etc/UTC",
        concurrency_policy="Forbid",
        starting_deadline_seconds=starting_deadline_seconds,
        successful_jobs_history_limit=history_limit,
        failed_jobs_history_limit=history_limit,
        job_template=k8s.batch.v1.JobTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(job_labels)),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=backoff_limit,
                active_deadline_seconds=active_deadline_seconds,
                ttl_seconds_after_finished=ttl_seconds_after_finished,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(pod_labels)), spec=pod
                ),
            ),
        ),
    )
