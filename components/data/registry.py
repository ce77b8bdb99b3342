"""The data-service registry: one declaration per data service, which every platform iterates.

A data service is declared once, here: its name (the `data.<name>` config key and what a service
lists in `uses`), the environment variables it injects into its clients (always through the
platform's secret store), the port its clients reach, whether the in-cluster backup dumps it,
the seed sizes per environment, and per platform the backend that runs it:

- `component`: the component class (`module:Class`), imported only by the platform that builds
  it (a Kubernetes stack never imports the GCP or AWS SDKs);
- `port`: the port clients connect on (the managed offering's may differ from the in-cluster one);
- `tiers`: what `data.<name>.tier` means there;
- `hosted_on`: the backend runs inside another data service's (pgvector is an extension of the
  managed PostgreSQL): no component, no network rule, monitor or backup of its own; its clients
  reach the host's endpoint and get the host's connection under their own env var.

Nothing here imports the provider SDKs or the config package, so `components.config` derives its
schema (`DataConfig`, `DATA_SERVICES`, the seed sizes) from this table. Adding a data service is
one entry here plus its backend components; the adapters, network rules, monitoring and DR pick
it up from the table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Optional

IN_CLUSTER = "in-cluster"


@dataclass(frozen=True)
class Backend:
    """What runs a data service on one platform."""

    port: int
    tiers: str
    component: Optional[str] = None  # "module:Class"; None when `hosted_on` is set
    hosted_on: Optional[str] = None  # the data service whose backend also serves this one
    kind: str = "managed"  # "managed" | IN_CLUSTER | "hosted"
    problems: Optional[str] = None  # "module:function(config) -> list[Problem]" of this backend
    # how the scheduled backup verification restores it (issue 14): "dump" (the latest in-cluster
    # dump into a throwaway server), "cloud-sql" (the latest Cloud SQL backup into a throwaway
    # instance), "firestore" (the latest Firestore backup into a throwaway database), "aws-backup"
    # (AWS Backup restore testing); None: not restore-tested (a cache or a queue, see `durable`)
    restore_test: Optional[str] = None


@dataclass(frozen=True)
class DataService:
    name: str
    title: str
    env_var: str  # the connection URL's env var (seeds 000/004), a secret reference in every client
    backends: Mapping[str, Backend]
    sizes: Mapping[str, Mapping[str, Any]]  # per environment, stack-file shape (camelCase)
    dumped_in_cluster: bool = False  # the in-cluster backup CronJobs dump (and restore) it
    dump_tool: str = ""  # what makes that dump (named in its upload identity's description)
    # a system of record: its loss is data loss, so every platform restore-tests its backups and
    # the RPO applies to it; not durable: a cache (Redis) or in-flight work (RabbitMQ's queues)
    durable: bool = False
    description: str = ""


def _in_cluster(port: int, component: str, problems: Optional[str] = None, restore_test: Optional[str] = None) -> Backend:
    return Backend(
        port=port, tiers="none (sized by cpu/memory/storageGi)", component=component, kind=IN_CLUSTER, problems=problems,
        restore_test=restore_test,
    )


_K8S = "components.data.kubernetes"
_QDRANT = "components.data.qdrant"
_GCP_CHECKS = "components.data.gcp_checks"
_AWS_CHECKS = "components.data.aws"
# the managed GCP backends cloudrun and gke share
_CLOUD_SQL = Backend(5432, "Cloud SQL tier (db-custom-2-7680)", "components.data.cloudsql:CloudSqlPostgres",
                     problems=f"{_GCP_CHECKS}:cloud_sql_problems", restore_test="cloud-sql")
# Memorystore with in-transit encryption serves TLS on 6378
_MEMORYSTORE = Backend(6378, "Memorystore GB", "components.data.memorystore:MemorystoreRedis",
                       problems=f"{_GCP_CHECKS}:memorystore_problems")

REGISTRY: Mapping[str, DataService] = {
    s.name: s
    for s in (
        DataService(
            name="postgres",
            durable=True,
            title="PostgreSQL",
            env_var="DATABASE_URL",
            dumped_in_cluster=True,
            dump_tool="pg_dump",
            backends={
                "kubernetes": _in_cluster(5432, f"{_K8S}:InClusterPostgres", "components.dr.kubernetes:postgres_dump_problems", "dump"),
                "gke": _CLOUD_SQL,
                "cloudrun": _CLOUD_SQL,
                "ecs": Backend(5432, "RDS instance class (db.m6g.large)", "components.data.rds:RdsPostgres",
                               problems=f"{_AWS_CHECKS}:rds_problems", restore_test="aws-backup"),
            },
            # seed 003 resource table (prod), scaled down for dev and staging
            sizes={
                "dev": {"storageGi": 10, "cpu": "250m", "memory": "512Mi", "version": "16"},
                "staging": {"storageGi": 20, "cpu": "500m", "memory": "1Gi", "version": "16"},
                "prod": {"storageGi": 100, "cpu": "500m", "memory": "1Gi", "version": "16", "ha": True},
            },
        ),
        DataService(
            name="redis",
            title="Redis",
            env_var="REDIS_URL",
            backends={
                "kubernetes": _in_cluster(6379, f"{_K8S}:InClusterRedis"),
                "gke": _MEMORYSTORE,
                "cloudrun": _MEMORYSTORE,
                "ecs": Backend(6379, "ElastiCache node type (cache.r7g.large)", "components.data.elasticache:ElastiCacheRedis",
                               problems=f"{_AWS_CHECKS}:elasticache_problems"),
            },
            sizes={
                "dev": {"storageGi": 2, "cpu": "100m", "memory": "256Mi", "version": "7.2"},
                "staging": {"storageGi": 5, "cpu": "100m", "memory": "256Mi", "version": "7.2"},
                "prod": {"storageGi": 10, "cpu": "100m", "memory": "256Mi", "version": "7.2", "ha": True},
            },
        ),
        DataService(
            name="mongodb",
            durable=True,
            title="MongoDB",
            env_var="MONGODB_CONNECTION_URI",
            dumped_in_cluster=True,
            dump_tool="mongodump",
            backends={
                "kubernetes": _in_cluster(27017, f"{_K8S}:InClusterMongo", restore_test="dump"),
                "gke": _in_cluster(27017, f"{_K8S}:InClusterMongo", restore_test="dump"),
                "cloudrun": Backend(443, "none (Firestore with MongoDB compatibility)", "components.data.firestore:FirestoreMongo",
                                    restore_test="firestore"),
                "ecs": Backend(27017, "DocumentDB instance class (db.r6g.large)", "components.data.documentdb:DocumentDb",
                               problems=f"{_AWS_CHECKS}:documentdb_problems", restore_test="aws-backup"),
            },
            sizes={
                "dev": {"storageGi": 10, "cpu": "250m", "memory": "512Mi", "version": "7.0"},
                "staging": {"storageGi": 20, "cpu": "500m", "memory": "1Gi", "version": "7.0"},
                "prod": {"storageGi": 100, "cpu": "500m", "memory": "1Gi", "version": "7.0", "ha": True, "replicas": 3},
            },
        ),
        DataService(
            name="rabbitmq",
            title="RabbitMQ",
            env_var="QUEUE_CONNECTIONURL",
            backends={
                "kubernetes": _in_cluster(5672, f"{_K8S}:InClusterRabbitMq"),
                "gke": _in_cluster(5672, f"{_K8S}:InClusterRabbitMq"),
                "cloudrun": Backend(5671, "Compute Engine machine type", "components.data.rabbitmq_vm:RabbitMqVm",
                                    problems=f"{_GCP_CHECKS}:rabbitmq_vm_problems"),
                "ecs": Backend(5671, "Amazon MQ instance type (mq.m5.large)", "components.data.amazonmq:AmazonMqRabbitMq",
                               problems=f"{_AWS_CHECKS}:amazonmq_problems"),
            },
            sizes={
                "dev": {"storageGi": 5, "cpu": "250m", "memory": "512Mi", "version": "3.13"},
                "staging": {"storageGi": 10, "cpu": "500m", "memory": "1Gi", "version": "3.13"},
                "prod": {"storageGi": 20, "cpu": "500m", "memory": "1Gi", "version": "3.13", "ha": True, "replicas": 3},
            },
        ),
        DataService(
            name="vectordb",
            durable=True,
            title="vector database",
            env_var="VECTOR_DB_URL",  # seed 004
            # Qdrant's snapshot API, into the backup CronJobs' volume (and the bucket on gke)
            dumped_in_cluster=True,
            dump_tool="Qdrant snapshot",
            description=(
                "Qdrant StatefulSet on kubernetes/gke; pgvector in the managed PostgreSQL on "
                "cloudrun/ecs (needs data.postgres; the app runs CREATE EXTENSION vector)"
            ),
            backends={
                "kubernetes": _in_cluster(6333, f"{_QDRANT}:InClusterQdrant", f"{_QDRANT}:problems", "dump"),
                "gke": _in_cluster(6333, f"{_QDRANT}:InClusterQdrant", f"{_QDRANT}:problems", "dump"),
                # pgvector: Cloud SQL and RDS for PostgreSQL ship the `vector` extension
                "cloudrun": Backend(5432, "none (pgvector in data.postgres)", hosted_on="postgres", kind="hosted"),
                "ecs": Backend(5432, "none (pgvector in data.postgres)", hosted_on="postgres", kind="hosted"),
            },
            sizes={
                "dev": {"enabled": False, "storageGi": 5, "cpu": "250m", "memory": "512Mi", "version": "1.12"},
                "staging": {"enabled": False, "storageGi": 10, "cpu": "500m", "memory": "1Gi", "version": "1.12"},
                # three Raft peers in production (a majority survives one lost node)
                "prod": {"enabled": False, "storageGi": 50, "cpu": "1", "memory": "2Gi", "version": "1.12",
                         "replicas": 3},
            },
        ),
    )
}

DATA_SERVICE_NAMES: tuple[str, ...] = tuple(REGISTRY)
ENV_VARS: Mapping[str, str] = {s.name: s.env_var for s in REGISTRY.values()}


def backend(service: str, platform: str) -> Backend:
    return REGISTRY[service].backends[platform]


def component_class(service: str, platform: str) -> Any:
    """The component class that runs `service` on `platform` (imported now, not before)."""
    path = backend(service, platform).component
    if path is None:
        raise LookupError(f"{service} has no component of its own on {platform}")
    module, _, cls = path.partition(":")
    return getattr(importlib.import_module(module), cls)


def built_on(config: Any) -> tuple[str, ...]:
    """The enabled data services that have a component of their own on the stack's platform."""
    return tuple(n for n in config.data.enabled() if backend(n, config.platform).component is not None)


