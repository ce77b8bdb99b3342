"""Redis on Memorystore (`cloudrun`, `gke`).

Creates one `redis.Instance` `<prefix>-redis` (stable name):
- STANDARD_HA (a replica in another zone with automatic failover) or BASIC, from the pinned
  `gcp.redisTier` (default STANDARD_HA in prod): the tier cannot change in place, so it never
  follows `data.redis.ha` silently (`components/data/gcp_placement.py`);
- reachable only through Private Service Access (`connect_mode=PRIVATE_SERVICE_ACCESS` on the
  stack's VPC), with AUTH on and in-transit encryption (`SERVER_AUTHENTICATION`: TLS on port
  6378, clients verify the instance's server CA, exposed as `ca_certificate`);
- RDB persistence with the snapshot period that fits the DR RPO (hourly for RPO 1 h), so a node
  restart does not start from an empty cache;
- maintenance on Sunday 02:00 UTC (seed 002), and the provider's deletion protection.

Memory: `data.redis.tier` when it is a number of GB, else `data.redis.storageGi` (seed 003: 10 Gi
in prod).

Exposes `connection` (DataConnection with a `rediss://:<auth>@host:port/0` URL as a secret Output),
`ca_certificate` and `instance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.base import PlatformComponent
from components.config import DataServiceConfig, StackContext
from components.data.connection import DataConnection, NetworkPeer
from components.data.gcp_checks import memorystore_capacity_gb
from components.data.gcp_placement import redis_tier

REDIS_CA_ENV = "REDIS_TLS_CA_CERT"

# RDB snapshot periods Memorystore offers, in minutes.
_RDB_PERIODS = ((60, "ONE_HOUR"), (360, "SIX_HOURS"), (720, "TWELVE_HOURS"), (1440, "TWENTY_FOUR_HOURS"))


def rdb_period_for(rpo_minutes: int) -> str:
    """The longest RDB snapshot period that still meets the RPO (hourly at best)."""
    fitting = [name for minutes, name in _RDB_PERIODS if minutes <= rpo_minutes]
    return fitting[-1] if fitting else "ONE_HOUR"


@dataclass(frozen=True)
class MemorystoreRedisArgs:
    context: StackContext
    project: pulumi.Input[str]
    settings: DataServiceConfig
    region: str
    network: pulumi.Input[str]  # VPC id
    private_service_access: pulumi.Resource
    deletion_protection: bool = True
    peer_cidr: Optional[str] = None
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # the Memorystore API


class MemorystoreRedis(PlatformComponent):
    """Memorystore for Redis: private, AUTH + TLS, RDB persistence, HA in prod."""

    TYPE = "aiplatform:data:MemorystoreRedis"

    def __init__(self, name: str, args: MemorystoreRedisArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        s = args.settings
        memory_gb = memorystore_capacity_gb(s)
        version = "REDIS_" + (s.version or "7.2").replace(".", "_")
        self.instance_name = f"{self.context.prefix}-redis"

        self.instance = gcp.redis.Instance(
            self.child_name("instance"),
            gcp.redis.InstanceArgs(
                project=args.project,
                name=self.instance_name,
                region=args.region,
                tier=redis_tier(self.config),
                memory_size_gb=memory_gb,
                redis_version=version,
                authorized_network=args.network,
                connect_mode="PRIVATE_SERVICE_ACCESS",
                auth_enabled=True,
                transit_encryption_mode="SERVER_AUTHENTICATION",
                persistence_config=gcp.redis.InstancePersistenceConfigArgs(
                    persistence_mode="RDB", rdb_snapshot_period=rdb_period_for(self.config.dr.rpo_minutes)
                ),
                maintenance_policy=gcp.redis.InstanceMaintenancePolicyArgs(
                    weekly_maintenance_windows=[
                        gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowArgs(
                            day="SUNDAY",
                            start_time=gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowStartTimeArgs(
                                hours=2, minutes=0, seconds=0, nanos=0
                            ),
                        )
                    ]
                ),
                deletion_protection=args.deletion_protection,
                labels=self.labels,
            ),
            opts=self.child_opts(stateful=True, depends_on=[args.private_service_access, *args.depends_on]),
        )
        self.ca_certificate = self.instance.server_ca_certs.apply(lambda certs: certs[0].cert if certs else "")
        url = pulumi.Output.all(self.instance.host, self.instance.port, self.instance.auth_string).apply(
            lambda v: f"rediss://:{v[2]}@{v[0]}:{int(v[1])}/0"
        )
        self.connection = DataConnection(
            service="redis",
            host=self.instance.host,
            port=6378,
            url=pulumi.Output.secret(url),
            tls=True,
            peer=NetworkPeer(cidr=args.peer_cidr),
            # in-transit encryption uses a Google-managed server CA the client must trust
            extra_secrets={REDIS_CA_ENV: pulumi.Output.secret(self.ca_certificate)},
        )
        self.register_outputs({"instance": self.instance_name, "host": self.instance.host})
