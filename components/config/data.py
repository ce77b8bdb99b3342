"""The `data` section: one key per data service of the registry (components/data/registry.py:
PostgreSQL, Redis, MongoDB, RabbitMQ, the vector database), each enabled and sized per stack."""

from __future__ import annotations

from typing import Optional

from pydantic import Field, create_model

from components.config.base import DATA_SERVICES, MebiBytes, Millicores, _Model
from components.data.registry import REGISTRY


class DataServiceConfig(_Model):
    """One data service. `tier` is the managed offering's size and is platform specific
    (Cloud SQL tier, RDS instance class, Memorystore GB, ...); None picks the platform default
    for the environment. `cpu`/`memory` size in-cluster StatefulSets."""

    enabled: bool = Field(
        default=True,
        description="false: the service is not created and no app service may `use` it; switching it off on a "
        "running stack deletes it with its data (a protected prod resource stops `pulumi up` instead)",
    )
    version: Optional[str] = Field(default=None, description="engine version of the managed service (and the RabbitMQ VM's image); none: the platform's "
        "pinned default. Upgrades apply in place; clouds refuse downgrades. In the cluster (kubernetes, gke) it must "
        "match the pinned image (the dumps pick their client by it)")
    storage_gi: int = Field(ge=1, le=65536, description="disk / PVC size in GiB (seed 003: 100 Gi for PostgreSQL and MongoDB, 10 Gi for Redis in "
        "prod); managed disks only grow; a StatefulSet keeps its volume size (volumeClaimTemplates are immutable)")
    cpu: Millicores = Field(description="vCPU request of the in-cluster StatefulSet (limit is 2x)")
    memory: MebiBytes = Field(description="memory request of the in-cluster StatefulSet (limit is 2x)")
    replicas: int = Field(default=1, ge=1, le=7, description="members of the in-cluster MongoDB replica set (1 to 7); DocumentDB instances on ecs")
    ha: bool = Field(default=False, description="managed high availability (Cloud SQL regional, Memorystore STANDARD_HA, Multi-AZ on AWS); "
        "on gcp it must agree with gcp.redisTier; on ecs a change on rabbitmq swaps the Amazon MQ deployment "
        "mode, fixed at creation, so the broker (and its queues) is replaced")
    tier: Optional[str] = Field(default=None, description="managed size, platform specific (Cloud SQL tier, Memorystore GB, RDS/DocumentDB/ElastiCache/"
        "Amazon MQ instance class, RabbitMQ VM machine type); none: the platform's default for the environment")


class _DataConfigBase(_Model):
    """One `DataServiceConfig` per data service of the registry, by its name."""

    def enabled(self) -> tuple[str, ...]:
        return tuple(n for n in DATA_SERVICES if getattr(self, n).enabled)


# a field per registry entry: adding a data service to the registry adds its `data.<name>` key
DataConfig = create_model(
    "DataConfig",
    __base__=_DataConfigBase,
    **{
        name: (DataServiceConfig, Field(description=REGISTRY[name].description or REGISTRY[name].title))
        for name in DATA_SERVICES
    },
)