def backed_by(config: Any, component: str) -> list[str]:
    """The enabled data services the stack's platform runs on the class named `component`
    (e.g. "CloudSqlPostgres"), without importing it."""
    return [n for n in built_on(config) if backend(n, config.platform).component.endswith(f":{component}")]


def in_cluster(config: Any) -> tuple[str, ...]:
    """The enabled data services that run as StatefulSets on the stack's cluster."""
    return tuple(n for n in config.data.enabled() if backend(n, config.platform).kind == IN_CLUSTER)


def endpoint_of(service: str, platform: str) -> str:
    """The data service whose endpoint a client of `service` reaches (itself, or its host)."""
    return backend(service, platform).hosted_on or service


def reached(uses: Iterable[str], platform: str) -> tuple[str, ...]:
    """The data-service endpoints a client that `uses` these reaches, each once, in order."""
    found: list[str] = []
    for used in uses:
        target = endpoint_of(used, platform)
        if target not in found:
            found.append(target)
    return tuple(found)


def ports_on(platform: str) -> dict[str, int]:
    """Data service -> the port its clients reach on `platform`."""
    return {name: s.backends[platform].port for name, s in REGISTRY.items()}


def hosted_problems(config: Any) -> list[Any]:
    """A data service hosted on another needs that other one enabled (pgvector needs PostgreSQL):
    the `Problem`s of a config that enables one without its host."""
    from components.config.base import Problem  # the config package imports this module

    enabled = set(config.data.enabled())
    found = []
    for name in config.data.enabled():
        host = backend(name, config.platform).hosted_on
        if host is not None and host not in enabled:
            found.append(
                Problem(
                    f"data.{name}.enabled",
                    True,
                    f"on platform {config.platform} the {REGISTRY[name].title} runs in "
                    f"{REGISTRY[host].title} (data.{host}); enable data.{host} too",
                )
            )
    return found


