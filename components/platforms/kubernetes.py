"""`platform: kubernetes`: the whole platform on an existing cluster (dev: kind, minikube, Docker Desktop).

network (the cluster's) -> secrets -> data -> app -> edge -> monitoring -> dr:
namespace with guard rails; app secrets (provided + generated); every enabled data service of the
registry (components/data/registry.py) as a StatefulSet; the services (canary/blueGreen ones as
Argo Rollouts, with the controller installed when any needs it and ingress-nginx splitting their
traffic); ingress-nginx and Ingresses; kube-prometheus-stack with alerts and dashboards; daily dump
CronJobs. The cluster comes from the `kubernetes:context`
of the stack (or the current kubeconfig context).
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.app.kubernetes import KubernetesApp, KubernetesAppArgs
from components.app.namespace import PlatformNamespace, PlatformNamespaceArgs
from components.cluster.metrics_server import MetricsServer, MetricsServerArgs, installs_metrics_server
from components.config import Problem, StackConfig, StackContext
from components.data.kubernetes_statefulset import InClusterDataArgs
from components.data.registry import component_class, in_cluster
from components.dr.objectives import dr_output
from components.dr.kubernetes import DUMPED_SERVICES, KubernetesBackups, KubernetesBackupsArgs
from components.edge.kubernetes import NginxIngress, NginxIngressArgs
from components.monitoring.kubernetes import KubernetesMonitoring, KubernetesMonitoringArgs
from components.release.argo_controller import ArgoRollouts, ArgoRolloutsArgs, installs_argo_rollouts, release_problems
from components.secrets.app_secrets import AppSecrets, AppSecretsArgs


def problems(config: StackConfig) -> list[Problem]:
    """What this platform refuses beyond the schema: nothing of its own (the cluster is given, so
    its node sizes are unknown, and `regions` is informational); its data backends' problems come
    from the registry (components/data/registry.py); a canary/blueGreen service needs the
    in-cluster Prometheus its analysis reads."""
    return release_problems(config)


def build(context: StackContext) -> dict[str, Any]:
    cfg = context.config
    namespace = PlatformNamespace("platform", PlatformNamespaceArgs(context))
    if installs_metrics_server(cfg):  # the HPAs' CPU/memory metrics (kind ships no metrics-server)
        MetricsServer("metrics-server", MetricsServerArgs(context))
    rollouts = ArgoRollouts("argo-rollouts", ArgoRolloutsArgs(context)) if installs_argo_rollouts(cfg) else None
    secrets = AppSecrets("app-secrets", AppSecretsArgs(context))
    data = {
        service: component_class(service, cfg.platform)(
            service,
            InClusterDataArgs(
                context, namespace.name, getattr(cfg.data, service), storage_class=cfg.kubernetes.storage_class
            ),
        )
        for service in in_cluster(cfg)
    }
    connections = {service: component.connection for service, component in data.items()}
    edge_source = NginxIngress.source_for(cfg)
    app = KubernetesApp(
        "app",
        KubernetesAppArgs(
            context,
            namespace=namespace.name,
            connections=connections,
            secrets=secrets.values,
            ingress_sources=[edge_source],
            rollouts_controller=rollouts.release if rollouts else None,
            stable_ingresses=NginxIngress.stable_ingresses_for(cfg),
        ),
    )
    edge = NginxIngress("edge", NginxIngressArgs(context, namespace.name, app.services))
    outputs: dict[str, Any] = {
        "platform": cfg.platform,
        "namespace": namespace.name,
        "appUrl": edge.urls.get("frontend"),
        "apiUrl": edge.urls.get("api"),
        "urls": edge.urls,
        "connections": pulumi.Output.secret({name: c.url for name, c in connections.items()}),
        "dr": dr_output(cfg),
    }
    if cfg.monitoring.enabled:
        targets = [component.scrape_target for component in data.values()]
        for extra in (edge.scrape_target, rollouts.scrape_target if rollouts else None):
            if extra is not None:
                targets.append(extra)
        monitoring = KubernetesMonitoring(
            "monitoring",
            KubernetesMonitoringArgs(context, namespace.name, cfg.enabled_services, scrape_targets=targets),
        )
        outputs["grafanaUrl"] = monitoring.grafana_url
    dumped = {name: c for name, c in connections.items() if name in DUMPED_SERVICES}
    if dumped:
        KubernetesBackups(
            "backups",
            KubernetesBackupsArgs(context, namespace.name, dumped, storage_class=cfg.kubernetes.storage_class),
        )
    return outputs
