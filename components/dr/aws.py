"""AWS disaster recovery (`ecs`): AWS Backup tiers with a cross-region copy, replicated RDS backups,
a replicated backup bucket, Route 53 failover and the failover runbook.

Targets (seeds 000/001/002): RPO 1 h, RTO 4 h. What gives them:

- PostgreSQL point-in-time recovery inside the daily window (RDS automated backups + WAL, 5-minute
  granularity) in the primary region, and the same automated backups replicated to
  `regions.secondary` (`InstanceAutomatedBackupsReplication`, encrypted with the secondary backup
  key): a point-in-time restore in the secondary region loses minutes, well inside the 1 h RPO;
- AWS Backup: a vault (KMS `backup` key; vault lock in prod: recovery points cannot be deleted
  early or kept beyond the limits, `aws.backupVaultLockMode` governance or compliance with a 3-day
  grace period) and a plan for RDS and DocumentDB with the seed 002 tiers from `dr.retention`:
  daily (kept 30 days, at `dr.backupSchedule`, except on days that run would hit
  `dr.maintenanceWindow`), weekly (the maintenance day, an hour after the window ends: Sunday
  05:00, 12 weeks), monthly (1st, 12 months) and yearly (1 January, 7 years) at that same clear
  hour, so no job starts inside the window (AWS Backup fails or skips them); every recovery point is copied to a vault in the secondary
  region with the same retention. Jobs of several tiers that fall on the same day produce one
  recovery point kept for the longest of their retentions;
- an alarm when no backup job completed for `monitoring.thresholds.backupMaxAgeHours` (26 h) and
  when a job fails;
- an S3 backup bucket for exports and artifacts (pg_dump/mongodump files, config archives):
  versioning, public access blocked, TLS only, KMS (bucket key), lifecycle (Standard-IA after 30
  days, Glacier Flexible Retrieval after 90, old versions kept 30 days, objects expire after the
  yearly tier), replicated to a bucket in the secondary region (same protections, secondary key);
  each with S3 server access logging into an `access-logs` bucket of its own region (SSE-S3, the
  only encryption S3 log delivery supports; kept 1 year in prod, 90 days otherwise);
- Route 53 failover for the origin (`origin.<domain>`, the name CloudFront connects to) when
  `aws.hostedZoneId` is set and a standby runs (`aws.standby.mode` warm or pilotLight, in
  `regions.secondary`: components/platforms/ecs_standby.py): the PRIMARY record points at the
  primary ALB, the SECONDARY record at the standby ALB. Each is healthy while a CALCULATED check is,
  which is healthy only while every child is: one HTTPS check per routed service directly on that
  ALB (its DNS name as host, the service's readiness path, which a listener rule without the origin
  secret forwards to the service's target group: components/edge/alb.py), every
  `dr.healthCheckIntervalSeconds` (Route 53 offers 10 or 30 s; others are refused by the ecs
  problems), unhealthy after `dr.failureThreshold` failures in a row (seed 000: 30 s x 3). The
  health checkers reach the ALBs through their own security group (Route 53's managed prefix list,
  components/network/aws.py). So the origin fails over about `interval x threshold` after the
  primary stops answering, plus the record's 60 s TTL. Without a standby the record is a plain
  CNAME to the ALB; without a hosted zone nothing is created and the outputs say so.

ElastiCache (cache, sessions: rebuilt), and Amazon MQ (transient messages) are not in AWS Backup;
ElastiCache keeps its own daily snapshots.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.dr.aws_common import service_role, topic_alarm
from components import schedule_windows as sw
from components.config import StackConfig, StackContext
from components.dr.aws_runbook import DataNames, failback_steps, restore_runbook, standby_runbook
from components.naming import bounded
from components.platforms.aws_settings import standby_mode
from components.storage.s3 import access_logs_bucket, expire_objects, log_access, private_bucket, tls_only_statement

BACKUP_ROLE_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
)
VAULT_LOCK_GRACE_DAYS = 3
MIN_RETENTION_DAYS = 7


def origin_hostname(config: StackConfig) -> Optional[str]:
    """The origin name CloudFront uses when Route 53 manages it (failover-capable), else None."""
    return f"origin.{config.domain}" if config.aws.hosted_zone_id else None


def retention_tiers(config: StackConfig) -> list[tuple[str, str, int]]:
    """(tier, AWS Backup schedule, delete-after days) for the configured tiers (0 disables a tier)."""
    r = config.dr.retention
    minute, hour, dom, month, dow = config.dr.backup_schedule.split()
    # Nothing starts inside the maintenance window (issue 11): the daily skips the days it would
    # hit it (the weekly covers them), the longer tiers start an hour after the window ends.
    window = sw.weekly_window("dr.maintenanceWindow", config.dr.maintenance_window)
    clear_day, clear_hour, clear_minute = sw.clear_after(window)
    if dow == "*" and dom == "*":
        names = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
        days = [
            names[d]
            for d in range(7)
            if not sw.conflicts(sw.cron_schedule("daily", f"{minute} {hour} * * {names[d]}", 120), [window])
        ]
        dow = "?" if len(days) == 7 else ",".join(days)
        dom = "*" if len(days) == 7 else "?"
    elif dow == "*":
        dow = "?"
    elif dom == "*":
        dom = "?"
    tiers = [("daily", f"cron({minute} {hour} {dom} {month} {dow} *)", r.daily_days)]
    m, h = clear_minute, clear_hour
    if r.weekly_weeks:
        weekday = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[clear_day]
        tiers.append(("weekly", f"cron({m} {h} ? * {weekday} *)", r.weekly_weeks * 7))
    if r.monthly_months:
        tiers.append(("monthly", f"cron({m} {h} 1 * ? *)", round(r.monthly_months * 365 / 12)))
    if r.yearly_years:
        tiers.append(("yearly", f"cron({m} {h} 1 1 ? *)", r.yearly_years * 366))
    return tiers


@dataclass(frozen=True)
class AwsDisasterRecoveryArgs:
    context: StackContext
    account_id: pulumi.Input[str]
    backup_kms_key_arn: pulumi.Input[str]
    alert_topic_arn: pulumi.Input[str]
    secondary_provider: Optional[pulumi.ProviderResource] = None
    secondary_backup_kms_key_arn: Optional[pulumi.Input[str]] = None
    rds_instance_arn: Optional[pulumi.Input[str]] = None
    rds_identifier: Optional[str] = None
    docdb_cluster_arn: Optional[pulumi.Input[str]] = None
    docdb_cluster_identifier: Optional[str] = None
    # the data services' standby copies in regions.secondary (None: no standby), for the runbook
    rds_standby_identifier: Optional[str] = None
    docdb_global_cluster_identifier: Optional[str] = None
    docdb_standby_cluster_identifier: Optional[str] = None
    redis_replication_group_id: Optional[str] = None
    redis_standby_replication_group_id: Optional[str] = None
    mq_broker_name: Optional[str] = None
    mq_standby_broker_name: Optional[str] = None
    alb_dns_name: Optional[pulumi.Input[str]] = None
    standby_alb_dns_name: Optional[pulumi.Input[str]] = None  # the standby's ALB (failover target)
    # routed service -> the path its origin health check requests (components/edge/alb.py)
    health_check_paths: Mapping[str, str] = field(default_factory=dict)
    alb_arn_suffix: Optional[pulumi.Input[str]] = None
    target_group_arn_suffixes: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    cluster_name: Optional[str] = None


class AwsDisasterRecovery(PlatformComponent):
    """Backup vaults and plan, replicated RDS backups, backup buckets, failover records.
    Exposes `runbook` (text), `failover_status` (text), `vault_name`, `backup_bucket`,
    `origin_health_checks` (record role -> the CALCULATED health check that decides it)."""

    TYPE = "aiplatform:dr:AwsDisasterRecovery"

    def __init__(self, name: str, args: AwsDisasterRecoveryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        cfg = self.config
        self.args = args
        secondary = cfg.regions.secondary if args.secondary_provider is not None else None
        self.secondary_region = secondary
        on_secondary = {"provider": args.secondary_provider} if secondary else {}

        self.vault_name = f"{self.context.prefix}-vault"
        vault = self._vault("vault", self.vault_name, args.backup_kms_key_arn, {})
        secondary_vault = None
        if secondary and args.secondary_backup_kms_key_arn is not None:
            secondary_vault = self._vault(
                "vault-secondary", f"{self.context.prefix}-vault-{secondary}", args.secondary_backup_kms_key_arn,
                on_secondary,
            )
        self._plan(vault, secondary_vault)
        self._backup_alarms()

        self.rds_replication = None
        if secondary and args.rds_instance_arn is not None and args.secondary_backup_kms_key_arn is not None:
            self.rds_replication = aws.rds.InstanceAutomatedBackupsReplication(
                self.child_name("postgres-backups", secondary),
                aws.rds.InstanceAutomatedBackupsReplicationArgs(
                    source_db_instance_arn=args.rds_instance_arn,
                    kms_key_id=args.secondary_backup_kms_key_arn,
                    retention_period=min(cfg.dr.retention.daily_days, 35),
                ),
                opts=self.child_opts(stateful=True, **on_secondary),
            )
        self._buckets(secondary, on_secondary)
        self.failover_status = self._failover_records(secondary)
        self.runbook = self._runbook(secondary)
        self.register_outputs({"vault": self.vault_name, "failover": self.failover_status})

    # --- helpers ------------------------------------------------------------------------------------

    def _service_role(self, key: str, name: str, description: str, service: str) -> aws.iam.Role:
        return service_role(self, self.args.account_id, key, name, description, service)

    def _alarm(self, key: str, description: str, *, notify_ok: bool = True, **metric: Any) -> aws.cloudwatch.MetricAlarm:
        return topic_alarm(self, self.args.alert_topic_arn, key, description, notify_ok=notify_ok, **metric)

    # --- AWS Backup -------------------------------------------------------------------------------

    def _vault(self, key: str, vault_name: str, kms_key_arn, extra: dict) -> aws.backup.Vault:
        cfg = self.config
        vault = aws.backup.Vault(
            self.child_name(key),
            aws.backup.VaultArgs(name=vault_name, kms_key_arn=kms_key_arn, force_destroy=False, tags=self.labels),
            opts=self.child_opts(stateful=True, **extra),
        )
        if cfg.is_production:
            longest = max(days for _, _, days in retention_tiers(cfg))
            aws.backup.VaultLockConfiguration(
                self.child_name(key, "lock"),
                aws.backup.VaultLockConfigurationArgs(
                    backup_vault_name=vault.name,
                    min_retention_days=MIN_RETENTION_DAYS,
                    max_retention_days=longest,
                    changeable_for_days=VAULT_LOCK_GRACE_DAYS if cfg.aws.backup_vault_lock_mode == "compliance" else None,
                ),
                opts=self.child_opts(stateful=True, **extra),
            )
        return vault

    def _plan(self, vault: aws.backup.Vault, secondary_vault: Optional[aws.backup.Vault]) -> None:
        args = self.args
        rules = []
        for tier, schedule, days in retention_tiers(self.config):
            lifecycle = aws.backup.PlanRuleLifecycleArgs(delete_after=days)
            copies = None
            if secondary_vault is not None:
                copies = [aws.backup.PlanRuleCopyActionArgs(destination_vault_arn=secondary_vault.arn, lifecycle=lifecycle)]
            rules.append(
                aws.backup.PlanRuleArgs(
                    rule_name=tier,
                    target_vault_name=vault.name,
                    schedule=schedule,
                    start_window=60,
                    completion_window=360,
                    lifecycle=lifecycle,
                    copy_actions=copies,
                    recovery_point_tags={**self.labels, "tier": tier},
                )
            )
        plan = aws.backup.Plan(
            self.child_name("plan"),
            aws.backup.PlanArgs(name=f"{self.context.prefix}-plan", rules=rules, tags=self.labels),
            opts=self.child_opts(),
        )
        resources = [r for r in (args.rds_instance_arn, args.docdb_cluster_arn) if r is not None]
        if not resources:
            return
        role = self._service_role(
            "backup-role", "backup", "AWS Backup: back up and restore RDS and DocumentDB", "backup.amazonaws.com"
        )
        for i, policy_arn in enumerate(BACKUP_ROLE_POLICIES):
            aws.iam.RolePolicyAttachment(
                self.child_name("backup-role", str(i)),
                aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=policy_arn),
                opts=self.child_opts(),
            )
        aws.backup.Selection(
            self.child_name("selection"),
            aws.backup.SelectionArgs(
                name=f"{self.context.prefix}-databases",
                plan_id=plan.id,
                iam_role_arn=role.arn,
                resources=resources,
            ),
            opts=self.child_opts(),
        )

    def _backup_alarms(self) -> None:
        t = self.config.monitoring.thresholds
        backup_metric = {"namespace": "AWS/Backup", "dimensions": {"BackupVaultName": self.vault_name},
                         "statistic": "Sum", "period": 3600}
        self._alarm(
            "backup-age",
            f"no backup job completed in {t.backup_max_age_hours} h",
            metric_name="NumberOfBackupJobsCompleted",
            evaluation_periods=t.backup_max_age_hours,
            datapoints_to_alarm=t.backup_max_age_hours,
            comparison_operator="LessThanThreshold",
            threshold=1,
            treat_missing_data="breaching",
            **backup_metric,
        )
        self._alarm(
            "backup-failed",
            "a backup or copy job failed",
            notify_ok=False,
            metric_name="NumberOfBackupJobsFailed",
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            **backup_metric,
        )

    # --- S3 backup bucket ------------------------------------------------------------------------

    def _bucket(self, key: str, region: str, kms_key_arn, extra: dict):
        bucket, versioning, _ = private_bucket(
            self,
            key,
            "backups",
            self.args.account_id,
            region,
            object_ownership="BucketOwnerEnforced",
            encryption=aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
                ),
                bucket_key_enabled=True,
            ),
            **extra,
        )
        aws.s3.BucketPolicy(
            self.child_name(key, "policy"),
            aws.s3.BucketPolicyArgs(
                bucket=bucket.id,
                policy=bucket.arn.apply(
                    lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [tls_only_statement(arn)]})
                ),
            ),
            opts=self.child_opts(**extra),
        )
        r = self.config.dr.retention
        keep_days = max(r.daily_days, r.weekly_weeks * 7, round(r.monthly_months * 365 / 12), r.yearly_years * 366)
        expire_objects(
            self,
            key,
            bucket,
            versioning,
            "tiering-and-expiry",
            keep_days,
            [
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=30, storage_class="STANDARD_IA"),
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=90, storage_class="GLACIER"),
            ],
            **extra,
        )
        # who read or changed a backup: S3 server access logs, in a bucket of the same region
        access_logs, access_logs_policy = access_logs_bucket(
            self, f"{key}-access-logs", self.args.account_id, region, 365 if self.config.is_production else 90, **extra
        )
        log_access(self, key, bucket, access_logs, access_logs_policy, **extra)
        return bucket, versioning

    def _buckets(self, secondary: Optional[str], on_secondary: dict) -> None:
        cfg = self.config
        args = self.args
        self.backup_bucket, versioning = self._bucket("backups", cfg.regions.primary, args.backup_kms_key_arn, {})
        self.replica_bucket = None
        if not secondary or args.secondary_backup_kms_key_arn is None:
            return
        self.replica_bucket, replica_versioning = self._bucket(
            "backups-replica", secondary, args.secondary_backup_kms_key_arn, on_secondary
        )
        role = self._service_role(
            "replication-role",
            "backup-replication",
            "S3 replication of the backup bucket to the secondary region",
            "s3.amazonaws.com",
        )
        aws.iam.RolePolicy(
            self.child_name("replication-policy"),
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(
                    self.backup_bucket.arn, self.replica_bucket.arn, args.backup_kms_key_arn,
                    args.secondary_backup_kms_key_arn,
                ).apply(
                    lambda a: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                                 "Resource": a[0]},
                                {"Effect": "Allow",
                                 "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                            "s3:GetObjectVersionTagging"],
                                 "Resource": f"{a[0]}/*"},
                                {"Effect": "Allow",
                                 "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                                 "Resource": f"{a[1]}/*"},
                                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": a[2]},
                                {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": a[3]},
                            ],
                        }
                    )
                ),
            ),
            opts=self.child_opts(),
        )
        aws.s3.BucketReplicationConfig(
            self.child_name("backups-replication"),
            aws.s3.BucketReplicationConfigArgs(
                bucket=self.backup_bucket.id,
                role=role.arn,
                rules=[
                    aws.s3.BucketReplicationConfigRuleArgs(
                        id="to-secondary",
                        status="Enabled",
                        filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                        delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                            status="Disabled"
                        ),
                        source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                            sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                                status="Enabled"
                            )
                        ),
                        destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                            bucket=self.replica_bucket.arn,
                            storage_class="STANDARD_IA",
                            encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                                replica_kms_key_id=args.secondary_backup_kms_key_arn
                            ),
                        ),
                    )
                ],
            ),
            # S3 rejects a replication configuration until both buckets are versioned
            opts=self.child_opts(depends_on=[versioning, replica_versioning]),
        )

    # --- failover -----------------------------------------------------------------------------------

    def _origin_record(self, key: str, target: pulumi.Input[str], role: Optional[str] = None,
                       health_check_id: Optional[pulumi.Input[str]] = None) -> aws.route53.Record:
        """`origin.<domain>` CNAME to `target`; with `role` ("primary"/"secondary") a failover record."""
        return aws.route53.Record(
            self.child_name(key),
            aws.route53.RecordArgs(
                zone_id=self.config.aws.hosted_zone_id,
                name=origin_hostname(self.config),
                type="CNAME",
                ttl=60,
                records=[target],
                set_identifier=role,
                failover_routing_policies=(
                    [aws.route53.RecordFailoverRoutingPolicyArgs(type=role.upper())] if role else None
                ),
                health_check_id=health_check_id,
            ),
            opts=self.child_opts(),
        )

    def _health_check(self, key: str, reference: str, **check: Any) -> aws.route53.HealthCheck:
        """A Route 53 health check named `<prefix>-<reference>`."""
        name = f"{self.context.prefix}-{reference}"
        return aws.route53.HealthCheck(
            self.child_name(key),
            aws.route53.HealthCheckArgs(reference_name=bounded(name, 27), tags={**self.labels, "Name": name}, **check),
            opts=self.child_opts(),
        )

    def _failover_records(self, secondary: Optional[str]) -> str:
        cfg = self.config
        args = self.args
        zone_id = cfg.aws.hosted_zone_id
        origin = origin_hostname(cfg)
        self.origin_health_checks: dict[str, pulumi.Output[str]] = {}
        if not zone_id or origin is None or args.alb_dns_name is None:
            return (
                "skipped: no aws.hostedZoneId, so no Route 53 records were created; CloudFront uses the "
                "ALB's DNS name as origin and failover is manual (docs/deploy-aws.md)"
            )
        if not secondary or args.standby_alb_dns_name is None:
            self._origin_record("origin", args.alb_dns_name)
            return f"no standby (aws.standby.mode off or no regions.secondary): {origin} is a plain record to the ALB"
        primary_check = self._origin_checks("origin", args.alb_dns_name, cfg.regions.primary)
        standby_check = self._origin_checks("standby", args.standby_alb_dns_name, secondary)
        self.origin_health_checks = {"primary": primary_check.id, "secondary": standby_check.id}
        self._origin_record("origin-primary", args.alb_dns_name, "primary", primary_check.id)
        self._origin_record("origin-secondary", args.standby_alb_dns_name, "secondary", standby_check.id)
        dr = cfg.dr
        return (
            f"{origin}: PRIMARY -> the ALB in {cfg.regions.primary}, SECONDARY -> the standby ALB in {secondary}; "
            f"HTTPS health checks on each ALB every {dr.health_check_interval_seconds} s, unhealthy after "
            f"{dr.failure_threshold} failures"
        )

    def _origin_checks(self, key: str, alb_dns_name: pulumi.Input[str], region: str) -> aws.route53.HealthCheck:
        """One HTTPS check per routed service directly on the ALB `alb_dns_name` (in `region`), combined
        by a CALCULATED check that is healthy only while every one is."""
        dr = self.config.dr
        children = [
            self._health_check(
                f"{key}-{svc}-https",
                f"{key}-{svc}",
                type="HTTPS",
                fqdn=alb_dns_name,
                port=443,
                resource_path=path,
                enable_sni=True,  # the ALB answers TLS with its certificate; Route 53 does not validate it
                request_interval=dr.health_check_interval_seconds,
                failure_threshold=dr.failure_threshold,
            )
            for svc, path in sorted(self.args.health_check_paths.items())
        ]
        if not children:
            raise ValueError(f"the origin health checks in {region} need the routed services' health-check paths")
        return self._health_check(
            f"{key}-health",
            key,
            type="CALCULATED",
            child_healthchecks=[c.id for c in children],
            child_health_threshold=len(children),
        )

    def _runbook(self, secondary: Optional[str]) -> str:
        cfg = self.config
        args = self.args
        prefix = self.context.prefix
        primary = cfg.regions.primary
        rpo, rto = cfg.dr.rpo_minutes, cfg.dr.rto_minutes
        if not secondary:
            return (
                f"No secondary region configured: restores happen in {primary} only. RPO {rpo} min, RTO {rto} min.\n"
                f"PostgreSQL PITR: aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier "
                f"{args.rds_identifier} --target-db-instance-identifier {args.rds_identifier}-restored "
                f"--restore-time <UTC time> --region {primary}\n"
                f"Other restores: AWS Backup vault {self.vault_name} (docs/deploy-aws.md)."
            )
        names = DataNames(
            prefix=prefix, primary=primary, secondary=secondary, rds=args.rds_identifier,
            rds_standby=args.rds_standby_identifier, docdb=args.docdb_cluster_identifier,
            docdb_global=args.docdb_global_cluster_identifier, docdb_standby=args.docdb_standby_cluster_identifier,
            redis=args.redis_replication_group_id, redis_standby=args.redis_standby_replication_group_id,
            mq=args.mq_broker_name, mq_standby=args.mq_standby_broker_name,
        )
        mode = standby_mode(cfg)
        data = standby_runbook(cfg, names, mode) if names.standby else restore_runbook(cfg, names)
        steps = [
            f"Failover runbook ({primary} -> {secondary}; RPO {rpo} min, RTO {rto} min; details in docs/deploy-aws.md)",
            f"1. Confirm the outage: alarms {prefix}-*-down, the origin health checks (output originHealthChecks: aws route53 get-health-check-status --health-check-id <id>), AWS Health Dashboard for {primary}.",
            *(f"2.{i + 1} {line}" if not line.startswith("  ") else line for i, line in enumerate(data)),
            "3. Traffic and services: docs/deploy-aws.md \"Failover\" and \"Failback\".",
            "4. Verify: Route 53 health checks green, smoke tests on the public hosts, alarms back to OK.",
            *(f"5. {line}" if not line.startswith("  ") else line for line in failback_steps(cfg, names)),
        ]
        return "\n".join(steps)
