"""The `data` section: PostgreSQL, Redis, MongoDB and RabbitMQ, each enabled and sized per stack."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

from components.config.base import DATA_SERVICES, MebiBytes, Millicores, _Model


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


class DataConfig(_Model):
    postgres: DataServiceConfig
    redis: DataServiceConfig
    mongodb: DataServiceConfig
    rabbitmq: DataServiceConfig

    def enabled(self) -> tuple[str, ...]:
        return tuple(n for n in DATA_SERVICES if getattr(self, n).enabled)
