"""The Argo Rollouts controller: runs the canary and blue/green releases of `services.<name>.release`.

Installed (platforms `kubernetes` and `gke`) only when some enabled service is `canary` or
`blueGreen`: a stack whose services all roll (dev by default) gets no controller and no CRDs.

Creates a Namespace (`kubernetes.argoRollouts.namespace`, Pod Security Admission `restricted`)
and one `helm.v3.Release` of argoproj's `argo-rollouts` chart, pinned to
`kubernetes.argoRollouts.chartVersion`. Values, and why:
- `installCRDs` + `keepCRDs`: the chart brings the Rollout/AnalysisTemplate/AnalysisRun CRDs (the
  app's Rollouts depend on this release) and leaves them when the release is removed, so a
  `helm uninstall` cannot cascade-delete every Rollout (and its pods);
- two controller replicas with leader election outside dev: a release in flight keeps its
  controller through a node drain;
- the pod runs non-root (the image's uid 999), read-only root filesystem, all capabilities
  dropped, no privilege escalation, seccomp RuntimeDefault; requests/limits bound its footprint;
- `providerRBAC.enabled: false`: no ClusterRole rules for meshes and gateways the platform does not
  use (ingress-nginx routing needs only Ingress access, which the controller's own role has);
- the dashboard and notification secret stay off (no second UI to expose; `kubectl argo rollouts`
  is the operator's interface);
- `controller.metrics.enabled` when monitoring is on: the metrics port (8090, `metrics`) is
  scraped by a PodMonitor of the monitoring component (`scrape_target`); the chart's own
  ServiceMonitor stays off, because its CRD comes with kube-prometheus-stack, installed later.

The controller talks to the API server (outside NetworkPolicy's reach on the supported CNIs) and,
for the analyses, to Prometheus in `kubernetes.monitoringNamespace` on 9090; its own namespace has no
default-deny policy, so neither flow needs a hole (tests/test_network_flows.py checks both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import Problem, StackConfig, StackContext
from components.kubernetes_objects import METRICS_PORT_NAME, ScrapeTarget

ARGO_HELM_REPO = "https://argoproj.github.io/argo-helm"
ARGO_ROLLOUTS_CHART = "argo-rollouts"
CONTROLLER_COMPONENT = "rollouts-controller"
# the chart's selector labels of the controller pods (release name = chart name)
CONTROLLER_POD_LABELS = {"app.kubernetes.io/name": ARGO_ROLLOUTS_CHART, "app.kubernetes.io/component": CONTROLLER_COMPONENT}
CONTROLLER_METRICS_PORT = 8090
RUN_AS = 999  # the argo-rollouts image's user
PROGRESSIVE = ("canary", "blueGreen")


def progressive_services(config: StackConfig) -> list[str]:
    """Enabled services released by Argo Rollouts (canary or blueGreen), sorted."""
    return sorted(n for n, s in config.enabled_services.items() if s.release.strategy in PROGRESSIVE)


def installs_argo_rollouts(config: StackConfig) -> bool:
    return bool(progressive_services(config))


@dataclass(frozen=True)
class ArgoRolloutsArgs:
    context: StackContext


class ArgoRollouts(PlatformComponent):
    """Namespace + the pinned argo-rollouts Helm release (see the module docstring)."""

    TYPE = "aiplatform:release:ArgoRollouts"

    def __init__(self, name: str, args: ArgoRolloutsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        settings = self.config.kubernetes.argo_rollouts
        namespace = k8s.core.v1.Namespace(
            self.child_name("namespace"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=settings.namespace,
                labels={
                    **self.labels,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            ),
            opts=self.child_opts(),
        )
        self.namespace = namespace.metadata.apply(lambda m: m.name)
        self.release = k8s.helm.v3.Release(
            self.child_name("release"),
            k8s.helm.v3.ReleaseArgs(
                name=ARGO_ROLLOUTS_CHART,
                chart=ARGO_ROLLOUTS_CHART,
                version=settings.chart_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=ARGO_HELM_REPO),
                namespace=self.namespace,
                atomic=True,
                timeout=600,
                values=self.values(),
            ),
            opts=self.child_opts(),
        )
        self.scrape_target: Optional[ScrapeTarget] = None
        if self.config.monitoring.enabled:
            self.scrape_target = ScrapeTarget(
                name=ARGO_ROLLOUTS_CHART,
                namespace=self.namespace,
                pod_labels=CONTROLLER_POD_LABELS,
                metrics=("rollout_info", "analysis_run_info"),
            )
        self.register_outputs({"chartVersion": settings.chart_version, "namespace": self.namespace})

    def values(self) -> dict[str, Any]:
        dev = self.config.environment == "dev"
        return {
            "installCRDs": True,
            "keepCRDs": True,
            "clusterInstall": True,
            "providerRBAC": {"enabled": False},
            "dashboard": {"enabled": False},
            "notifications": {"secret": {"create": False}},
            "podLabels": self.labels,
            "podSecurityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS,
                "runAsGroup": RUN_AS,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containerSecurityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "privileged": False,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "controller": {
                "replicas": 1 if dev else 2,
                "pdb": {"enabled": not dev, "minAvailable": 1},
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "512Mi"},
                },
                "containerPorts": {"metrics": CONTROLLER_METRICS_PORT, "healthz": 8080},
                "metrics": {
                    "enabled": self.config.monitoring.enabled,
                    "service": {"portName": METRICS_PORT_NAME, "port": CONTROLLER_METRICS_PORT},
                    "serviceMonitor": {"enabled": False},
                },
            },
        }


def release_problems(config: StackConfig) -> list[Problem]:
    """A canary/blueGreen service needs the in-cluster Prometheus its analysis reads."""
    monitoring = config.monitoring
    if monitoring.enabled and monitoring.prometheus_stack.install:
        return []
    return [
        Problem(
            f"services.{name}.release.strategy",
            config.enabled_services[name].release.strategy,
            "the release analysis reads the kube-prometheus-stack this program installs: keep "
            "monitoring.enabled and monitoring.prometheusStack.install on, or release it rolling",
        )
        for name in progressive_services(config)
    ]
