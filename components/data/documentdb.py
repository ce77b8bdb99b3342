"""MongoDB API on Amazon DocumentDB (`ecs`).

Creates:
- a DocumentDB subnet group over the isolated subnets;
- a cluster parameter group with `tls=enabled` (clients must use TLS), audit logs on and the
  profiler on for operations slower than 2 s (`profiler_threshold_ms`, the seeds' p95 target):
  without it the profiler export would stay empty;
- the log groups of the audit and profiler exports (`/aws/docdb/<cluster>/<log>`), with retention
  and the `logs` key, before the cluster (otherwise DocumentDB creates them, kept forever);
- the cluster: storage encrypted with the `data` KMS key, backups kept for the daily tier (max 35
  days; point-in-time restore inside that window), deletion protection and a final snapshot in prod,
  audit and profiler logs to CloudWatch, maintenance in `dr.maintenanceWindow`, major version
  upgrades allowed (the version comes from config; docs/deploy-aws.md states the downtime);
- `data.mongodb.replicas` instances (3 in prod: one writer, two readers over the zones; failover
  promotes a reader), Performance Insights in prod.

DocumentDB's TLS certificates are signed by the Amazon RDS CA: images must trust the RDS global
bundle (docs/deploy-aws.md). The URL (`mongodb://...?tls=true&replicaSet=rs0&retryWrites=false`)
is a secret Output.

With a standby (`AwsDataArgs.standby`, aws.standby.mode warm or pilotLight), a DocumentDB global
cluster `<prefix>-docdb-global` is created *from* the existing cluster (`source_db_cluster_identifier`
= its ARN; the cluster's own inputs stay as they are, so it is not replaced: only
`globalClusterIdentifier`, which AWS then reports on it, is in its `ignore_changes`), plus, with the
secondary provider, the secondary cluster `<prefix>-docdb-standby` in the standby VPC's isolated
subnets: storage-based replication, lag typically under a second (cross-region RPO: seconds, where
the daily copied backup alone gives ~24 h), its own parameter group and log groups, the secondary
`data` key (a key serves one region), no master user (a secondary inherits the global cluster's),
deletion protection, a final snapshot and `protect` in prod. Its instances: as many as the primary's
in warm mode, one in pilot light (the runbook adds more after the failover). `globalClusterIdentifier`
is in the secondary's `ignore_changes` too, so after a detach-and-promote `pulumi up` does not try to
re-attach it (AWS refuses to add an existing cluster to a global cluster). `standby_connection` is the
secondary's cluster endpoint (read-only until a failover makes it the writer).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data.aws import DOCDB_VERSIONS, AwsDataArgs, AwsStandbyPlacement, aws_maintenance_window, backup_retention_days, backup_window, tier_of
from components.data.aws import generated_credential, isolated_subnet_group, parameter_group, service_log_groups
from components.data.aws import standby_groups
from components.data.connection import DataConnection

PORT = 27017
USERNAME = "aiassistant"
LOG_EXPORTS = ("audit", "profiler")
PROFILER_THRESHOLD_MS = 2000


PARAMETERS = {"tls": "enabled", "audit_logs": "enabled", "profiler": "enabled",
              "profiler_threshold_ms": str(PROFILER_THRESHOLD_MS)}


class DocumentDb(PlatformComponent):
    """DocumentDB cluster. Exposes `connection`, `password` (secret), `cluster`, `cluster_identifier`;
    with a standby `global_cluster`, `standby_cluster`, `global_cluster_identifier`,
    `standby_cluster_identifier` and `standby_connection` (else None)."""

    TYPE = "aiplatform:data:DocumentDb"

    def __init__(self, name: str, args: AwsDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        mongo = cfg.data.mongodb
        version = str(mongo.version)
        self.cluster_identifier = f"{self.context.prefix}-docdb"

        subnet_group = isolated_subnet_group(self, aws.docdb, self.cluster_identifier, args.subnet_ids)
        params = self._parameter_group(self.cluster_identifier, version)
        log_groups = service_log_groups(
            self, f"/aws/docdb/{self.cluster_identifier}", LOG_EXPORTS, args.log_kms_key_arn
        )
        self.password = generated_credential(self)
        self.cluster = aws.docdb.Cluster(
            self.child_name("cluster"),
            aws.docdb.ClusterArgs(
                master_username=USERNAME,
                master_password=pulumi.Output.secret(self.password.result),
                **self._cluster_args(self.cluster_identifier, version, subnet_group, args.security_group_id, params,
                                     args.kms_key_arn, self.labels),
            ),
            # the global cluster made from this one sets its globalClusterIdentifier: not a change of ours
            opts=self.child_opts(
                stateful=True, depends_on=log_groups,
                ignore_changes=["globalClusterIdentifier"] if args.standby is not None else None,
            ),
        )
        primary_instances = self._instances("instance", self.cluster_identifier, self.cluster, mongo.replicas,
                                            args.kms_key_arn, {})
        self.connection = self._connection(self.cluster.endpoint)
        self.global_cluster = self.standby_cluster = None
        self.global_cluster_identifier: Optional[str] = None
        self.standby_cluster_identifier: Optional[str] = None
        self.standby_connection: Optional[DataConnection] = None
        if args.standby is not None:
            self._standby(args.standby, version, primary_instances)
            self.standby_connection = self._connection(self.standby_cluster.endpoint)
        self.register_outputs({"clusterIdentifier": self.cluster_identifier, "host": self.cluster.endpoint,
                               "standbyClusterIdentifier": self.standby_cluster_identifier})

    def _connection(self, host: pulumi.Output[str]) -> DataConnection:
        url = pulumi.Output.all(host, self.password.result).apply(
            lambda a: (
                f"mongodb://{USERNAME}:{a[1]}@{a[0]}:{PORT}/?tls=true&replicaSet=rs0"
                "&readPreference=secondaryPreferred&retryWrites=false"
            )
        )
        return DataConnection(service="mongodb", host=host, port=PORT, url=pulumi.Output.secret(url), tls=True)

    def _cluster_args(self, identifier: str, version: str, subnet_group: Any, security_group_id: pulumi.Input[str],
                      params: Any, kms_key_arn: pulumi.Input[str], tags: dict[str, str]) -> dict[str, Any]:
        """The ClusterArgs the primary and the standby's secondary share (placed by the arguments)."""
        cfg = self.config
        prod = cfg.is_production
        return dict(
            cluster_identifier=identifier,
            engine="docdb",
            engine_version=DOCDB_VERSIONS[version],
            port=PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group_id],
            db_cluster_parameter_group_name=params.name,
            storage_encrypted=True,
            kms_key_id=kms_key_arn,
            backup_retention_period=backup_retention_days(cfg),
            preferred_backup_window=backup_window(cfg),
            preferred_maintenance_window=aws_maintenance_window(cfg),
            deletion_protection=prod,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{identifier}-final",
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            # data.mongodb.version is config: a major bump must be allowed to apply
            allow_major_version_upgrade=True,
            apply_immediately=not prod,
            tags=tags,
        )

    def _parameter_group(self, identifier: str, version: str, key: str = "params", **opts: Any) -> Any:
        return parameter_group(
            self, aws.docdb, "ClusterParameterGroup", f"{identifier}-docdb{version.replace('.', '-')}",
            f"docdb{version}", "TLS required, audit logs, profiler", PARAMETERS, pending_reboot=["tls"], key=key, **opts,
        )

    def _instances(self, key: str, cluster_identifier: str, cluster: aws.docdb.Cluster, count: int,
                   kms_key_arn: pulumi.Input[str], opts: dict[str, Any]) -> list[aws.docdb.ClusterInstance]:
        """`count` instances of `cluster` (the first is the writer; failover promotes by `promotion_tier`)."""
        cfg = self.config
        prod = cfg.is_production
        return [
            aws.docdb.ClusterInstance(
                self.child_name(key, str(i)),
                aws.docdb.ClusterInstanceArgs(
                    identifier=f"{cluster_identifier}-{i}",
                    cluster_identifier=cluster.id,
                    instance_class=tier_of(cfg, "mongodb"),
                    auto_minor_version_upgrade=True,
                    enable_performance_insights=prod,
                    performance_insights_kms_key_id=kms_key_arn if prod else None,
                    preferred_maintenance_window=aws_maintenance_window(cfg),
                    promotion_tier=i,
                    ca_cert_identifier="rds-ca-rsa2048-g1",
                    tags=self.labels,
                ),
                opts=self.child_opts(stateful=True, **opts),
            )
            for i in range(count)
        ]

    def _standby(self, standby: AwsStandbyPlacement, version: str,
                 primary_instances: list[aws.docdb.ClusterInstance]) -> None:
        """The global cluster from the primary and its secondary cluster in regions.secondary."""
        cfg = self.config
        prod = cfg.is_production
        self.global_cluster_identifier = f"{self.cluster_identifier}-global"
        self.global_cluster = aws.docdb.GlobalCluster(
            self.child_name("global"),
            aws.docdb.GlobalClusterArgs(
                global_cluster_identifier=self.global_cluster_identifier,
                source_db_cluster_identifier=self.cluster.arn,
                deletion_protection=prod,
            ),
            # AWS has no read-back of the source: after a failover the stored one is simply history
            opts=self.child_opts(stateful=True, ignore_changes=["sourceDbClusterIdentifier"]),
        )
        identifier = f"{self.cluster_identifier}-standby"
        self.standby_cluster_identifier = identifier
        there = standby.opts()
        subnet_group, log_groups = standby_groups(self, aws.docdb, identifier, standby, f"/aws/docdb/{identifier}", LOG_EXPORTS)
        params = self._parameter_group(identifier, version, key="standby-params", **there)
        self.standby_cluster = aws.docdb.Cluster(
            self.child_name("standby"),
            aws.docdb.ClusterArgs(
                global_cluster_identifier=self.global_cluster.id,  # no master user: the global cluster's
                **self._cluster_args(identifier, version, subnet_group, standby.security_group_id, params,
                                     standby.kms_key_arn, {**self.labels, "role": "standby"}),
            ),
            opts=self.child_opts(
                stateful=True, depends_on=[*log_groups, *primary_instances],
                ignore_changes=["globalClusterIdentifier"], **there,
            ),
        )
        count = cfg.data.mongodb.replicas if standby.mode == "warm" else 1
        self._instances("standby-instance", identifier, self.standby_cluster, count, standby.kms_key_arn, there)

    # --- what the ECS platform hands on (it iterates the registry, never names a data service) --

    def credentials(self) -> dict[str, pulumi.Output[str]]:
        return {"MONGODB_PASSWORD": self.password.result}

    def monitoring_args(self) -> dict[str, Any]:
        return {"docdb_cluster_id": self.cluster_identifier}

    def dr_args(self) -> dict[str, Any]:
        return {"docdb_cluster_arn": self.cluster.arn, "docdb_cluster_identifier": self.cluster_identifier,
                "docdb_global_cluster_identifier": self.global_cluster_identifier,
                "docdb_standby_cluster_identifier": self.standby_cluster_identifier}
