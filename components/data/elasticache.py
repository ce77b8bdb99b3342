"""Redis on Amazon ElastiCache (`ecs`): a replication group (cluster mode disabled).

Creates:
- a cache subnet group over the isolated subnets;
- the replication group: in HA (prod) one primary plus replicas over the zones with Multi-AZ and
  automatic failover; encryption at rest with the `data` KMS key and in transit (TLS required);
  an AUTH token from `random` (sent only over TLS); daily snapshots kept for the daily tier
  (max 35 days) and a final snapshot on deletion; maintenance in `dr.maintenanceWindow`.

The id (`<prefix>-redis`) never depends on config values. Returns a `DataConnection` with a
`rediss://` URL (TLS) as a secret Output.

With a standby (`AwsDataArgs.standby`, aws.standby.mode warm or pilotLight): an ElastiCache global
datastore made from this group (`GlobalReplicationGroup`, id `<aws prefix>-<prefix>-redis`; AWS puts a
five-letter prefix before the suffix) and, with the secondary provider, the secondary replication group
`<prefix>-redis-standby` in the standby VPC's isolated subnets with the secondary `data` key, as many
nodes as the primary (a global datastore's members need the same node type and primary count), the
same AUTH token, and no engine, version, node type, parameter group or encryption flags: a secondary
takes those from the datastore (the provider refuses them beside `global_replication_group_id`).
Node type and engine version then change on the datastore (`cache_node_type`, `engine_version`), so
the primary's `nodeType` is in its `ignore_changes` (AWS rejects modifying a member; the provider
already ignores its engine version). `primaryReplicationGroupId` of the datastore and
`globalReplicationGroupId` of the secondary are in `ignore_changes`: both force replacement in the
provider, and a regional failover or a disassociation changes them outside Pulumi. The checks
(components/data/aws.py `elasticache_problems`) refuse node types a global datastore does not take.
`standby_connection` is the secondary's primary endpoint (read-only until promoted).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data.aws import AwsDataArgs, AwsStandbyPlacement, aws_maintenance_window, backup_retention_days, backup_window, tier_of
from components.data.aws import generated_credential, isolated_subnet_group
from components.data.connection import DataConnection

PORT = 6379


class ElastiCacheRedis(PlatformComponent):
    """ElastiCache Redis. Exposes `connection`, `auth_token` (secret), `replication_group`,
    `replication_group_id`, `member_cluster_ids`; with a standby `global_datastore`,
    `standby_group`, `standby_replication_group_id` and `standby_connection` (else None)."""

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
            # in a global datastore the node type changes on the datastore (AWS rejects it on a member)
            opts=self.child_opts(stateful=True, ignore_changes=["nodeType"] if args.standby is not None else None),
        )
        self.connection = self._connection(self.replication_group.primary_endpoint_address)
        self.global_datastore = self.standby_group = None
        self.standby_replication_group_id: Optional[str] = None
        self.standby_connection: Optional[DataConnection] = None
        if args.standby is not None:
            self._standby(args.standby, nodes)
            self.standby_connection = self._connection(self.standby_group.primary_endpoint_address)
        self.register_outputs({"replicationGroupId": self.replication_group_id,
                               "host": self.replication_group.primary_endpoint_address,
                               "standbyReplicationGroupId": self.standby_replication_group_id})

    def _connection(self, host: pulumi.Output[str]) -> DataConnection:
        url = pulumi.Output.all(host, self.auth_token.result).apply(lambda a: f"rediss://:{a[1]}@{a[0]}:{PORT}/0")
        return DataConnection(service="redis", host=host, port=PORT, url=pulumi.Output.secret(url), tls=True)

    def _standby(self, standby: AwsStandbyPlacement, nodes: int) -> None:
        """The global datastore from the primary group and its secondary group in regions.secondary."""
        cfg = self.config
        redis = cfg.data.redis
        self.global_datastore = aws.elasticache.GlobalReplicationGroup(
            self.child_name("global"),
            aws.elasticache.GlobalReplicationGroupArgs(
                global_replication_group_id_suffix=self.replication_group_id,
                global_replication_group_description=f"{self.context.stack} Redis across regions (standby)",
                primary_replication_group_id=self.replication_group.id,
                cache_node_type=tier_of(cfg, "redis"),
                engine_version=redis.version,
            ),
            opts=self.child_opts(stateful=True, ignore_changes=["primaryReplicationGroupId"]),
        )
        identifier = f"{self.replication_group_id}-standby"
        self.standby_replication_group_id = identifier
        there = standby.opts()
        subnet_group = isolated_subnet_group(
            self, aws.elasticache, identifier, standby.subnet_ids, key="standby-subnets", **there
        )
        self.standby_group = aws.elasticache.ReplicationGroup(
            self.child_name("standby"),
            aws.elasticache.ReplicationGroupArgs(
                replication_group_id=identifier,
                description=f"{self.context.stack} Redis standby in {standby.region}",
                global_replication_group_id=self.global_datastore.global_replication_group_id,
                port=PORT,
                num_cache_clusters=nodes,
                multi_az_enabled=redis.ha,
                automatic_failover_enabled=redis.ha,
                subnet_group_name=subnet_group.name,
                security_group_ids=[standby.security_group_id],
                kms_key_id=standby.kms_key_arn,
                auth_token=pulumi.Output.secret(self.auth_token.result),
                snapshot_retention_limit=backup_retention_days(cfg),
                snapshot_window=backup_window(cfg),
                final_snapshot_identifier=f"{identifier}-final",
                maintenance_window=aws_maintenance_window(cfg),
                auto_minor_version_upgrade=True,
                apply_immediately=not cfg.is_production,
                tags={**self.labels, "role": "standby"},
            ),
            opts=self.child_opts(stateful=True, ignore_changes=["globalReplicationGroupId"], **there),
        )

    # --- what the ECS platform hands on (it iterates the registry, never names a data service) --

    def credentials(self) -> dict[str, pulumi.Output[str]]:
        return {"REDIS_AUTH_TOKEN": self.auth_token.result}

    def monitoring_args(self) -> dict[str, Any]:
        return {"redis_member_ids": self.member_cluster_ids}

    def dr_args(self) -> dict[str, Any]:
        """Not backed up (a cache, rebuilt empty); the runbook names its standby."""
        return {"redis_replication_group_id": self.replication_group_id,
                "redis_standby_replication_group_id": self.standby_replication_group_id}
