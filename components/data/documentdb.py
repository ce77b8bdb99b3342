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
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data.aws import DOCDB_VERSIONS, AwsDataArgs, aws_maintenance_window, backup_retention_days, backup_window, tier_of
from components.data.aws import generated_credential, isolated_subnet_group, parameter_group, service_log_groups
from components.data.connection import DataConnection

PORT = 27017
USERNAME = "aiassistant"
LOG_EXPORTS = ("audit", "profiler")
PROFILER_THRESHOLD_MS = 2000


class DocumentDb(PlatformComponent):
    """DocumentDB cluster. Exposes `connection`, `password` (secret), `cluster`, `cluster_identifier`."""

    TYPE = "aiplatform:data:DocumentDb"

    def __init__(self, name: str, args: AwsDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        mongo = cfg.data.mongodb
        prod = cfg.is_production
        version = str(mongo.version)
        self.cluster_identifier = f"{self.context.prefix}-docdb"

        subnet_group = isolated_subnet_group(self, aws.docdb, self.cluster_identifier, args.subnet_ids)
        params = parameter_group(
            self, aws.docdb, "ClusterParameterGroup", f"{self.cluster_identifier}-docdb{version.replace('.', '-')}",
            f"docdb{version}", "TLS required, audit logs, profiler",
            {"tls": "enabled", "audit_logs": "enabled", "profiler": "enabled",
             "profiler_threshold_ms": str(PROFILER_THRESHOLD_MS)},
            pending_reboot=["tls"],
        )
        log_groups = service_log_groups(
            self, f"/aws/docdb/{self.cluster_identifier}", LOG_EXPORTS, args.log_kms_key_arn
        )
        self.password = generated_credential(self)
        self.cluster = aws.docdb.Cluster(
            self.child_name("cluster"),
            aws.docdb.ClusterArgs(
                cluster_identifier=self.cluster_identifier,
                engine="docdb",
                engine_version=DOCDB_VERSIONS[version],
                master_username=USERNAME,
                master_password=pulumi.Output.secret(self.password.result),
                port=PORT,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[args.security_group_id],
                db_cluster_parameter_group_name=params.name,
                storage_encrypted=True,
                kms_key_id=args.kms_key_arn,
                backup_retention_period=backup_retention_days(cfg),
                preferred_backup_window=backup_window(cfg),
                preferred_maintenance_window=aws_maintenance_window(cfg),
                deletion_protection=prod,
                skip_final_snapshot=False,
                final_snapshot_identifier=f"{self.cluster_identifier}-final",
                enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
                # data.mongodb.version is config: a major bump must be allowed to apply
                allow_major_version_upgrade=True,
                apply_immediately=not prod,
                tags=self.labels,
            ),
            opts=self.child_opts(stateful=True, depends_on=log_groups),
        )
        for i in range(mongo.replicas):
            aws.docdb.ClusterInstance(
                self.child_name("instance", str(i)),
                aws.docdb.ClusterInstanceArgs(
                    identifier=f"{self.cluster_identifier}-{i}",
                    cluster_identifier=self.cluster.id,
                    instance_class=tier_of(cfg, "mongodb"),
                    auto_minor_version_upgrade=True,
                    enable_performance_insights=prod,
                    performance_insights_kms_key_id=args.kms_key_arn if prod else None,
                    preferred_maintenance_window=aws_maintenance_window(cfg),
                    promotion_tier=i,
                    ca_cert_identifier="rds-ca-rsa2048-g1",
                    tags=self.labels,
                ),
                opts=self.child_opts(stateful=True),
            )
        host = self.cluster.endpoint
        url = pulumi.Output.all(host, self.password.result).apply(
            lambda a: (
                f"mongodb://{USERNAME}:{a[1]}@{a[0]}:{PORT}/?tls=true&replicaSet=rs0"
                "&readPreference=secondaryPreferred&retryWrites=false"
            )
        )
        self.connection = DataConnection(service="mongodb", host=host, port=PORT, url=pulumi.Output.secret(url), tls=True)
        self.register_outputs({"clusterIdentifier": self.cluster_identifier, "host": host})

    # --- what the ECS platform hands on (it iterates the registry, never names a data service) --

    def credentials(self) -> dict[str, pulumi.Output[str]]:
        return {"MONGODB_PASSWORD": self.password.result}

    def monitoring_args(self) -> dict[str, Any]:
        return {"docdb_cluster_id": self.cluster_identifier}

    def dr_args(self) -> dict[str, Any]:
        return {"docdb_cluster_arn": self.cluster.arn, "docdb_cluster_identifier": self.cluster_identifier}
