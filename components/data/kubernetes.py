"""In-cluster data services: PostgreSQL, Redis (AOF), MongoDB (replica set), RabbitMQ.

What each one creates, and its NetworkPolicies, is the shared shape in
components/data/kubernetes_statefulset.py; this module holds what differs per service (image,
ports, container, credentials, exporter, replica-set init, clustering) and the registry every
platform iterates. Images are pinned by tag.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.config import memory_quantity
from components.data import kubernetes_exporters as exporters
from components.data.kubernetes_statefulset import DATA_UID, InClusterDataArgs, InClusterDataService
from components.kubernetes_objects import (
    COMPONENT_LABEL,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
    container_security_context,
    dns_egress_rule,
    metadata,
    network_policy,
    peer,
    pod_security_context,
    resources,
    scratch_volume,
    tcp_ports,
)

__all__ = ["InClusterDataArgs"]


class InClusterPostgres(InClusterDataService):
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


class InClusterRedis(InClusterDataService):
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


class InClusterMongo(InClusterDataService):
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


class InClusterRabbitMq(InClusterDataService):
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
