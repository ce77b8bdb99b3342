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

    enabled: bool = True
    version: Optional[str] = Field(default=None, description="engine version (managed services)")
    storage_gi: int = Field(ge=1, le=65536, description="disk / PVC size in GiB (seed 003)")
    cpu: Millicores = Field(description="in-cluster request (limit is 2x)")
    memory: MebiBytes = Field(description="in-cluster request (limit is 2x)")
    replicas: int = Field(default=1, ge=1, le=7, description="in-cluster members (MongoDB replica set)")
    ha: bool = Field(default=False, description="managed high availability (regional / Multi-AZ)")
    tier: Optional[str] = Field(default=None, description="managed size, platform specific; none = platform default")


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
