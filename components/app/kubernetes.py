"""The application layer on Kubernetes (dev clusters and GKE alike).

Creates, for the whole app: a ConfigMap of plain settings and one Secret holding every secret
value the services read (app secrets and data-service URLs); per service: a ServiceAccount
without an automounted token, a hardened Deployment, and for web services a ClusterIP Service,
an autoscaling/v2 HPA (seed 003/004: CPU 70 %, memory 80 %, scale down over 300 s), a
PodDisruptionBudget when it runs at least two replicas, and NetworkPolicies that open the
namespace's default deny only where traffic is expected:
  ingress  <- the ingress controller (public services), the platform's own pods, the Prometheus
              pods of the monitoring namespace;
  egress   -> DNS, the data services the service uses, the platform's web services, and 443 outside
              the private ranges only for a service that holds a provided secret (an AI provider
              key such as OPENAI_API_KEY: the internet APIs it calls); the others have no way out.

A canary or blueGreen service (`services.<name>.release`) is released by Argo Rollouts: a
Rollout (`workloadRef` to its Deployment) runs the pods, the controller scales the Deployment to 0
once the Rollout is healthy, and the HPA scales the Rollout (components/release/argo_rollout.py).

Secrets reach containers only through `secretKeyRef`; plain env holds settings only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.config import RouteConfig, ServiceConfig, StackContext
from components.data.connection import DataConnection, secret_env_names
from components.kubernetes_objects import (
    COMPONENT_LABEL,
    container_security_context,
    dns_egress_rule,
    metadata,
    peer,
    pod_disruption_budget,
    pod_security_context,
    prometheus_peer,
    resources,
    scratch_volume,
    secret_env,
    selector_labels,
    tcp_ports,
)
from components.release.argo_controller import PROGRESSIVE
from components.release.argo_rollout import ROLLOUTS_API_VERSION, ServiceRollout, ServiceRolloutArgs

APP_UID = 1000
HTTPS_PORT = 443
# Private ranges excluded from the "443 to the internet" egress rule: in-cluster and VPC traffic
# must be allowed explicitly, never by the catch-all for AI provider APIs.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")


@dataclass(frozen=True)
class IngressSource:
    """Who may send traffic to public web pods: pods (optionally in another namespace) or CIDRs."""

    namespace: Optional[str] = None
    pod_labels: Optional[Mapping[str, str]] = None
    cidrs: tuple[str, ...] = ()

    def peers(self) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
        found = [peer(cidr=c) for c in self.cidrs]
        if self.namespace or self.pod_labels:
            found.append(peer(namespace=self.namespace, pod_labels=self.pod_labels))
        return found


@dataclass(frozen=True)
class ServiceEndpoint:
    """How other components reach a web service inside the cluster."""

    name: str
    port: int
    health_path: Optional[str]
    route: Optional[RouteConfig]


@dataclass(frozen=True)
class KubernetesAppArgs:
    context: StackContext
    namespace: pulumi.Input[str]
    connections: Mapping[str, DataConnection]
    secrets: Mapping[str, pulumi.Output[str]]
    ingress_sources: Sequence[IngressSource]
    service_account_annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    service_annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Argo Rollouts: the controller release (canary/blueGreen services need it) and each routed
    # service's ingress-nginx Ingresses (empty: the edge cannot split traffic, replica-weighted canary)
    rollouts_controller: Optional[pulumi.Resource] = None
    stable_ingresses: Mapping[str, Sequence[str]] = field(default_factory=dict)


class KubernetesApp(PlatformComponent):
    """ConfigMap + Secret + per service: ServiceAccount, Deployment, Service, HPA, PDB, NetworkPolicies."""

    TYPE = "aiplatform:app:KubernetesApp"
    SETTINGS_NAME = "app-settings"
    SECRET_NAME = "app-env"

    def __init__(self, name: str, args: KubernetesAppArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.args = args
        cfg = self.config
        self.namespace = args.namespace

        settings = k8s.core.v1.ConfigMap(
            self.child_name("settings"),
            metadata=metadata(self.SETTINGS_NAME, self.namespace, self.labels),
            data={"ENVIRONMENT": cfg.environment, **cfg.settings},
            opts=self.child_opts(),
        )
        secret_values: dict[str, pulumi.Input[str]] = dict(args.secrets)
        for connection in args.connections.values():
            secret_values.update(connection.secret_values())
        env_secret = k8s.core.v1.Secret(
            self.child_name("env"),
            metadata=metadata(self.SECRET_NAME, self.namespace, self.labels),
            type="Opaque",
            string_data={k: pulumi.Output.secret(v) for k, v in sorted(secret_values.items())},
            opts=self.child_opts(),
        )
        self._settings_name = settings.metadata.apply(lambda m: m.name)
        self._secret_name = env_secret.metadata.apply(lambda m: m.name)

        web = {n: s for n, s in cfg.enabled_services.items() if s.kind == "web"}
        self.services: dict[str, ServiceEndpoint] = {}
        for svc_name, svc in cfg.enabled_services.items():
            self._service(svc_name, svc, web)
            if svc.kind == "web":
                self.services[svc_name] = ServiceEndpoint(svc_name, svc.port, svc.health_path, svc.route)
        self.register_outputs({"services": sorted(self.services)})

    # ------------------------------------------------------------------------------------------

    def _service(self, name: str, svc: ServiceConfig, web: Mapping[str, ServiceConfig]) -> None:
        pod_labels = selector_labels(name)
        labels = {**self.labels, **pod_labels, COMPONENT_LABEL: svc.kind}
        account = k8s.core.v1.ServiceAccount(
            self.child_name(name, "sa"),
            metadata=metadata(name, self.namespace, labels, self.args.service_account_annotations.get(name)),
            automount_service_account_token=False,
            opts=self.child_opts(),
        )
        min_replicas = max(1, svc.min_replicas)
        progressive = svc.release.strategy in PROGRESSIVE
        k8s.apps.v1.Deployment(
            self.child_name(name),
            metadata=metadata(name, self.namespace, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=min_replicas,
                revision_history_limit=5,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pod_labels),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=self._scrape_annotations(svc)),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=account.metadata.apply(lambda m: m.name),
                        automount_service_account_token=False,
                        enable_service_links=False,
                        security_context=pod_security_context(APP_UID),
                        termination_grace_period_seconds=svc_grace(self.config.edge.streaming_timeout_seconds, svc),
                        containers=[self._container(name, svc)],
                        volumes=[scratch_volume()],
                        topology_spread_constraints=self._spread(pod_labels) if svc.max_replicas > 1 else None,
                    ),
                ),
            ),
            # the HPA owns the replica count once the Deployment exists
            opts=self.child_opts(ignore_changes=["spec.replicas"]),
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            self.child_name(name, "hpa"),
            metadata=metadata(name, self.namespace, labels),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version=ROLLOUTS_API_VERSION if progressive else "apps/v1",
                    kind="Rollout" if progressive else "Deployment",
                    name=name,
                ),
                min_replicas=min_replicas,
                max_replicas=svc.max_replicas,
                metrics=[_utilization("cpu", 70), _utilization("memory", 80)],
                behavior=_scale_behaviour(),
            ),
            opts=self.child_opts(),
        )
        if svc.min_replicas >= 2:
            pod_disruption_budget(self.child_name(name, "pdb"), name, self.namespace, labels, pod_labels, self.child_opts())
        if svc.kind == "web":
            k8s.core.v1.Service(
                self.child_name(name, "service"),
                metadata=metadata(name, self.namespace, labels, self.args.service_annotations.get(name)),
                spec=k8s.core.v1.ServiceSpecArgs(
                    type="ClusterIP",
                    selector=pod_labels,
                    ports=[k8s.core.v1.ServicePortArgs(name="http", port=svc.port, target_port="http", protocol="TCP")],
                ),
                opts=self.child_opts(),
            )
        if progressive:
            self._rollout(name, svc, labels, pod_labels, min_replicas)
        self._network_policies(name, svc, pod_labels, labels, web)

    def _rollout(
        self, name: str, svc: ServiceConfig, labels: Mapping[str, str], pod_labels: Mapping[str, str], replicas: int
    ) -> None:
        controller = self.args.rollouts_controller
        if controller is None:
            raise ValueError(f"service {name!r} is released {svc.release.strategy}: the platform must install Argo Rollouts")
        ServiceRollout(
            self.child_name(name, "release"),
            ServiceRolloutArgs(
                self.context,
                service=name,
                config=svc,
                namespace=self.namespace,
                labels=labels,
                pod_labels=pod_labels,
                min_replicas=replicas,
                stable_ingresses=tuple(self.args.stable_ingresses.get(name, ())),
                depends_on=(controller,),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _container(self, name: str, svc: ServiceConfig) -> k8s.core.v1.ContainerArgs:
        env = [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(svc.env.items())]
        if svc.port is not None:
            env.append(k8s.core.v1.EnvVarArgs(name="PORT", value=str(svc.port)))
        env += [
            secret_env(key, self._secret_name, key)
            for key in secret_env_names(svc.secrets, svc.uses, self.args.connections)
        ]
        return k8s.core.v1.ContainerArgs(
            name=name,
            image=svc.image,
            image_pull_policy="IfNotPresent",
            command=list(svc.command) or None,
            args=list(svc.args) or None,
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=svc.port, protocol="TCP")]
            if svc.port
            else None,
            env=env or None,
            env_from=[
                k8s.core.v1.EnvFromSourceArgs(config_map_ref=k8s.core.v1.ConfigMapEnvSourceArgs(name=self._settings_name))
            ],
            resources=resources(svc.cpu, svc.memory, svc.effective_cpu_limit, svc.effective_memory_limit),
            security_context=container_security_context(APP_UID),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
            **_probes(svc),
        )

    def _scrape_annotations(self, svc: ServiceConfig) -> dict[str, str]:
        if svc.port is None:
            return {"prometheus.io/scrape": "false"}
        return {"prometheus.io/scrape": "true", "prometheus.io/port": str(svc.port), "prometheus.io/path": "/metrics"}

    @staticmethod
    def _spread(pod_labels: Mapping[str, str]) -> list[k8s.core.v1.TopologySpreadConstraintArgs]:
        return [
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key=key,
                when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_labels)),
            )
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]

    def _network_policies(
        self,
        name: str,
        svc: ServiceConfig,
        pod_labels: Mapping[str, str],
        labels: Mapping[str, str],
        web: Mapping[str, ServiceConfig],
    ) -> None:
        app_pods = {"app": self.context.labels["app"]}
        if svc.kind == "web":
            sources = [peer(pod_labels=app_pods), prometheus_peer(self.config.kubernetes.monitoring_namespace)]
            if svc.route is not None:
                for source in self.args.ingress_sources:
                    sources += source.peers()
            k8s.networking.v1.NetworkPolicy(
                self.child_name(name, "ingress"),
                metadata=metadata(f"{name}-ingress", self.namespace, labels),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_labels)),
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=sources, ports=tcp_ports(svc.port))],
                ),
                opts=self.child_opts(),
            )
        egress = [dns_egress_rule()]
        for used in svc.uses:
            connection = self.args.connections[used]
            egress.append(
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[peer(pod_labels=connection.peer.pod_labels, cidr=connection.peer.cidr)],
                    ports=tcp_ports(connection.port, *connection.extra_ports),
                )
            )
        for other_name, other in web.items():
            if other_name != name:
                egress.append(
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[peer(pod_labels=selector_labels(other_name))], ports=tcp_ports(other.port)
                    )
                )
        if holds_internet_key(svc, self.config.secrets.provided):
            # AI provider APIs on the internet, for the services holding their keys
            egress.append(
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[peer(cidr="0.0.0.0/0", except_cidrs=PRIVATE_RANGES)], ports=tcp_ports(HTTPS_PORT)
                )
            )
        k8s.networking.v1.NetworkPolicy(
            self.child_name(name, "egress"),
            metadata=metadata(f"{name}-egress", self.namespace, labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pod_labels)),
                policy_types=["Egress"],
                egress=egress,
            ),
            opts=self.child_opts(),
        )


def holds_internet_key(svc: ServiceConfig, provided: Sequence[str]) -> bool:
    """A service that reads a provided secret (an AI provider key) calls an API on the internet."""
    return any(secret in provided for secret in svc.secrets)


def svc_grace(streaming_timeout: int, svc: ServiceConfig) -> int:
    """Web pods get time to finish streaming responses before they are killed on rollout."""
    return min(streaming_timeout, 300) if svc.kind == "web" else 60


def _utilization(resource: str, percent: int) -> k8s.autoscaling.v2.MetricSpecArgs:
    return k8s.autoscaling.v2.MetricSpecArgs(
        type="Resource",
        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
            name=resource,
            target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=percent),
        ),
    )


def _scale_behaviour() -> k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs:
    """Seed 004: scale down at most 50 %/min after a 300 s window; scale up fast (100 % or 2 pods / 15 s)."""
    return k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
        scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
            stabilization_window_seconds=300,
            policies=[k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Percent", value=50, period_seconds=60)],
        ),
        scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
            stabilization_window_seconds=0,
            select_policy="Max",
            policies=[
                k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Percent", value=100, period_seconds=15),
                k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Pods", value=2, period_seconds=15),
            ],
        ),
    )


def _probes(svc: ServiceConfig) -> dict[str, k8s.core.v1.ProbeArgs]:
    """Web: startup + liveness on the health path, readiness on the readiness path (seed 004).
    Workers: an exec liveness check (their heartbeat)."""
    if svc.kind == "worker":
        check = k8s.core.v1.ExecActionArgs(command=list(svc.health_command))
        return {
            "liveness_probe": k8s.core.v1.ProbeArgs(exec_=check, initial_delay_seconds=60, period_seconds=30, timeout_seconds=5, failure_threshold=3),
            "readiness_probe": k8s.core.v1.ProbeArgs(exec_=check, initial_delay_seconds=10, period_seconds=30, timeout_seconds=5, failure_threshold=3),
        }

    def http(path: Optional[str], **timing: int) -> k8s.core.v1.ProbeArgs:
        return k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port="http"), timeout_seconds=5, **timing
        )

    return {
        "startup_probe": http(svc.health_path, period_seconds=5, failure_threshold=30),
        "liveness_probe": http(svc.health_path, period_seconds=10, failure_threshold=3),
        "readiness_probe": http(svc.effective_readiness_path, period_seconds=5, failure_threshold=3),
    }
