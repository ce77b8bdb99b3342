"""PostgreSQL on Amazon RDS (`ecs`).

Creates:
- a DB subnet group over the isolated subnets (no route out of the VPC) and no public access;
- a parameter group (`postgres<major>`) with `rds.force_ssl=1`: unencrypted connections are refused;
  query logging: every DDL statement (`log_statement=ddl`, an audit trail of schema changes),
  statements slower than 2 s and connections;
- the instance: Multi-AZ when `data.postgres.ha` (prod), gp3 storage encrypted with the `data` KMS key,
  storage autoscaling up to 4x the configured size (`max_allocated_storage`), automated backups kept
  for the daily tier (30 days, max 35) which is also the point-in-time-recovery window (WAL),
  backups kept after deletion, deletion protection and a final snapshot in prod, Performance Insights
  (KMS), IAM database authentication, enhanced monitoring every 60 s (OS metrics: the
  `<prefix>-rds-monitoring` role RDS assumes to publish them, attached before the instance is
  created because RDS checks it), maintenance window from `dr.maintenanceWindow`, backup window the
  hour before it ends, major version upgrades allowed (the version comes from config);
- the log groups of the PostgreSQL and upgrade log exports (`/aws/rds/instance/<id>/<log>`), with
  retention and the `logs` key, before the instance (otherwise RDS creates them, kept forever);
- a random master password (no special characters, so the URL needs no escaping).

The identifier (`<prefix>-postgres`) never depends on config values, so a size or version change
updates the instance in place instead of replacing it. Returns a `DataConnection` whose URL
(`postgresql://...?sslmode=require`) is a secret Output.

With a standby (`AwsDataArgs.standby`, aws.standby.mode warm or pilotLight) it also creates, with the
secondary provider, a cross-region read replica `<prefix>-postgres-standby` (cross-region RPO:
the replica lag, seconds): `replicate_source_db` is the primary's ARN (a cross-region source must be
an ARN), its own subnet group over the standby VPC's isolated subnets (a cross-region replica would
otherwise land in the region's `default` group), its own parameter group and log groups (they serve
one region; the primary's `rds.force_ssl` would otherwise be lost), `kms_key_id` = the secondary `data`
key (mandatory for an encrypted cross-region replica: a key serves its own region only). Not set, because
a replica refuses or inherits them: `db_name`, `username`, `password`, `engine`, `engine_version`,
`backup_retention_period` (RDS creates replicas with backups off; `promote-read-replica
--backup-retention-period` turns them on, docs/deploy-aws.md), a final snapshot (RDS refuses
`FinalDBSnapshotIdentifier` when deleting a replica: `skip_final_snapshot`). Deletion protection and
`protect` in prod; `replicateSourceDb` is in `ignore_changes`, so after a promotion `pulumi up` does not
try to re-attach the promoted instance (which AWS refuses). Warm: Multi-AZ like the primary;
pilot light: one zone (the runbook turns Multi-AZ on after promotion). The primary's inputs do not
change with the standby. `standby_connection` is the replica's URL (same user and password: a replica
has the primary's).
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data.aws import AwsDataArgs, AwsStandbyPlacement, aws_maintenance_window, backup_retention_days, backup_window, tier_of
from components.data.aws import generated_credential, isolated_subnet_group, parameter_group, service_log_groups
from components.data.aws import standby_groups
from components.data.connection import DataConnection

PORT = 5432
DB_NAME = "ai_assistant"
USERNAME = "aiassistant"
LOG_EXPORTS = ("postgresql", "upgrade")
MONITORING_INTERVAL_SECONDS = 60
ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


PARAMETERS = {"rds.force_ssl": "1", "log_statement": "ddl", "log_min_duration_statement": "2000", "log_connections": "1"}


class RdsPostgres(PlatformComponent):
    """RDS PostgreSQL. Exposes `connection`, `password` (secret), `instance`, `identifier`,
    `instance_class`, `allocated_storage_gi`; with a standby `replica`, `standby_identifier` and
    `standby_connection` (else None)."""

    TYPE = "aiplatform:data:RdsPostgres"

    def __init__(self, name: str, args: AwsDataArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        pg = cfg.data.postgres
        prod = cfg.is_production
        major = str(pg.version).split(".")[0]
        self.identifier = f"{self.context.prefix}-postgres"
        self.instance_class = tier_of(cfg, "postgres")
        self.allocated_storage_gi = pg.storage_gi

        subnet_group = isolated_subnet_group(self, aws.rds, self.identifier, args.subnet_ids)
        params = self._parameter_group(self.identifier, major)
        self.password = generated_credential(self)
        retention = backup_retention_days(cfg)
        log_groups = service_log_groups(self, f"/aws/rds/instance/{self.identifier}", LOG_EXPORTS, args.log_kms_key_arn)
        monitoring_role, monitoring_policy = self._monitoring_role()
        self.instance = aws.rds.Instance(
            self.child_name("instance"),
            aws.rds.InstanceArgs(
                identifier=self.identifier,
                engine="postgres",
                engine_version=major,
                instance_class=self.instance_class,
                db_name=DB_NAME,
                username=USERNAME,
                password=pulumi.Output.secret(self.password.result),
                port=PORT,
                multi_az=pg.ha,
                storage_type="gp3",
                allocated_storage=pg.storage_gi,
                max_allocated_storage=min(pg.storage_gi * 4, 65536),
                storage_encrypted=True,
                kms_key_id=args.kms_key_arn,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[args.security_group_id],
                publicly_accessible=False,
                parameter_group_name=params.name,
                backup_retention_period=retention,
                backup_window=backup_window(cfg),
                maintenance_window=aws_maintenance_window(cfg),
                delete_automated_backups=False,
                copy_tags_to_snapshot=True,
                deletion_protection=prod,
                skip_final_snapshot=False,
                final_snapshot_identifier=f"{self.identifier}-final",
                performance_insights_enabled=True,
                performance_insights_kms_key_id=args.kms_key_arn,
                performance_insights_retention_period=7,
                iam_database_authentication_enabled=True,
                enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
                monitoring_interval=MONITORING_INTERVAL_SECONDS,
                monitoring_role_arn=monitoring_role.arn,
                auto_minor_version_upgrade=True,
                # data.postgres.version is config: a major bump must be allowed to apply (docs/deploy-aws.md)
                allow_major_version_upgrade=True,
                ca_cert_identifier="rds-ca-rsa2048-g1",
                apply_immediately=not prod,
                tags=self.labels,
            ),
            opts=self.child_opts(stateful=True, depends_on=[*log_groups, monitoring_policy]),
        )
        self.connection = self._connection(self.instance.address)
        self.replica = None
        self.standby_identifier: Optional[str] = None
        self.standby_connection: Optional[DataConnection] = None
        if args.standby is not None:
            self.replica = self._standby_replica(args.standby, major, monitoring_role, monitoring_policy)
            self.standby_connection = self._connection(self.replica.address)
        self.register_outputs({"identifier": self.identifier, "host": self.instance.address,
                               "standbyIdentifier": self.standby_identifier})

    def _connection(self, host: pulumi.Output[str]) -> DataConnection:
        url = pulumi.Output.all(host, self.password.result).apply(
            lambda a: f"postgresql://{USERNAME}:{a[1]}@{a[0]}:{PORT}/{DB_NAME}?sslmode=require"
        )
        return DataConnection(service="postgres", host=host, port=PORT, url=pulumi.Output.secret(url), tls=True)

    def _parameter_group(self, identifier: str, major: str, key: str = "params", **opts: Any) -> Any:
        return parameter_group(
            self, aws.rds, "ParameterGroup", f"{identifier}-pg{major}", f"postgres{major}",
            "TLS only; slow statement logging", PARAMETERS, pending_reboot=["rds.force_ssl"], key=key, **opts,
        )

    def _standby_replica(
        self, standby: AwsStandbyPlacement, major: str, monitoring_role: aws.iam.Role,
        monitoring_policy: aws.iam.RolePolicyAttachment,
    ) -> aws.rds.Instance:
        """The cross-region read replica in regions.secondary (module docstring: what it sets and why)."""
        cfg = self.config
        pg = cfg.data.postgres
        prod = cfg.is_production
        identifier = f"{self.identifier}-standby"
        self.standby_identifier = identifier
        there = standby.opts()
        subnet_group, log_groups = standby_groups(
            self, aws.rds, identifier, standby, f"/aws/rds/instance/{identifier}", LOG_EXPORTS
        )
        params = self._parameter_group(identifier, major, key="standby-params", **there)
        return aws.rds.Instance(
            self.child_name("standby"),
            aws.rds.InstanceArgs(
                identifier=identifier,
                replicate_source_db=self.instance.arn,
                instance_class=self.instance_class,
                multi_az=pg.ha and standby.mode == "warm",
                storage_type="gp3",
                allocated_storage=pg.storage_gi,
                max_allocated_storage=min(pg.storage_gi * 4, 65536),
                storage_encrypted=True,  # the provider ignores it on a cross-region replica: kms_key_id decides
                kms_key_id=standby.kms_key_arn,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[standby.security_group_id],
                publicly_accessible=False,
                parameter_group_name=params.name,
                maintenance_window=aws_maintenance_window(cfg),
                delete_automated_backups=False,
                copy_tags_to_snapshot=True,
                deletion_protection=prod,
                skip_final_snapshot=True,  # RDS refuses a final snapshot of a replica
                performance_insights_enabled=True,
                performance_insights_kms_key_id=standby.kms_key_arn,
                performance_insights_retention_period=7,
                iam_database_authentication_enabled=True,
                enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
                monitoring_interval=MONITORING_INTERVAL_SECONDS,
                monitoring_role_arn=monitoring_role.arn,  # IAM is global: the primary's role serves
                auto_minor_version_upgrade=True,
                allow_major_version_upgrade=True,  # it follows its source's major version (and parameter family)
                ca_cert_identifier="rds-ca-rsa2048-g1",
                apply_immediately=not prod,
                tags={**self.labels, "role": "standby"},
            ),
            opts=self.child_opts(
                stateful=True, depends_on=[*log_groups, monitoring_policy], ignore_changes=["replicateSourceDb"], **there
            ),
        )

    # --- what the ECS platform hands on (it iterates the registry, never names a data service) --

    def credentials(self) -> dict[str, pulumi.Output[str]]:
        """Generated secrets for Secrets Manager, by secret name."""
        return {"POSTGRES_PASSWORD": self.password.result}

    def monitoring_args(self) -> dict[str, Any]:
        """AwsMonitoringArgs for this instance's alarms."""
        return {
            "postgres": {
                "identifier": self.identifier,
                "instance_class": self.instance_class,
                "allocated_storage_gi": self.allocated_storage_gi,
            }
        }

    def dr_args(self) -> dict[str, Any]:
        """AwsDisasterRecoveryArgs: the instance AWS Backup protects, and its standby replica (runbook)."""
        return {"rds_instance_arn": self.instance.arn, "rds_identifier": self.identifier,
                "rds_standby_identifier": self.standby_identifier}

    def _monitoring_role(self) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """The role RDS enhanced monitoring assumes to publish OS metrics to CloudWatch Logs."""
        role = aws.iam.Role(
            self.child_name("monitoring-role"),
            aws.iam.RoleArgs(
                name=f"{self.identifier}-monitoring"[:64],
                assume_role_policy=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
                tags=self.labels,
            ),
            opts=self.child_opts(),
        )
        attachment = aws.iam.RolePolicyAttachment(
            self.child_name("monitoring-policy"),
            aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=ENHANCED_MONITORING_POLICY),
            opts=self.child_opts(),
        )
        return role, attachment
