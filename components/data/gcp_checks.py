"""What the GCP data backends refuse, found before anything is registered: one function per backend,
named by the `cloudrun` and `gke` backends in the registry (components/data/registry.py). SDK-free, like the adapters' checks.

- Cloud SQL (PostgreSQL): an engine major Cloud SQL offers, a tier that exists (Enterprise edition);
- Memorystore (Redis): a Redis version Memorystore offers, a capacity of 1-300 GB;
- the RabbitMQ VM (`cloudrun`): `data.rabbitmq.tier` is its Compute Engine machine type;
- Firestore (`cloudrun`'s MongoDB) has no size: its placement is checked with the others
  (`gcp_placement.placement_problems`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.config.base import Problem
from components.platforms.limits import (
    MEMORYSTORE_GB,
    cloud_sql_tier_problems,
    machine_type_problems,
    memorystore_size_problems,
)

if TYPE_CHECKING:
    from components.config import StackConfig

# database_version POSTGRES_<major> (pinned pulumi_gcp sql.DatabaseInstance docstring), from 13 on:
# the older majors are past their end of support
CLOUD_SQL_POSTGRES_MAJORS = ("13", "14", "15", "16", "17", "18")
# redis_version REDIS_<major>_<minor> (Memorystore for Redis)
MEMORYSTORE_REDIS_VERSIONS = ("7.0", "7.2")


CLOUD_SQL_MIN_DISK_GB = 10  # Cloud SQL's smallest data disk


def memorystore_capacity_gb(settings) -> int:
    """The Memorystore capacity the instance gets: `tier` as a number of GB, else `storageGi`."""
    return int(settings.tier) if settings.tier and settings.tier.isdigit() else settings.storage_gi


def cloud_sql_problems(config: "StackConfig") -> list[Problem]:
    s = config.data.postgres
    problems = []
    if s.storage_gi < CLOUD_SQL_MIN_DISK_GB:
        problems.append(Problem("data.postgres.storageGi", s.storage_gi,
                                f"a Cloud SQL data disk is at least {CLOUD_SQL_MIN_DISK_GB} GB"))
    major = (s.version or "16").split(".")[0]
    if major not in CLOUD_SQL_POSTGRES_MAJORS:
        problems.append(Problem("data.postgres.version", s.version,
                                f"Cloud SQL offers PostgreSQL {', '.join(CLOUD_SQL_POSTGRES_MAJORS)}"))
    if s.tier is not None:
        problems += cloud_sql_tier_problems("data.postgres.tier", s.tier)
    return problems


def memorystore_problems(config: "StackConfig") -> list[Problem]:
    s = config.data.redis
    problems = []
    if (s.version or "7.2") not in MEMORYSTORE_REDIS_VERSIONS:
        problems.append(Problem("data.redis.version", s.version,
                                f"Memorystore for Redis offers {', '.join(MEMORYSTORE_REDIS_VERSIONS)}"))
    if s.tier is None:  # the capacity is storageGi then (memorystore.py)
        low, high = MEMORYSTORE_GB
        if not low <= memorystore_capacity_gb(s) <= high:
            problems.append(Problem("data.redis.storageGi", s.storage_gi,
                                    f"is the Memorystore capacity when data.redis.tier is unset: {low} to {high} GB"))
    return problems + memorystore_size_problems("data.redis.tier", s.tier)


def rabbitmq_vm_problems(config: "StackConfig") -> list[Problem]:
    tier = config.data.rabbitmq.tier
    return machine_type_problems("data.rabbitmq.tier", tier) if tier is not None else []
