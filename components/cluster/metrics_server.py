"""metrics-server: the resource-metrics API (`metrics.k8s.io`) the HorizontalPodAutoscalers read.

Every HPA of the app layer scales on CPU and memory utilisation (`Resource` metrics). Those come
from the `metrics.k8s.io` API, which only a metrics-server (or the platform's equivalent) serves:
without one the HPAs report `FailedGetResourceMetric` and never scale. kind, minikube (without
its addon) and Docker Desktop ship none; GKE runs its own as a managed add-on, so the `gke`
platform must not install a second one (the `v1beta1.metrics.k8s.io` APIService is
cluster-wide: two releases fight over it).

`MetricsServer` creates one `helm.v3.Release` of the kubernetes-sigs chart, pinned to
`kubernetes.metricsServer.chartVersion`, in `kube-system` (the chart's priority class
`system-cluster-critical` is admitted there only). Values, and why:
- `args: [--kubelet-insecure-tls]` only with `kubernetes.metricsServer.kubeletInsecureTls`
  (default: dev only): the kubelets of local clusters serve self-signed certificates that
  metrics-server cannot verify; a real cluster's kubelets have CA-signed serving certificates and
  must be verified;
- `tls.type: helm` + `apiService.insecureSkipTLSVerify: false`: the chart generates the serving
  certificate (kept across upgrades by `tls.helm.lookup`) and puts its CA into the APIService, so
  the API server verifies metrics-server instead of skipping TLS (the chart's default);
- the pod runs non-root (uid 1000), read-only root filesystem, all capabilities dropped, no
  privilege escalation, seccomp RuntimeDefault; requests/limits bound its footprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import StackConfig, StackContext

METRICS_SERVER_REPO = "https://kubernetes-sigs.github.io/metrics-server/"
METRICS_SERVER_CHART = "metrics-server"
METRICS_SERVER_NAMESPACE = "kube-system"
RUN_AS = 1000


def installs_metrics_server(config: StackConfig) -> bool:
    """`kubernetes.metricsServer.install`, defaulting to on in dev (local clusters have none)."""
    install = config.kubernetes.metrics_server.install
    return config.environment == "dev" if install is None else install


def kubelet_insecure_tls(config: StackConfig) -> bool:
    """`kubernetes.metricsServer.kubeletInsecureTls`, defaulting to on in dev only."""
    insecure = config.kubernetes.metrics_server.kubelet_insecure_tls
    return config.environment == "dev" if insecure is None else insecure


@dataclass(frozen=True)
class MetricsServerArgs:
    context: StackContext


class MetricsServer(PlatformComponent):
    """The metrics-server Helm release (see the module docstring)."""

    TYPE = "aiplatform:cluster:MetricsServer"

    def __init__(self, name: str, args: MetricsServerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        settings = self.config.kubernetes.metrics_server
        self.release = k8s.helm.v3.Release(
            self.child_name("release"),
            k8s.helm.v3.ReleaseArgs(
                name=METRICS_SERVER_CHART,
                chart=METRICS_SERVER_CHART,
                version=settings.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=METRICS_SERVER_REPO),
                namespace=METRICS_SERVER_NAMESPACE,
                atomic=True,
                timeout=300,
                values=self.values(),
            ),
            opts=self.child_opts(),
        )
        self.register_outputs({"chartVersion": settings.chart_version, "namespace": METRICS_SERVER_NAMESPACE})

    def values(self) -> dict[str, Any]:
        return {
            "replicas": 1,
            "args": ["--kubelet-insecure-tls"] if kubelet_insecure_tls(self.config) else [],
            "commonLabels": self.labels,
            "podLabels": self.labels,
            "tls": {"type": "helm", "helm": {"lookup": True}},
            "apiService": {"insecureSkipTLSVerify": False},
            "podSecurityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS,
                "runAsGroup": RUN_AS,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": RUN_AS,
                "privileged": False,
                "seccompProfile": {"type": "RuntimeDefault"},
                "capabilities": {"drop": ["ALL"]},
            },
            "resources": {
                "requests": {"cpu": "100m", "memory": "200Mi"},
                "limits": {"cpu": "500m", "memory": "400Mi"},
            },
        }
