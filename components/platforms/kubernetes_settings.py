"""The `kubernetes` section: settings of the platforms that run workloads on Kubernetes (`kubernetes`, `gke`)."""

from __future__ import annotations

import re
from typing import Optional

from pydantic import Field, field_validator

from components.config.base import _Model


class MetricsServerConfig(_Model):
    """metrics-server: the resource-metrics API (`metrics.k8s.io`) the HPAs scale on."""

    install: Optional[bool] = Field(
        default=None,
        description="install metrics-server (kube-system); default: on in dev (kind, minikube and Docker "
        "Desktop ship none), off elsewhere (a managed cluster usually has one; a second release fails on "
        "its cluster-wide APIService); never on gke (GKE runs its own)",
    )
    kubelet_insecure_tls: Optional[bool] = Field(
        default=None,
        description="pass --kubelet-insecure-tls (skip verifying the kubelets' serving certificates); "
        "default: on in dev, whose local clusters' kubelets serve self-signed certificates, off elsewhere",
    )
    chart_version: str = Field(default="3.13.0", description="pinned metrics-server chart (kubernetes-sigs)")


class ArgoRolloutsConfig(_Model):
    """Argo Rollouts: the controller that runs the canary and blue/green releases (`services.<name>.release`)."""

    chart_version: str = Field(
        default="2.41.0", description="pinned argo-rollouts chart (argoproj/argo-helm; 2.41.0 runs Argo Rollouts v1.9.0)"
    )
    namespace: str = Field(
        default="argo-rollouts",
        description="namespace of the controller, installed only when some service is canary or blueGreen",
    )

    @field_validator("namespace")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        return KubernetesConfig._dns_label(v)


class KubernetesConfig(_Model):
    """Settings for platforms that run workloads on Kubernetes (`kubernetes`, `gke`)."""

    namespace: str = Field(
        default="ai-assistant",
        description="namespace of the app and its in-cluster data services; changing this replaces every "
        "object in it and deleting the old namespace deletes the data volumes (PostgreSQL, Redis, MongoDB, RabbitMQ, backups)",
    )
    storage_class: Optional[str] = Field(
        default=None,
        description="StorageClass of the data and backup volumes (kubernetes); none: the cluster's default; gke "
        "always uses its regional PD class. A change recreates the StatefulSets, which keep their existing volumes",
    )
    ingress_controller_namespace: str = Field(
        default="ingress-nginx", description="namespace of the ingress-nginx controller (installed or existing)"
    )
    monitoring_namespace: str = Field(
        default="monitoring",
        description="namespace of kube-prometheus-stack (installed or existing); changing this replaces the "
        "release and its Prometheus volume (the metric history)",
    )
    metrics_server: MetricsServerConfig = Field(
        default=MetricsServerConfig(),
        description="metrics-server: the resource-metrics API (`metrics.k8s.io`) the HPAs scale on.",
    )
    argo_rollouts: ArgoRolloutsConfig = Field(
        default=ArgoRolloutsConfig(),
        description="the Argo Rollouts controller, installed when a service's release is canary or blueGreen",
    )

    @field_validator("namespace", "ingress_controller_namespace", "monitoring_namespace")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        if not re.match(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", v):
            raise ValueError("must be a DNS-1123 label (lowercase letters, digits, '-')")
        return v
