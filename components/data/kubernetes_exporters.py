"""Prometheus exporters of the in-cluster data services, as sidecars of their StatefulSet pods.

The maintained exporter of each database runs in the database's own pod and reaches it on
127.0.0.1, with the database's credentials read from the service's Secret (`secretKeyRef`):
- PostgreSQL: prometheus-community postgres_exporter (`pg_up`, `pg_stat_*`), port 9187;
- Redis: oliver006 redis_exporter (`redis_up`, `redis_memory_used_bytes`, ...), port 9121;
- MongoDB: Percona mongodb_exporter (`mongodb_up`, replica-set status), port 9216, with a direct
  connection to its own member, so each member of the replica set reports for itself;
- RabbitMQ needs no sidecar: its own `rabbitmq_prometheus` plugin (enabled in the official image)
  serves `rabbitmq_*` on 15692 (`rabbitmq_identity_info`, queue and node metrics).

Why sidecars and not one Deployment per exporter: loopback traffic needs no NetworkPolicy and no
DNS, every replica-set member is scraped on its own (a Deployment would watch one member through
the Service), and the exporter lives and dies with its database. The cost: changing an exporter
image rolls the StatefulSet, one pod at a time (OrderedReady, and the PDB in prod).

Every sidecar is hardened like the other containers (non-root uid 65534, read-only root
filesystem, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault), has
requests and limits and HTTP liveness/readiness probes on its metrics port, and is scraped by a
PodMonitor (components/monitoring/kubernetes.py) on the container port `metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi_kubernetes as k8s

from components.kubernetes_objects import (
    METRICS_PORT_NAME,
    container_security_context,
    resources,
    secret_env,
)

EXPORTER_UID = 65534  # nobody: the exporters are static binaries that need no home or writable path
# what one sidecar may use at most (the namespace's ResourceQuota counts it per data pod)
EXPORTER_CPU_LIMIT = 200
EXPORTER_MEMORY_LIMIT = 128

POSTGRES_EXPORTER_IMAGE = "quay.io/prometheuscommunity/postgres-exporter:v0.15.0"
REDIS_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.62.0"
MONGODB_EXPORTER_IMAGE = "percona/mongodb_exporter:0.40.0"


@dataclass(frozen=True)
class Exporter:
    """What a data service exports: the port its metrics are on, the metrics the alert rules read
    from it (`*_up`: 0 when the exporter cannot reach its database), and the sidecar (None when
    the service serves its metrics itself)."""

    port: int
    metrics: tuple[str, ...]
    container: Optional[k8s.core.v1.ContainerArgs] = None


def _sidecar(
    image: str, port: int, env: list[k8s.core.v1.EnvVarArgs], args: Optional[list[str]] = None
) -> k8s.core.v1.ContainerArgs:
    def probe(initial: int) -> k8s.core.v1.ProbeArgs:
        return k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path="/", port=METRICS_PORT_NAME),
            initial_delay_seconds=initial,
            period_seconds=20,
            timeout_seconds=5,
            failure_threshold=3,
        )

    return k8s.core.v1.ContainerArgs(
        name="exporter",
        image=image,
        image_pull_policy="IfNotPresent",
        args=args,
        env=env,
        ports=[k8s.core.v1.ContainerPortArgs(name=METRICS_PORT_NAME, container_port=port, protocol="TCP")],
        resources=resources(50, 64, EXPORTER_CPU_LIMIT, EXPORTER_MEMORY_LIMIT),
        security_context=container_security_context(EXPORTER_UID),
        liveness_probe=probe(30),
        readiness_probe=probe(5),
    )


def postgres_exporter(secret_name: str, user: str, database: str, port: int) -> Exporter:
    env = [
        k8s.core.v1.EnvVarArgs(name="DATA_SOURCE_URI", value=f"127.0.0.1:{port}/{database}?sslmode=disable"),
        k8s.core.v1.EnvVarArgs(name="DATA_SOURCE_USER", value=user),
        secret_env("DATA_SOURCE_PASS", secret_name, "password"),
    ]
    return Exporter(9187, ("pg_up",), _sidecar(POSTGRES_EXPORTER_IMAGE, 9187, env, ["--web.listen-address=:9187"]))


def redis_exporter(secret_name: str, port: int) -> Exporter:
    env = [
        k8s.core.v1.EnvVarArgs(name="REDIS_ADDR", value=f"redis://127.0.0.1:{port}"),
        k8s.core.v1.EnvVarArgs(name="REDIS_EXPORTER_WEB_LISTEN_ADDRESS", value=":9121"),
        secret_env("REDIS_PASSWORD", secret_name, "password"),
    ]
    return Exporter(9121, ("redis_up",), _sidecar(REDIS_EXPORTER_IMAGE, 9121, env))


def mongodb_exporter(secret_name: str, user: str, port: int) -> Exporter:
    env = [
        k8s.core.v1.EnvVarArgs(name="MONGODB_USER", value=user),
        secret_env("MONGODB_PASSWORD", secret_name, "password"),
    ]
    args = [
        # a direct connection (the exporter's default) to this member only
        f"--mongodb.uri=mongodb://127.0.0.1:{port}/admin",
        "--collector.diagnosticdata",
        "--collector.replicasetstatus",
        "--web.listen-address=:9216",
    ]
    return Exporter(9216, ("mongodb_up",), _sidecar(MONGODB_EXPORTER_IMAGE, 9216, env, args))


def rabbitmq_plugin(port: int) -> Exporter:
    """The broker's own Prometheus endpoint. It has no `*_up` gauge (the scrape's own `up` tells
    whether the broker answers); `rabbitmq_identity_info` names each node's cluster."""
    return Exporter(port, ("rabbitmq_identity_info",))
