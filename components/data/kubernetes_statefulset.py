"""The shared shape of the in-cluster data services (components/data/kubernetes.py): one StatefulSet each.

Each creates: generated credentials (pulumi_random) in a Secret, a headless Service for stable pod
DNS and a ClusterIP Service for clients, a StatefulSet with a PersistentVolumeClaim template sized
per environment (seed 003 table), probes, a hardened non-root security context, its Prometheus
exporter (components.data.kubernetes_exporters), NetworkPolicies, and a PodDisruptionBudget when it
runs more than one replica. Each exposes `connection` (components.data.connection.DataConnection)
and `scrape_target` (what the monitoring component's PodMonitor scrapes).

NetworkPolicies (the namespace denies everything by default; policies add up):
- `<service>-ingress`: the platform's own pods on the service port only (each client's egress
  policy narrows this to the data services it uses), and the Prometheus pods of the monitoring
  namespace on the exporter port;
- `<service>-peers`, for services whose pods resolve names and talk to each other (MongoDB always:
  mongod resolves the member names of the replica-set config, its own included; RabbitMQ when
  clustered: classic peer discovery and Erlang distribution): DNS, and the members' own ports
  between members (27017; epmd 4369 and distribution 25672);
- MongoDB's replica-set init Job has its own pod labels and policy: DNS and 27017 to the members.

Images are pinned by tag. PVCs are retained when the StatefulSet is deleted or scaled down, and the
StatefulSet and credentials are protected in production: data is never lost by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.base import PlatformComponent
from components.config import DataServiceConfig, StackContext
from components.data.connection import DataConnection, NetworkPeer
from components.data import kubernetes_exporters as exporters
from components.kubernetes_objects import (
    COMPONENT_LABEL,
    ScrapeTarget,
    container_security_context,
    dns_egress_rule,
    metadata,
    network_policy,
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

DATA_UID = 999  # the uid the official postgres, redis, mongo and rabbitmq images run as


@dataclass(frozen=True)
class InClusterDataArgs:
    context: StackContext
    namespace: pulumi.Input[str]
    settings: DataServiceConfig
    storage_class: Optional[pulumi.Input[str]] = None


class InClusterDataService(PlatformComponent):
    """Shared shape of the four StatefulSet-backed data services."""

    SERVICE: ClassVar[str]
    IMAGE: ClassVar[str]
    UID: ClassVar[int] = DATA_UID  # the uid its image runs as
    PORT: ClassVar[int]
    DATA_PATH: ClassVar[str]
    USERNAME: ClassVar[str] = "app"
    EXTRA_PORTS: ClassVar[dict[str, int]] = {}
    # ports the pods of one service talk to each other on; () = they never do
    PEER_PORTS: ClassVar[tuple[int, ...]] = ()

    def __init__(self, name: str, args: InClusterDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        self.namespace = args.namespace
        self.settings = args.settings
        self.pod_labels = selector_labels(self.SERVICE)
        self.object_labels = {**self.labels, **self.pod_labels, COMPONENT_LABEL: "data"}
        self.headless_name = f"{self.SERVICE}-headless"

        self.password = random.RandomPassword(
            self.child_name("password"),
            random.RandomPasswordArgs(length=32, special=False),
            opts=self.child_opts(stateful=True),
        )
        self.secret_name = f"{self.SERVICE}-credentials"
        self.credentials = k8s.core.v1.Secret(
            self.child_name("credentials"),
            metadata=metadata(self.secret_name, self.namespace, self.object_labels),
            type="Opaque",
            string_data=self.secret_data(),
            opts=self.child_opts(),
        )

        ports = {"main": self.PORT, **self.EXTRA_PORTS}
        service_ports = [
            k8s.core.v1.ServicePortArgs(name=port_name, port=port, target_port=port_name, protocol="TCP")
            for port_name, port in ports.items()
        ]
        k8s.core.v1.Service(
            self.child_name("headless"),
            metadata=metadata(self.headless_name, self.namespace, self.object_labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None",
                publish_not_ready_addresses=True,
                selector=self.pod_labels,
                ports=service_ports,
            ),
            opts=self.child_opts(),
        )
        k8s.core.v1.Service(
            self.child_name("service"),
            metadata=metadata(self.SERVICE, self.namespace, self.object_labels),
            spec=k8s.core.v1.ServiceSpecArgs(type="ClusterIP", selector=self.pod_labels, ports=service_ports),
            opts=self.child_opts(),
        )

        s = self.settings
        self.exporter = self.metrics_exporter()
        self.statefulset = k8s.apps.v1.StatefulSet(
            self.child_name("statefulset"),
            metadata=metadata(self.SERVICE, self.namespace, self.object_labels),
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                service_name=self.headless_name,
                replicas=s.replicas,
                pod_management_policy="OrderedReady",
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.pod_labels),
                persistent_volume_claim_retention_policy=k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted="Retain", when_scaled="Retain"
                ),
                update_strategy=k8s.apps.v1.StatefulSetUpdateStrategyArgs(type="RollingUpdate"),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=self.object_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,
                        enable_service_links=False,
                        security_context=pod_security_context(self.UID),
                        termination_grace_period_seconds=60,
                        init_containers=self.init_containers() or None,
                        containers=[self.container(ports), *self._sidecars()],
                        volumes=[scratch_volume(), *self.volumes()],
                        topology_spread_constraints=self._spread() if s.replicas > 1 else None,
                    ),
                ),
                volume_claim_templates=[
                    k8s.core.v1.PersistentVolumeClaimArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(name="data", labels=self.object_labels),
                        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                            access_modes=["ReadWriteOnce"],
                            storage_class_name=args.storage_class,
                            resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                                requests={"storage": f"{s.storage_gi}Gi"}
                            ),
                        ),
                    )
                ],
            ),
            opts=self.child_opts(stateful=True, depends_on=[self.credentials]),
        )

        self._network_policies()
        self.extra_resources()
        if s.replicas > 1:
            pod_disruption_budget(
                self.child_name("pdb"), self.SERVICE, self.namespace, self.object_labels, self.pod_labels, self.child_opts()
            )

        self.connection = self.make_connection()
        self.scrape_target = self.make_scrape_target()
        self.register_outputs({"host": self.connection.host, "port": self.PORT})

    def _network_policies(self) -> None:
        """See the module docstring: clients and Prometheus in; members to each other, with DNS."""
        ingress = self.client_ingress_rules()
        if self.config.monitoring.enabled:
            ingress.append(
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[prometheus_peer(self.config.kubernetes.monitoring_namespace)],
                    ports=tcp_ports(self.exporter.port),
                )
            )
        network_policy(
            self.child_name("ingress"), f"{self.SERVICE}-ingress", self.namespace, self.object_labels,
            self.pod_labels, self.child_opts(), ingress=ingress,
        )
        if self.resolves_names:
            members = peer(pod_labels=self.pod_labels)
            network_policy(
                self.child_name("peers"), f"{self.SERVICE}-peers", self.namespace, self.object_labels,
                self.pod_labels, self.child_opts(),
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[members], ports=tcp_ports(*self.PEER_PORTS))],
                egress=[
                    dns_egress_rule(),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[members], ports=tcp_ports(*self.PEER_PORTS)),
                ],
            )

    def make_connection(self) -> DataConnection:
        return DataConnection(
            service=self.SERVICE,
            host=pulumi.Output.concat(self.SERVICE, ".", self.namespace, ".svc.cluster.local"),
            port=self.PORT,
            url=pulumi.Output.secret(self.url()),
            tls=False,
            peer=NetworkPeer(pod_labels=self.pod_labels),
        )

    def make_scrape_target(self) -> ScrapeTarget:
        return ScrapeTarget(
            name=self.SERVICE,
            namespace=self.namespace,
            pod_labels=self.pod_labels,
            metrics=self.exporter.metrics,
        )

    def client_ingress_rules(self) -> list[k8s.networking.v1.NetworkPolicyIngressRuleArgs]:
        """Who may connect as a client: the platform's own pods (each client's egress policy
        narrows this to the data services it uses)."""
        return [
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[peer(pod_labels={"app": self.context.labels["app"]})], ports=tcp_ports(self.PORT)
            ),
        ]

    def _sidecars(self) -> list[k8s.core.v1.ContainerArgs]:
        return [self.exporter.container] if self.exporter.container is not None else []

    # --- what differs per service -----------------------------------------------------------

    @property
    def resolves_names(self) -> bool:
        """Whether the pods look up (and connect to) each other by DNS name."""
        return bool(self.PEER_PORTS) and self.settings.replicas > 1

    def metrics_exporter(self) -> exporters.Exporter:
        raise NotImplementedError

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        return {"username": self.USERNAME, "password": self.password.result}

    def container(self, ports: dict[str, int]) -> k8s.core.v1.ContainerArgs:
        raise NotImplementedError

    def init_containers(self) -> list[k8s.core.v1.ContainerArgs]:
        return []

    def volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        return []

    def url(self) -> pulumi.Output[str]:
        raise NotImplementedError

    def extra_resources(self) -> None:
        """Resources a service needs once its StatefulSet exists (e.g. replica-set init)."""

    # --- shared helpers -------------------------------------------------------------------------

    def _container(
        self,
        ports: dict[str, int],
        *,
        args: Optional[list[str]] = None,
        command: Optional[list[str]] = None,
        env: Optional[list[k8s.core.v1.EnvVarArgs]] = None,
        probe: "list[str] | k8s.core.v1.ProbeArgs",
        readiness: "Optional[list[str] | k8s.core.v1.ProbeArgs]" = None,
        mounts: Optional[list[k8s.core.v1.VolumeMountArgs]] = None,
    ) -> k8s.core.v1.ContainerArgs:
        """The data container: `probe`/`readiness` are exec commands (the images' own CLIs) or, for
        an image that serves health over HTTP, ready-made probes."""
        s = self.settings

        def exec_probe(cmd: "list[str] | k8s.core.v1.ProbeArgs", initial: int, period: int) -> k8s.core.v1.ProbeArgs:
            if isinstance(cmd, k8s.core.v1.ProbeArgs):
                return cmd
            return k8s.core.v1.ProbeArgs(
                exec_=k8s.core.v1.ExecActionArgs(command=cmd),
                initial_delay_seconds=initial,
                period_seconds=period,
                timeout_seconds=5,
                failure_threshold=6,
            )

        return k8s.core.v1.ContainerArgs(
            name=self.SERVICE,
            image=self.IMAGE,
            image_pull_policy="IfNotPresent",
            command=command,
            args=args,
            env=env,
            ports=[
                k8s.core.v1.ContainerPortArgs(name=port_name, container_port=port, protocol="TCP")
                for port_name, port in ports.items()
            ],
            resources=resources(s.cpu, s.memory, s.cpu * 2, s.memory * 2),
            security_context=container_security_context(self.UID),
            liveness_probe=exec_probe(probe, 30, 20),
            readiness_probe=exec_probe(readiness or probe, 10, 10),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="data", mount_path=self.DATA_PATH),
                k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                *(mounts or []),
            ],
        )

    def _secret_file_init(self, key: str, volume: str, path: str) -> k8s.core.v1.ContainerArgs:
        """Copy a Secret key to `path` on `volume` with mode 0400.

        mongod (key file) and Erlang (cookie) refuse files readable by group/others, and Secret
        volumes are group-readable under fsGroup, so the file is copied by an init container."""
        return k8s.core.v1.ContainerArgs(
            name=f"{key}-file",
            image=self.IMAGE,
            command=["sh", "-c", f"cp /secret-src/{key} {path}.new && chmod 0400 {path}.new && mv -f {path}.new {path}"],
            resources=resources(50, 32, 100, 64),
            security_context=container_security_context(self.UID),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="secret-src", mount_path="/secret-src", read_only=True),
                k8s.core.v1.VolumeMountArgs(name=volume, mount_path=path.rsplit("/", 1)[0]),
            ],
        )

    def _secret_source_volume(self, key: str) -> k8s.core.v1.VolumeArgs:
        return k8s.core.v1.VolumeArgs(
            name="secret-src",
            secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=self.secret_name,
                items=[k8s.core.v1.KeyToPathArgs(key=key, path=key)],
                default_mode=0o400,
            ),
        )

    def _password_env(self, env_name: str) -> k8s.core.v1.EnvVarArgs:
        return secret_env(env_name, self.secret_name, "password")

    def _spread(self) -> list[k8s.core.v1.TopologySpreadConstraintArgs]:
        return [
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key="kubernetes.io/hostname",
                when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.pod_labels),
            )
        ]

    def _pod_host(self, ordinal: int) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            f"{self.SERVICE}-{ordinal}.{self.headless_name}.", self.namespace, ".svc.cluster.local"
        )
