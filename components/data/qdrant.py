"""The vector database on `kubernetes`/`gke`: Qdrant as a hardened single-node StatefulSet.

It has the shared shape of the in-cluster data services (components/data/kubernetes_statefulset.py:
generated credentials in a Secret, headless + ClusterIP Services, a PVC per pod, retained PVCs,
protection in production) and differs in:
- image `qdrant/qdrant:<tag>-unprivileged`, pinned, which runs as uid 1000 (the default image runs
  as root); read-only root filesystem with exactly the paths Qdrant writes: the PVC
  (`/qdrant/storage`), snapshots (`/qdrant/snapshots`, an emptyDir the backup downloads from), its
  init marker (`/qdrant/init`) and `/tmp`;
- an API key (`QDRANT__SERVICE__API_KEY`, generated, 32 characters) for the clients and a
  read-only key for Prometheus; both only in the Secret, never in args or plain env; the
  clients get `VECTOR_DB_URL` (no credentials in it) and `VECTOR_DB_API_KEY`, both secret refs;
- HTTP probes on `/livez` and `/readyz` (Qdrant serves them without a key);
- metrics: Qdrant serves `/metrics` on its REST port itself (no sidecar), behind the key: the
  PodMonitor sends the read-only key as a Bearer token from the Secret;
- NetworkPolicy `vectordb-ingress`: only the pods of the services that list it in `uses` reach
  6333 (REST) and 6334 (gRPC), Prometheus reaches 6333; the backup CronJob's own policy admits it;
- `data.vectordb.replicas` > 1 (3 in prod): distributed mode. Pod 0 starts the Raft cluster, the
  others bootstrap from it over the headless Service's stable names on the p2p port 6335
  (`vectordb-peers` NetworkPolicy: DNS and 6335 between members only); a PodDisruptionBudget and
  spreading over nodes come with the shared shape. Two peers are refused (`problems`): a Raft
  majority of two tolerates no failure. Collections must be created with `replication_factor`
  >= 2 by the app for a lost node to lose nothing (Qdrant's default is 1).

Backups: `components/dr/kubernetes.py` snapshots every collection on every node through the
snapshot API (`POST /collections/<c>/snapshots`), downloads the snapshots into one archive on the
backup volume and deletes them from Qdrant. Restore: upload each node's collection snapshots back
(`POST /collections/<c>/snapshots/upload`), see docs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.data import kubernetes_exporters as exporters
from components.data.connection import DataConnection
from components.data.kubernetes_statefulset import InClusterDataService
from components.kubernetes_objects import (
    NAME_LABEL,
    ScrapeTarget,
    peer,
    scratch_volume,
    secret_env,
    tcp_ports,
)

IMAGE = "qdrant/qdrant:v1.12.4-unprivileged"
QDRANT_UID = 1000  # the unprivileged image's user
REST_PORT = 6333
GRPC_PORT = 6334
P2P_PORT = 6335  # Raft and shard transfers between peers (distributed mode)
API_KEY_ENV = "VECTOR_DB_API_KEY"
# metrics Qdrant itself serves on /metrics (the alert reads the scrape's `up`)
METRICS = ("app_info", "collections_total")


def problems(config: Any) -> list[Any]:
    """What this backend refuses, before anything is registered."""
    from components.config.base import Problem

    vdb = config.data.vectordb
    if vdb.enabled and vdb.replicas == 2:
        return [
            Problem(
                "data.vectordb.replicas",
                vdb.replicas,
                "1, or 3 or more: Qdrant's Raft consensus needs a majority, and two peers tolerate no failure",
            )
        ]
    return []


class InClusterQdrant(InClusterDataService):
    """Qdrant StatefulSet (single node), API-key protected, scraped and snapshotted."""

    TYPE = "aiplatform:data:InClusterQdrant"
    SERVICE = "vectordb"
    IMAGE = IMAGE
    UID = QDRANT_UID
    PORT = REST_PORT
    EXTRA_PORTS = {"grpc": GRPC_PORT}
    DATA_PATH = "/qdrant/storage"
    SNAPSHOTS_PATH = "/qdrant/snapshots"
    INIT_PATH = "/qdrant/init"
    USERNAME = "qdrant"  # not used by Qdrant (keys only); kept in the Secret's shape

    PEER_PORTS = (P2P_PORT,)

    def __init__(self, name: str, args: Any, opts: Optional[pulumi.ResourceOptions] = None):
        if args.settings.replicas > 1:
            self.EXTRA_PORTS = {**self.EXTRA_PORTS, "p2p": P2P_PORT}
        super().__init__(name, args, opts)

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        self.read_only_key = random.RandomPassword(
            self.child_name("read-only-key"),
            random.RandomPasswordArgs(length=32, special=False),
            opts=self.child_opts(stateful=True),
        )
        return {**super().secret_data(), "read-only-key": self.read_only_key.result}

    def metrics_exporter(self) -> exporters.Exporter:
        return exporters.Exporter(self.PORT, METRICS)

    def volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        return [
            # a full snapshot is at most the size of the data it copies
            scratch_volume("snapshots", f"{self.settings.storage_gi}Gi"),
            scratch_volume("init", "1Mi"),
        ]

    def container(self, ports: dict[str, int]) -> k8s.core.v1.ContainerArgs:
        def probe(path: str, initial: int, period: int) -> k8s.core.v1.ProbeArgs:
            return k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port="main"),
                initial_delay_seconds=initial,
                period_seconds=period,
                timeout_seconds=5,
                failure_threshold=6,
            )

        env = [
            secret_env("QDRANT__SERVICE__API_KEY", self.secret_name, "password"),
            secret_env("QDRANT__SERVICE__READ_ONLY_API_KEY", self.secret_name, "read-only-key"),
            k8s.core.v1.EnvVarArgs(name="QDRANT__SERVICE__HTTP_PORT", value=str(REST_PORT)),
            k8s.core.v1.EnvVarArgs(name="QDRANT__SERVICE__GRPC_PORT", value=str(GRPC_PORT)),
            k8s.core.v1.EnvVarArgs(name="QDRANT__STORAGE__STORAGE_PATH", value=self.DATA_PATH),
            k8s.core.v1.EnvVarArgs(name="QDRANT__STORAGE__SNAPSHOTS_PATH", value=self.SNAPSHOTS_PATH),
            k8s.core.v1.EnvVarArgs(name="QDRANT_INIT_FILE_PATH", value=f"{self.INIT_PATH}/.qdrant-initialized"),
            k8s.core.v1.EnvVarArgs(name="QDRANT__TELEMETRY_DISABLED", value="true"),
        ]
        command = None
        if self.resolves_names:
            env += [
                k8s.core.v1.EnvVarArgs(
                    name="POD_NAME",
                    value_from=k8s.core.v1.EnvVarSourceArgs(
                        field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.name")
                    ),
                ),
                k8s.core.v1.EnvVarArgs(
                    name="PEER_DOMAIN",
                    value=pulumi.Output.concat(self.headless_name, ".", self.namespace, ".svc.cluster.local"),
                ),
                k8s.core.v1.EnvVarArgs(name="QDRANT__CLUSTER__ENABLED", value="true"),
                k8s.core.v1.EnvVarArgs(name="QDRANT__CLUSTER__P2P__PORT", value=str(P2P_PORT)),
            ]
            # pod 0 starts the cluster; the others join it (stable names: the headless Service)
            command = ["/bin/bash", "-c", (
                f'self="http://${{POD_NAME}}.${{PEER_DOMAIN}}:{P2P_PORT}"; '
                'if [ "${POD_NAME##*-}" = "0" ]; then exec ./entrypoint.sh --uri "$self"; '
                f'else exec ./entrypoint.sh --bootstrap "http://{self.SERVICE}-0.${{PEER_DOMAIN}}:{P2P_PORT}" '
                '--uri "$self"; fi'
            )]
        return self._container(
            ports,
            command=command,
            env=env,
            probe=probe("/livez", 15, 20),
            readiness=probe("/readyz", 5, 10),
            mounts=[
                k8s.core.v1.VolumeMountArgs(name="snapshots", mount_path=self.SNAPSHOTS_PATH),
                k8s.core.v1.VolumeMountArgs(name="init", mount_path=self.INIT_PATH),
            ],
        )

    def client_ingress_rules(self) -> list[k8s.networking.v1.NetworkPolicyIngressRuleArgs]:
        """Only its clients (the services that `use` it), on REST 6333 and gRPC 6334."""
        clients = sorted(n for n, s in self.config.enabled_services.items() if self.SERVICE in s.uses)
        if not clients:
            return []
        return [
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[peer(pod_labels={NAME_LABEL: client}) for client in clients],
                ports=tcp_ports(REST_PORT, GRPC_PORT),
            )
        ]

    def url(self) -> pulumi.Output[str]:
        return pulumi.Output.concat("http://", self.SERVICE, ".", self.namespace, f".svc.cluster.local:{self.PORT}")

    def make_connection(self) -> DataConnection:
        # the API key reaches clients as their own secret env; gRPC is a second port to allow
        return replace(
            super().make_connection(),
            extra_secrets={API_KEY_ENV: pulumi.Output.secret(self.password.result)},
            extra_ports=(GRPC_PORT,),
        )

    def make_scrape_target(self) -> ScrapeTarget:
        # /metrics is on the REST port, behind the key: the read-only one, as a Bearer token
        return replace(super().make_scrape_target(), port_name="main", bearer_secret=(self.secret_name, "read-only-key"))
