"""The platform's Kubernetes namespace and its guard rails.

Creates: the Namespace (project labels, Pod Security Admission `restricted`), a ResourceQuota
derived from the configured services and data services (so a runaway HPA or a forgotten test
deployment cannot starve the cluster), a LimitRange with defaults for containers that set none,
and the default-deny NetworkPolicy every other policy opens holes in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import StackContext, cpu_quantity, memory_quantity
from components.data.kubernetes_exporters import EXPORTER_CPU_LIMIT, EXPORTER_MEMORY_LIMIT
from components.dr.kubernetes import DUMPED_SERVICES
from components.dr.restore_test_kubernetes import restore_test_capacity
from components.kubernetes_objects import metadata

# Headroom over the sum of all configured limits: rolling updates run one extra pod per
# Deployment (maxSurge 1) and jobs (backups, replica-set init) need room too.
QUOTA_HEADROOM = 1.5


@dataclass(frozen=True)
class PlatformNamespaceArgs:
    context: StackContext


class PlatformNamespace(PlatformComponent):
    """Namespace + ResourceQuota + LimitRange + default-deny NetworkPolicy."""

    TYPE = "aiplatform:app:PlatformNamespace"

    def __init__(self, name: str, args: PlatformNamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        ns_name = cfg.kubernetes.namespace
        labels = self.labels

        namespace = k8s.core.v1.Namespace(
            self.child_name("namespace"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ns_name,
                labels={
                    **labels,
                    # seed 001: namespaces carry their environment and project
                    "project": "ai-assistant",
                    # every pod here runs with the restricted Pod Security Standard
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            ),
            opts=self.child_opts(),
        )
        self.name = namespace.metadata.apply(lambda m: m.name)

        cpu_limit, memory_limit, pods, storage = self._capacity()
        k8s.core.v1.ResourceQuota(
            self.child_name("quota"),
            metadata=metadata("platform-quota", self.name, labels),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": cpu_quantity(cpu_limit),
                    "limits.cpu": cpu_quantity(cpu_limit),
                    "requests.memory": memory_quantity(memory_limit),
                    "limits.memory": memory_quantity(memory_limit),
                    "pods": str(pods),
                    "requests.storage": f"{storage}Gi",
                    "persistentvolumeclaims": "20",
                    "services.loadbalancers": "0",
                    "services.nodeports": "0",
                }
            ),
            opts=self.child_opts(),
        )
        k8s.core.v1.LimitRange(
            self.child_name("limits"),
            metadata=metadata("platform-limits", self.name, labels),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default={"cpu": "500m", "memory": "512Mi"},
                        default_request={"cpu": "100m", "memory": "128Mi"},
                    )
                ]
            ),
            opts=self.child_opts(),
        )
        k8s.networking.v1.NetworkPolicy(
            self.child_name("default-deny"),
            metadata=metadata("default-deny-all", self.name, labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
            ),
            opts=self.child_opts(),
        )
        self.register_outputs({"name": self.name})

    def _capacity(self) -> tuple[int, int, int, int]:
        """(cpu millicores, memory MiB, pods, storage GiB) the configured platform can use at most."""
        cfg = self.config
        cpu = memory = pods = 0
        for svc in cfg.enabled_services.values():
            replicas = svc.max_replicas + 1
            cpu += replicas * svc.effective_cpu_limit
            memory += replicas * svc.effective_memory_limit
            pods += replicas
        backed_up = [s for s in cfg.data.enabled() if s in DUMPED_SERVICES]
        storage = cfg.dr.backup_storage_gi * len(backed_up)  # one backup volume per database
        for service in cfg.data.enabled():
            data = getattr(cfg.data, service)
            # the database (limits are twice its requests) and its exporter sidecar
            cpu += data.replicas * (data.cpu * 2 + EXPORTER_CPU_LIMIT)
            memory += data.replicas * (data.memory * 2 + EXPORTER_MEMORY_LIMIT)
            pods += data.replicas
            storage += data.replicas * data.storage_gi
        pods += 10  # backup and init jobs
        cpu += 1000 * (len(backed_up) + 1)  # each backup pod may burst to 1 CPU / 1 Gi, plus init jobs
        memory += 1024 * (len(backed_up) + 1)
        cpu, memory, pods, storage = (a + b for a, b in zip((cpu, memory, pods, storage), restore_test_capacity(cfg)))
        return (
            int(math.ceil(cpu * QUOTA_HEADROOM / 1000) * 1000),
            int(math.ceil(memory * QUOTA_HEADROOM / 1024) * 1024),
            int(math.ceil(pods * QUOTA_HEADROOM)),
            int(math.ceil(storage * QUOTA_HEADROOM)),
        )
