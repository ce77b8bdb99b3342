"""In-cluster data services: PostgreSQL, Redis (AOF), MongoDB (replica set), RabbitMQ.

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
from components.config import DataServiceConfig, StackContext, memory_quantity
from components.data.connection import DataConnection, NetworkPeer
from components.data import kubernetes_exporters as exporters
from components.kubernetes_objects import (
    COMPONENT_LABEL,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
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


class _InClusterDataService(PlatformComponent):
    """Shared shape of the four StatefulSet-backed data services."""

    SERVICE: ClassVar[str]
    IMAGE: ClassVar[str]
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
                        security_context=pod_security_context(DATA_UID),
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

        self.connection = DataConnection(
            service=self.SERVICE,
            host=pulumi.Output.concat(self.SERVICE, ".", self.namespace, ".svc.cluster.local"),
            port=self.PORT,
            url=pulumi.Output.secret(self.url()),
            tls=False,
            peer=NetworkPeer(pod_labels=self.pod_labels),
        )
        self.scrape_target = ScrapeTarget(
            name=self.SERVICE,
            namespace=self.namespace,
            pod_labels=self.pod_labels,
            metrics=self.exporter.metrics,
        )
        self.register_outputs({"host": self.connection.host, "port": self.PORT})

    def _network_policies(self) -> None:
        """See the module docstring: clients and Prometheus in; members to each other, with DNS."""
        ingress = [
            # clients: the platform's own pods (each client's egress policy narrows this to the
            # data services it uses)
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[peer(pod_labels={"app": self.context.labels["app"]})], ports=tcp_ports(self.PORT)
            ),
        ]
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
        probe: list[str],
        readiness: Optional[list[str]] = None,
        mounts: Optional[list[k8s.core.v1.VolumeMountArgs]] = None,
    ) -> k8s.core.v1.ContainerArgs:
        s = self.settings

        def exec_probe(cmd: list[str], initial: int, period: int) -> k8s.core.v1.ProbeArgs:
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
            security_context=container_security_context(DATA_UID),
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
            security_context=container_security_context(DATA_UID),
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


class InClusterPostgres(_InClusterDataService):
    """PostgreSQL StatefulSet (single primary; seed 003 sizes 500m/1Gi, 100Gi in prod)."""

    TYPE = "aiplatform:data:InClusterPostgres"
    SERVICE = "postgres"
    IMAGE = "postgres:16.4"
    PORT = 5432
    DATA_PATH = "/var/lib/postgresql/data"
    DATABASE = "ai_assistant"

    def container(self, ports: dict[str, int]) -> k8s.core.v1.ContainerArgs:
        ready = ["sh", "-c", f'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d {self.DATABASE}']
        return self._container(
            ports,
            env=[
                k8s.core.v1.EnvVarArgs(name="POSTGRES_USER", value=self.USERNAME),
                k8s.core.v1.EnvVarArgs(name="POSTGRES_DB", value=self.DATABASE),
                k8s.core.v1.EnvVarArgs(name="PGDATA", value=f"{self.DATA_PATH}/pgdata"),
                self._password_env("POSTGRES_PASSWORD"),
            ],
            probe=ready,
            mounts=[k8s.core.v1.VolumeMountArgs(name="run", mount_path="/var/run/postgresql")],
        )

    def volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        return [scratch_volume("run", "16Mi")]

    def metrics_exporter(self) -> exporters.Exporter:
        return exporters.postgres_exporter(self.secret_name, self.USERNAME, self.DATABASE, self.PORT)

    def url(self) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            "postgresql://", self.USERNAME, ":", self.password.result, "@", self.SERVICE, ".",
            self.namespace, f".svc.cluster.local:{self.PORT}/{self.DATABASE}",
        )


class InClusterRedis(_InClusterDataService):
    """Redis StatefulSet with AOF persistence (appendfsync everysec) and a password.

    The password lives only in a Secret-mounted redis.conf, so it never shows in process args."""

    TYPE = "aiplatform:data:InClusterRedis"
    SERVICE = "redis"
    IMAGE = "redis:7.2.5"
    PORT = 6379
    DATA_PATH = "/data"
    USERNAME = "default"

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        maxmemory = memory_quantity(int(self.settings.memory * 0.8)).replace("Gi", "gb").replace("Mi", "mb")
        conf = self.password.result.apply(
            lambda pw: "\n".join(
                [
                    "appendonly yes",
                    "appendfsync everysec",
                    "dir /data",
                    f"maxmemory {maxmemory}",
                    "maxmemory-policy allkeys-lru",
                    "protected-mode yes",
                    f"requirepass {pw}",
                    "",
                ]
            )
        )
        return {**super().secret_data(), "redis.conf": conf}

    def container(self, ports: dict[str, int]) -> k8s.core.v1.ContainerArgs:
        return self._container(
            ports,
            command=["redis-server", "/etc/redis/redis.conf"],
            env=[self._password_env("REDISCLI_AUTH")],
            probe=["redis-cli", "-h", "127.0.0.1", "ping"],
            mounts=[k8s.core.v1.VolumeMountArgs(name="config", mount_path="/etc/redis", read_only=True)],
        )

    def volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        return [
            k8s.core.v1.VolumeArgs(
                name="config",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=self.secret_name,
                    items=[k8s.core.v1.KeyToPathArgs(key="redis.conf", path="redis.conf")],
                    default_mode=0o440,
                ),
            )
        ]

    def metrics_exporter(self) -> exporters.Exporter:
        return exporters.redis_exporter(self.secret_name, self.PORT)

    def url(self) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            "redis://:", self.password.result, "@", self.SERVICE, ".", self.namespace,
            f".svc.cluster.local:{self.PORT}/0",
        )


class InClusterMongo(_InClusterDataService):
    """MongoDB replica set `rs0` with authentication and an internal key file.

    A Job initiates the replica set once (idempotent), after the StatefulSet is ready."""

    TYPE = "aiplatform:data:InClusterMongo"
    SERVICE = "mongodb"
    IMAGE = "mongo:7.0.14"
    PORT = 27017
    DATA_PATH = "/data/db"
    USERNAME = "root"
    REPLICA_SET = "rs0"
    PEER_PORTS = (27017,)
    INIT_JOB = "mongodb-rs-init"

    @property
    def resolves_names(self) -> bool:
        # mongod resolves every host of the replica-set config, its own included, even with one member
        return True

    def metrics_exporter(self) -> exporters.Exporter:
        return exporters.mongodb_exporter(self.secret_name, self.USERNAME, self.PORT)

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        keyfile = random.RandomPassword(
            self.child_name("keyfile"),
            random.RandomPasswordArgs(length=512, special=False),
            opts=self.child_opts(stateful=True),
        )
        return {**super().secret_data(), "keyfile": keyfile.result}

    def init_containers(self) -> list[k8s.core.v1.ContainerArgs]:
        return [self._secret_file_init("keyfile", "keyfile", "/keyfile/keyfile")]

    def volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        return [
            self._secret_source_volume("keyfile"),
            k8s.core.v1.VolumeArgs(
                name="keyfile",
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="1Mi"),
            ),
        ]

    def container(self, ports: dict[str, int]) -> k8s.core.v1.ContainerArgs:
        ping = ["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]
        return self._container(
            ports,
            args=[
                "--replSet", self.REPLICA_SET, "--bind_ip_all", "--auth",
                "--keyFile", "/keyfile/keyfile", "--wiredTigerCacheSizeGB",
                f"{max(0.25, round(self.settings.memory / 1024 * 0.5, 2))}",
            ],
            env=[
                k8s.core.v1.EnvVarArgs(name="MONGO_INITDB_ROOT_USERNAME", value=self.USERNAME),
                self._password_env("MONGO_INITDB_ROOT_PASSWORD"),
            ],
            probe=ping,
            mounts=[k8s.core.v1.VolumeMountArgs(name="keyfile", mount_path="/keyfile", read_only=True)],
        )

    def hosts(self) -> pulumi.Output[str]:
        return pulumi.Output.all(*(self._pod_host(i) for i in range(self.settings.replicas))).apply(
            lambda hosts: ",".join(f"{h}:{self.PORT}" for h in hosts)
        )

    def url(self) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            "mongodb://", self.USERNAME, ":", self.password.result, "@", self.hosts(),
            f"/?replicaSet={self.REPLICA_SET}&authSource=admin",
        )

    def extra_resources(self) -> None:
        members = self.hosts().apply(
            lambda hosts: ",".join(f"{{_id: {i}, host: '{h}'}}" for i, h in enumerate(hosts.split(",")))
        )
        script = pulumi.Output.concat(
            "try { rs.status().ok } catch (e) { rs.initiate({_id: '", self.REPLICA_SET, "', members: [",
            members, "]}) }",
        )
        init_pods = {NAME_LABEL: self.INIT_JOB, PART_OF_LABEL: PART_OF, COMPONENT_LABEL: "data-init"}
        # the Job resolves the first member's name and talks to it on 27017; nothing connects to it
        network_policy(
            self.child_name("rs-init", "netpol"), self.INIT_JOB, self.namespace, {**self.labels, **init_pods}, init_pods,
            self.child_opts(),
            ingress=[],
            egress=[
                dns_egress_rule(),
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[peer(pod_labels=self.pod_labels)], ports=tcp_ports(self.PORT)
                ),
            ],
        )
        k8s.batch.v1.Job(
            self.child_name("rs-init"),
            metadata=metadata(self.INIT_JOB, self.namespace, self.object_labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=10,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={**self.labels, **init_pods}),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="OnFailure",
                        automount_service_account_token=False,
                        security_context=pod_security_context(DATA_UID),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="rs-init",
                                image=self.IMAGE,
                                command=[
                                    "sh", "-c",
                                    'mongosh --quiet --host "$FIRST_HOST" -u root -p "$MONGO_PASSWORD" '
                                    '--authenticationDatabase admin --eval "$SCRIPT"',
                                ],
                                env=[
                                    k8s.core.v1.EnvVarArgs(
                                        name="FIRST_HOST", value=pulumi.Output.concat(self._pod_host(0), f":{self.PORT}")
                                    ),
                                    k8s.core.v1.EnvVarArgs(name="SCRIPT", value=script),
                                    self._password_env("MONGO_PASSWORD"),
                                ],
                                resources=resources(50, 64, 200, 256),
                                security_context=container_security_context(DATA_UID),
                                volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
                            )
                        ],
                        volumes=[scratch_volume()],
                    ),
                ),
            ),
            opts=self.child_opts(depends_on=[self.statefulset]),
        )


class InClusterRabbitMq(_InClusterDataService):
    """RabbitMQ StatefulSet with the Prometheus endpoint on 15692.

    With more than one replica (prod) the nodes form one cluster through classic peer discovery
    over the headless Service's stable DNS names, share an Erlang cookie from a Secret, and pause
    the minority side of a network partition rather than split the queue state."""

    TYPE = "aiplatform:data:InClusterRabbitMq"
    SERVICE = "rabbitmq"
    IMAGE = "rabbitmq:3.13.7-management"
    PORT = 5672
    DATA_PATH = "/var/lib/rabbitmq"
    METRICS_PORT = 15692
    EXTRA_PORTS = {"metrics": METRICS_PORT}
    CLUSTER_PORTS = {"epmd": 4369, "dist": 25672}
    PEER_PORTS = tuple(CLUSTER_PORTS.values())

    def __init__(self, name: str, args: InClusterDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        self.EXTRA_PORTS = {**self.EXTRA_PORTS, **(self.CLUSTER_PORTS if args.settings.replicas > 1 else {})}
        super().__init__(name, args, opts)

    @property
    def clustered(self) -> bool:
        return self.settings.replicas > 1

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        data = super().secret_data()
        if self.clustered:
            cookie = random.RandomPassword(
                self.child_name("erlang-cookie"),
                random.RandomPasswordArgs(length=64, special=False),
                opts=self.child_opts(stateful=True),
            )
            data["erlang-cookie"] = cookie.result
            data["cluster.conf"] = self._cluster_conf()
        return data

    def metrics_exporter(self) -> exporters.Exporter:
        return exporters.rabbitmq_plugin(self.METRICS_PORT)

    def _cluster_conf(self) -> pulumi.Output[str]:
        nodes = pulumi.Output.all(*(self._pod_host(i) for i in range(self.settings.replicas))).apply(
            lambda hosts: "".join(
                f"cluster_formation.classic_config.nodes.{i + 1} = rabbit@{host}\n" for i, host in enumerate(hosts)
            )
        )
        return pulumi.Output.concat(
            "cluster_formation.peer_discovery_backend = classic_config\n",
            nodes,
            "cluster_partition_handling = pause_minority\n",
        )

    def init_containers(self) -> list[k8s.core.v1.ContainerArgs]:
        if not self.clustered:
            return []
        return [self._secret_file_init("erlang-cookie", "data", f"{self.DATA_PATH}/.erlang.cookie")]

    def volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        if not self.clustered:
            return []
        return [
            self._secret_source_volume("erlang-cookie"),
            k8s.core.v1.VolumeArgs(
                name="cluster-conf",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=self.secret_name,
                    items=[k8s.core.v1.KeyToPathArgs(key="cluster.conf", path="20-cluster.conf")],
                    default_mode=0o440,
                ),
            ),
        ]

    def container(self, ports: dict[str, int]) -> k8s.core.v1.ContainerArgs:
        env = [
            k8s.core.v1.EnvVarArgs(name="RABBITMQ_DEFAULT_USER", value=self.USERNAME),
            self._password_env("RABBITMQ_DEFAULT_PASS"),
        ]
        mounts = []
        if self.clustered:
            env = [
                k8s.core.v1.EnvVarArgs(
                    name="POD_NAME",
                    value_from=k8s.core.v1.EnvVarSourceArgs(
                        field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.name")
                    ),
                ),
                k8s.core.v1.EnvVarArgs(name="RABBITMQ_USE_LONGNAME", value="true"),
                k8s.core.v1.EnvVarArgs(
                    name="RABBITMQ_NODENAME",
                    value=pulumi.Output.concat(
                        "rabbit@$(POD_NAME).", self.headless_name, ".", self.namespace, ".svc.cluster.local"
                    ),
                ),
                *env,
            ]
            mounts.append(
                k8s.core.v1.VolumeMountArgs(
                    name="cluster-conf", mount_path="/etc/rabbitmq/conf.d/20-cluster.conf", sub_path="20-cluster.conf",
                    read_only=True,
                )
            )
        return self._container(
            ports,
            env=env,
            probe=["rabbitmq-diagnostics", "-q", "ping"],
            readiness=["rabbitmq-diagnostics", "-q", "check_port_connectivity"],
            mounts=mounts,
        )

    def url(self) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            "amqp://", self.USERNAME, ":", self.password.result, "@", self.SERVICE, ".", self.namespace,
            f".svc.cluster.local:{self.PORT}/",
        )


IN_CLUSTER_DATA: dict[str, type[_InClusterDataService]] = {
    "postgres": InClusterPostgres,
    "redis": InClusterRedis,
    "mongodb": InClusterMongo,
    "rabbitmq": InClusterRabbitMq,
}
