"""Redis on Amazon ElastiCache (`ecs`): a replication group (cluster mode disabled).

Creates:
- a cache subnet group over the isolated subnets;
- the replication group: in HA (prod) one primary plus replicas over the zones with Multi-AZ and
  automatic failover; encryption at rest with the `data` KMS key and in transit (TLS required);
  an AUTH token from `random` (sent only over TLS); daily snapshots kept for the daily tier
  (max 35 days) and a final snapshot on deletion; maintenance in `dr.maintenanceWindow`.

The id (`<prefix>-redis`) never depends on config values. Returns a `DataConnection` with a
`rediss://` URL (TLS) as a secret Output.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data.aws import AwsDataArgs, aws_maintenance_window, backup_retention_days, backup_window, tier_of
from components.data.aws import generated_credential, isolated_subnet_group
from components.data.connection import DataConnection

PORT = 6379


class ElastiCacheRedis(PlatformComponent):
    """ElastiCache Redis. Exposes `connection`, `auth_token` (secret), `replication_group`,
    `replication_group_id`, `member_cluster_ids`."""

    TYPE = "aiplatform:data:ElastiCacheRedis"

    def __init__(self, name: str, args: AwsDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        redis = cfg.data.redis
        self.replication_group_id = f"{self.context.prefix}-redis"
        nodes = max(2, redis.replicas) if redis.ha else 1
        nodes = min(nodes, cfg.aws.az_count) if redis.ha else 1
        # ElastiCache names member clusters <group id>-001, -002, ...
        self.member_cluster_ids = [f"{self.replication_group_id}-{i + 1:03d}" for i in range(nodes)]

        subnet_group = isolated_subnet_group(self, aws.elasticache, self.replication_group_id, args.subnet_ids)
        self.auth_token = generated_credential(self, "auth-token", length=64)
        self.replication_group = aws.elasticache.ReplicationGroup(
            self.child_name("group"),
            aws.elasticache.ReplicationGroupArgs(
                replication_group_id=self.replication_group_id,
                description=f"{self.context.stack} Redis (cache, sessions, rate limits)",
                engine="redis",
                engine_version=redis.version,
                node_type=tier_of(cfg, "redis"),
                port=PORT,
                num_cache_clusters=nodes,
                multi_az_enabled=redis.ha,
                automatic_failover_enabled=redis.ha,
                subnet_group_name=subnet_group.name,
                security_group_ids=[args.security_group_id],
                at_rest_encryption_enabled=True,
                kms_key_id=args.kms_key_arn,
                transit_encryption_enabled=True,
                # the mode setting exists from Redis 7 on; 6.2 always requires TLS once enabled
                transit_encryption_mode=None if str(redis.version).startswith("6") else "required",
                auth_token=pulumi.Output.secret(self.auth_token.result),
                snapshot_retention_limit=backup_retention_days(cfg),
                snapshot_window=backup_window(cfg),
                final_snapshot_identifier=f"{self.replication_group_id}-final",
                maintenance_window=aws_maintenance_window(cfg),
                auto_minor_version_upgrade=True,
                apply_immediately=not cfg.is_production,
                tags=self.labels,
            ),
            opts=self.child_opts(stateful=True),
        )
        host = self.replication_group.primary_endpoint_address
        url = pulumi.Output.all(host, self.auth_token.result).apply(lambda a: f"rediss://:{a[1]}@{a[0]}:{PORT}/0")
        self.connection = DataConnection(service="redis", host=host, port=PORT, url=pulumi.Output.secret(url), tls=True)
        self.register_outputs({"replicationGroupId": self.replication_group_id, "host": host})

    # --- what the ECS platform hands on (it iterates the registry, never names a data service) --

    def credentials(self) -> dict[str, pulumi.Output[str]]:
        return {"REDIS_AUTH_TOKEN": self.auth_token.result}

    def monitoring_args(self) -> dict[str, Any]:
        return {"redis_member_ids": self.member_cluster_ids}

    def dr_args(self) -> dict[str, Any]:
        return {}  # a cache: rebuilt empty, not backed up