def unsized_problems(config: Any) -> list[Any]:
    """A `tier` on a data service whose backend here has no managed size (an in-cluster
    StatefulSet, Firestore, pgvector in PostgreSQL) would be ignored silently: refused."""
    from components.config.base import Problem  # the config package imports this module

    found = []
    for name in config.data.enabled():
        chosen = backend(name, config.platform)
        tier = getattr(config.data, name).tier
        if tier is not None and chosen.tiers.startswith("none"):
            if chosen.kind == IN_CLUSTER:
                what, sized = "an in-cluster StatefulSet", " (cpu, memory and storageGi size it)"
            else:
                what, sized = chosen.tiers.partition("(")[2].rstrip(")"), ""
            found.append(Problem(f"data.{name}.tier", tier, f"{what} has no managed size; remove the key{sized}"))
    return found


def in_cluster_version_problems(config: Any) -> list[Any]:
    """An in-cluster server runs the image its component pins: a `version` that image is not would be
    ignored by the StatefulSet, while the dump CronJobs pick their client by it (a pg_dump 17 dump does
    not restore into the 16 server). A major upgrade in the cluster is a dump and restore, not a key."""
    from components.config import Problem

    found = []
    for name in config.data.enabled():
        chosen = backend(name, config.platform)
        version = getattr(config.data, name).version
        if chosen.kind != IN_CLUSTER or version is None:
            continue
        image = component_class(name, config.platform).IMAGE
        tag = image.rsplit(":", 1)[-1].lstrip("v")
        if not (tag == version or tag.startswith(version + ".") or tag.startswith(version + "-")):
            found.append(Problem(
                f"data.{name}.version", version,
                f"the in-cluster {name} runs {image} (pinned by the program); set {tag.split('-')[0]} or leave it unset",
            ))
    return found


def data_problems(config: Any) -> list[Any]:
    """Every problem the enabled data services' backends find in a config (pure: nothing is
    registered): a hosted one without its host, and each backend's own `problems`."""
    found = hosted_problems(config) + unsized_problems(config) + in_cluster_version_problems(config)
    for name in config.data.enabled():
        path = backend(name, config.platform).problems
        if path is not None:
            module, _, function = path.partition(":")
            found += getattr(importlib.import_module(module), function)(config)
    return found


def hosted_connections(config: Any, connections: Mapping[str, Any]) -> dict[str, Any]:
    """The connections of the enabled hosted data services: the host's, under their own name
    (and so their own env var)."""
    return {
        name: replace(connections[backend(name, config.platform).hosted_on], service=name, extra_secrets={})
        for name in config.data.enabled()
        if backend(name, config.platform).hosted_on is not None
    }


__all__ = [
    "Backend", "DataService", "DATA_SERVICE_NAMES", "ENV_VARS", "IN_CLUSTER", "REGISTRY", "backed_by", "backend",
    "built_on", "component_class", "data_problems", "unsized_problems", "endpoint_of", "hosted_connections", "hosted_problems", "in_cluster",
    "ports_on", "reached",
]
